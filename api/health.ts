import { route, send } from '../lib/http.js'
import { pingDb } from '../lib/db.js'
import { unavailable } from '../lib/problem.js'

// 200 when the database answers a ping within its timeout; 503 + Retry-After otherwise.
export default route(
  {
    GET: async (_req, res) => {
      await pingDb().catch((err: unknown) => {
        throw unavailable(err)
      })
      send(res, 200, { status: 'ok', db: 'ok' })
    },
  },
  { name: '/api/health' },
)
