import { route, send } from '../lib/http/index.js'
import { missingIndexes, pingDb } from '../lib/db.js'
import { unavailable } from '../lib/problem.js'
import { defineRoute } from '../lib/routes.js'
import { Health } from '../lib/schemas.js'

export const spec = defineRoute({
  path: '/api/health',
  shortPaths: ['/health'],
  methods: {
    GET: { tag: 'service', summary: 'Health', description: 'Status `degraded`, with `missing_indexes` (`collection.index`), when the database lacks indexes the service relies on (checked at most once a minute). 503 with Retry-After when the database cannot be reached.', auth: 'none', ok: { status: 200, description: 'Up', schema: Health } },
  },
})

// 200 when the database answers a ping within its timeout ("degraded", naming them, when indexes
// the service relies on are missing); 503 + Retry-After when it does not answer.
export default route(spec, {
  GET: async (_req, res) => {
    const [, missing] = await Promise.all([pingDb(), missingIndexes()]).catch((err: unknown) => {
      throw unavailable(err)
    })
    if (missing.length > 0) send(res, 200, { status: 'degraded', db: 'ok', missing_indexes: missing })
    else send(res, 200, { status: 'ok', db: 'ok' })
  },
})
