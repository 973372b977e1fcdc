import { route, readInput, param, send, record, requireAdmin } from '../../../lib/http/index.js'
import { AdminPasswordReset, PasswordResetLink, normalizeUsername } from '../../../lib/schemas.js'
import { issueResetLink, resetLinkBase } from '../../../lib/reset.js'
import { requireUserNamed } from '../../../lib/users.js'
import { defineRoute } from '../../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/users/{username}/password-reset',
  methods: {
    POST: {
      tag: 'password reset',
      summary: 'Make a reset link for a user (admin)',
      description:
        'For deployments without mail: hand the link to the user over a trusted channel. Takes no fields (an empty body or `{}`). A disabled account gets no link (409). ' +
        'The link dies when the user\'s email or password changes. Deployed, links are built from RESET_URL_BASE only, never from the request: without it, 501.',
      auth: 'bearer',
      body: { json: AdminPasswordReset, optional: true },
      ok: { status: 200, description: 'A single-use link', schema: PasswordResetLink },
      errors: [403, 404, 409, 501],
    },
  },
})

// Admin: a single-use reset link for a user, to hand over where the deployment sends no mail.
// 501 in a deployment without RESET_URL_BASE (links never take their origin from the request).
export default route(spec, {
  POST: async (req, res) => {
    await requireAdmin(req)
    const linkBase = resetLinkBase(req)
    await readInput(req, spec.methods.POST)
    const user = await requireUserNamed(normalizeUsername(param(req, 'username') ?? ''))
    const { link, events } = await issueResetLink(user, linkBase)
    record(events)
    send(res, 200, link)
  },
})
