import { route, readQuery, send, requireAdmin } from '../lib/http/index.js'
import { listAudit } from '../lib/audit.js'
import { AuditPage, AuditQuery } from '../lib/schemas.js'
import { adminPage, defineRoute } from '../lib/routes.js'

export const spec = defineRoute({
  path: '/api/audit',
  methods: {
    GET: adminPage({ tag: 'audit', summary: 'Audit events (admin)', description: 'Newest first, cursor pages; kept 90 days.' }, AuditQuery, {
      description: 'One page of events',
      schema: AuditPage,
    }),
  },
})

// Admin: the audit trail, newest first, filtered by user (actor or target) and event.
export default route(spec, {
  GET: async (req, res) => {
    await requireAdmin(req)
    send(res, 200, await listAudit(readQuery(req, spec.methods.GET)))
  },
})
