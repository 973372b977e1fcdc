import { route, param, send, recordEvent } from '../../../lib/http.js'
import { requireAdmin } from '../../../lib/auth.js'
import { normalizeUsername } from '../../../lib/schemas.js'
import { endSessions, listSessions } from '../../../lib/sessions.js'
import { requireUserNamed } from '../../../lib/users.js'

// Admin: a user's live sessions, and ending all of them.
export default route(
  {
    GET: async (req, res) => {
      const caller = await requireAdmin(req)
      const user = await requireUserNamed(normalizeUsername(param(req, 'username') ?? ''))
      send(res, 200, { items: await listSessions(user, caller.sid) })
    },
    DELETE: async (req, res) => {
      await requireAdmin(req)
      const user = await requireUserNamed(normalizeUsername(param(req, 'username') ?? ''))
      const ended = await endSessions(user._id)
      recordEvent('sessions.ended', { target: { id: user._id.toHexString(), username: user.username }, detail: { count: ended } })
      send(res, 204)
    },
  },
  { name: '/api/users/[username]/sessions' },
)
