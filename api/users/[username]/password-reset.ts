import { route, readJson, parse, param, send, recordEvents } from '../../../lib/http.js'
import { requireAdmin } from '../../../lib/auth.js'
import { AdminPasswordReset, normalizeUsername } from '../../../lib/schemas.js'
import { issueResetLink, resetLinkBase } from '../../../lib/reset.js'
import { requireUserNamed } from '../../../lib/users.js'

// Admin: a single-use reset link for a user, to hand over where the deployment sends no mail.
// 501 in a deployment without RESET_URL_BASE (links never take their origin from the request).
export default route(
  {
    POST: async (req, res) => {
      await requireAdmin(req)
      const linkBase = resetLinkBase(req)
      parse(AdminPasswordReset, await readJson(req))
      const user = await requireUserNamed(normalizeUsername(param(req, 'username') ?? ''))
      const { link, events } = await issueResetLink(user, linkBase)
      recordEvents(events)
      send(res, 200, link)
    },
  },
  { name: '/api/users/[username]/password-reset' },
)
