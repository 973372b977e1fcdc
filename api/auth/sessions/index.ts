import { route, send, requireUser } from '../../../lib/http/index.js'
import { listSessions } from '../../../lib/sessions.js'
import { defineRoute } from '../../../lib/routes.js'
import { SessionList } from '../../../lib/schemas.js'

export const spec = defineRoute({
  path: '/api/auth/sessions',
  methods: {
    GET: {
      tag: 'sessions',
      summary: 'List your live sessions',
      description: 'Each login starts a session; refreshing keeps it. The session of the presented token is marked `current`. Addresses are truncated to their network.',
      auth: 'bearer',
      ok: { status: 200, description: 'Your sessions, newest first', schema: SessionList },
    },
  },
})

// The caller's live sessions, the one making this request marked `current`.
export default route(spec, {
  GET: async (req, res) => {
    const caller = await requireUser(req)
    send(res, 200, { items: await listSessions(caller.user, caller.sid) })
  },
})
