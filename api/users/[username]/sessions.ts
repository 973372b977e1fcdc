import { route, send, record, requireAdminOnUser } from '../../../lib/http/index.js'
import { SessionList } from '../../../lib/schemas.js'
import { endSessionsOf, listSessions } from '../../../lib/sessions.js'
import { adminOnUser, defineRoute } from '../../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/users/{username}/sessions',
  methods: {
    GET: adminOnUser(
      {
        tag: 'sessions',
        summary: "A user's live sessions (admin)",
        description: 'The same view a user gets of their own sessions; `current` marks the admin\'s own session when they look at themself.',
      },
      { status: 200, description: 'The sessions', schema: SessionList },
    ),
    DELETE: adminOnUser(
      {
        tag: 'sessions',
        summary: 'End every session of a user (admin)',
        description: 'Signs the user out everywhere: their refresh tokens stop working and their access tokens are refused from the next request on. The account itself is unchanged.',
      },
      { status: 204, description: 'Every session has ended' },
    ),
  },
})

// Admin: a user's live sessions, and ending all of them.
export default route(spec, {
  GET: async (req, res) => {
    const { caller, user } = await requireAdminOnUser(req)
    send(res, 200, { items: await listSessions(user, caller.sid) })
  },
  DELETE: async (req, res) => {
    const { user } = await requireAdminOnUser(req)
    record(await endSessionsOf(user))
    send(res, 204)
  },
})
