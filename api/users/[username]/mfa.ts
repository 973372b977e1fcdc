import { route, param, send, recordEvents } from '../../../lib/http.js'
import { requireAdmin } from '../../../lib/auth.js'
import { normalizeUsername } from '../../../lib/schemas.js'
import { resetMfa } from '../../../lib/mfa/enrolment.js'
import { requireUserNamed } from '../../../lib/users.js'

// Admin: removes a user's MFA (a lost authenticator and lost recovery codes) and ends their sessions.
export default route(
  {
    DELETE: async (req, res) => {
      await requireAdmin(req)
      const user = await requireUserNamed(normalizeUsername(param(req, 'username') ?? ''))
      recordEvents(await resetMfa(user))
      send(res, 204)
    },
  },
  { name: '/api/users/[username]/mfa' },
)
