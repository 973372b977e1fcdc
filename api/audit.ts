import * as v from 'valibot'
import { route, parse, queryOf, send } from '../lib/http.js'
import { requireAdmin } from '../lib/auth.js'
import { listAudit } from '../lib/audit.js'
import { AuditQuery } from '../lib/schemas.js'

// Admin: the audit trail, newest first, filtered by user (actor or target) and event.
export default route(
  {
    GET: async (req, res) => {
      await requireAdmin(req)
      const query: v.InferOutput<typeof AuditQuery> = parse(AuditQuery, queryOf(req))
      send(res, 200, await listAudit(query))
    },
  },
  { name: '/api/audit' },
)
