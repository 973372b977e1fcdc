import { route, send } from '../lib/http.js'
import { missingIndexes, pingDb } from '../lib/db.js'
import { unavailable } from '../lib/problem.js'

// 200 when the database answers a ping within its timeout ("degraded", naming them, when indexes
// the service relies on are missing); 503 + Retry-After when it does not answer.
export default route(
  {
    GET: async (_req, res) => {
      const [, missing] = await Promise.all([pingDb(), missingIndexes()]).catch((err: unknown) => {
        throw unavailable(err)
      })
      if (missing.length > 0) send(res, 200, { status: 'degraded', db: 'ok', missing_indexes: missing })
      else send(res, 200, { status: 'ok', db: 'ok' })
    },
  },
  { name: '/api/health' },
)
