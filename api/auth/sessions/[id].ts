import { route, param, send, recordEvent } from '../../../lib/http.js'
import { requireUser } from '../../../lib/auth.js'
import { endSession } from '../../../lib/sessions.js'
import { notFound } from '../../../lib/problem.js'

// Ends one of the caller's sessions; another user's id is simply not found.
export default route(
  {
    DELETE: async (req, res) => {
      const caller = await requireUser(req)
      const id = param(req, 'id') ?? ''
      if (!(await endSession(caller.user._id.toHexString(), id))) throw notFound('No such session')
      recordEvent('session.ended', { detail: { session_id: id } })
      send(res, 204)
    },
  },
  { name: '/api/auth/sessions/[id]' },
)
