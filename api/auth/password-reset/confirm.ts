import { route, readInput, send, record } from '../../../lib/http/index.js'
import { PasswordResetConfirm } from '../../../lib/schemas.js'
import { confirmReset } from '../../../lib/reset.js'
import { defineRoute } from '../../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/auth/password-reset/confirm',
  methods: {
    POST: {
      tag: 'password reset',
      summary: 'Set a new password with a reset token',
      description: 'The token works once. An invalid, expired or used token is a 400 naming `token`; a new password the policy refuses keeps the token. Ends every session of the user.',
      auth: 'none',
      body: { json: PasswordResetConfirm },
      ok: { status: 204, description: 'The password is changed' },
    },
  },
})

// Redeems a reset token once: sets the new password and ends every session of the user.
export default route(spec, {
  POST: async (req, res) => {
    const input = await readInput(req, spec.methods.POST)
    record(await confirmReset(input.token, input.new_password))
    send(res, 204)
  },
})
