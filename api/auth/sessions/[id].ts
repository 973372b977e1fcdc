import { route, param, send, recordEvent, requireUser } from '../../../lib/http/index.js'
import { endSession } from '../../../lib/sessions.js'
import { notFound } from '../../../lib/problem.js'
import { defineRoute } from '../../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/auth/sessions/{id}',
  methods: {
    DELETE: {
      tag: 'sessions',
      summary: 'End one of your sessions',
      description: 'Its refresh token stops working and its access tokens are refused from the next request on. Ending the current session is a logout. The id of another user\'s session is not found (404).',
      auth: 'bearer',
      ok: { status: 204, description: 'The session has ended' },
      errors: [404],
    },
  },
})

// Ends one of the caller's sessions; another user's id is simply not found.
export default route(spec, {
  DELETE: async (req, res) => {
    const caller = await requireUser(req)
    const id = param(req, 'id') ?? ''
    if (!(await endSession(caller.user._id.toHexString(), id))) throw notFound('No such session')
    recordEvent('session.ended', { detail: { session_id: id } })
    send(res, 204)
  },
})
