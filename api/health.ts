import { route, send } from '../lib/http/index.js'
import { pingDb } from '../lib/db.js'
import { unavailable } from '../lib/problem.js'
import { defineRoute } from '../lib/routes.js'
import { Health } from '../lib/schemas.js'

export const spec = defineRoute({
  path: '/api/health',
  shortPaths: ['/health'],
  methods: {
    GET: { tag: 'service', summary: 'Health', description: '503 with Retry-After when the database cannot be reached.', auth: 'none', ok: { status: 200, description: 'Up', schema: Health } },
  },
})

// 200 when the database answers a ping within its timeout; 503 + Retry-After otherwise.
export default route(spec, {
  GET: async (_req, res) => {
    await pingDb().catch((err: unknown) => {
      throw unavailable(err)
    })
    send(res, 200, { status: 'ok', db: 'ok' })
  },
})
