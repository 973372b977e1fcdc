import { route, send } from '../../../lib/http.js'
import { requireUser } from '../../../lib/auth.js'
import { listSessions } from '../../../lib/sessions.js'

// The caller's live sessions, the one making this request marked `current`.
export default route(
  {
    GET: async (req, res) => {
      const caller = await requireUser(req)
      send(res, 200, { items: await listSessions(caller.user, caller.sid) })
    },
  },
  { name: '/api/auth/sessions' },
)
