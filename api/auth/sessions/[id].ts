import { route, param, send, record, requireUser } from '../../../lib/http/index.js'
import { endOwnSession } from '../../../lib/sessions.js'
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
    const ended = await endOwnSession(caller.user._id.toHexString(), id, 'session.ended')
    if (!ended) throw notFound('No such session')
    record(ended)
    send(res, 204)
  },
})
