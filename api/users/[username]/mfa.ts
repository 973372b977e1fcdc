// DELETE /api/users/{username}/mfa: an admin removes a user's MFA and ends their sessions.
import { route, send, record, requireAdminOnUser } from '../../../lib/http/index.js'
import { resetMfa } from '../../../lib/mfa/enrolment.js'
import { adminOnUser, defineRoute } from '../../../lib/routes.js'

const text = {
  tag: 'mfa',
  summary: "Reset a user's MFA (admin)",
  description: 'For a user who lost their authenticator and their recovery codes: removes TOTP and the recovery codes, and ends every session of the user.',
}

export const spec = defineRoute({
  path: '/api/users/{username}/mfa',
  methods: { DELETE: adminOnUser(text, { status: 204, description: 'MFA is removed; every session of the user has ended' }) },
})

// Admin: removes a user's MFA (a lost authenticator and lost recovery codes) and ends their sessions.
export default route(spec, {
  DELETE: async (req, res) => {
    const { user } = await requireAdminOnUser(req)
    record(await resetMfa(user))
    send(res, 204)
  },
})
