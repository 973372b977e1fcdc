// DELETE /api/users/{username}/mfa: an admin removes a user's MFA and ends their sessions.
import { route, send, record, requireAdminOnUser } from '../../../lib/http/index.js'
import { resetMfa } from '../../../lib/mfa/enrolment.js'
import { defineRoute } from '../../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/users/{username}/mfa',
  methods: {
    DELETE: {
      tag: 'mfa',
      summary: "Reset a user's MFA (admin)",
      description: 'For a user who lost their authenticator and their recovery codes: removes TOTP and the recovery codes, and ends every session of the user.',
      auth: 'bearer',
      ok: { status: 204, description: 'MFA is removed; every session of the user has ended' },
      errors: [403, 404],
    },
  },
})

// Admin: removes a user's MFA (a lost authenticator and lost recovery codes) and ends their sessions.
export default route(spec, {
  DELETE: async (req, res) => {
    const { user } = await requireAdminOnUser(req)
    record(await resetMfa(user))
    send(res, 204)
  },
})
