import { route, readInput, send, clientMeta, record } from '../../../lib/http/index.js'
import { assertMailConfigured } from '../../../lib/mail.js'
import { PasswordResetAccepted, PasswordResetRequest } from '../../../lib/schemas.js'
import { RESET_ACCEPTED, requestReset, resetLinkBase } from '../../../lib/reset.js'
import { defineRoute } from '../../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/auth/password-reset',
  methods: {
    POST: {
      tag: 'password reset',
      summary: 'Ask for a password reset link',
      description:
        'Give `email` or `username`. Always 202 with the same body, after the same work, whether or not the account exists; a single-use link (30 minutes) is mailed when it does. ' +
        'Limited per address and per account whatever the spelling (429). The link dies when the email or password changes. ' +
        '501 where the deployment sends no mail (no SMTP_URL) or has no RESET_URL_BASE (links never take their origin from the request): ' +
        'an admin can then make a link with POST /api/users/{username}/password-reset.',
      auth: 'none',
      body: { json: PasswordResetRequest },
      ok: { status: 202, description: 'Accepted', schema: PasswordResetAccepted },
      errors: [429, 501],
    },
  },
})

// Self-service reset request: the same 202 whether or not the account exists (no enumeration);
// a link is mailed only when it does. 501 in a deployment that has no SMTP_URL or RESET_URL_BASE.
export default route(spec, {
  POST: async (req, res) => {
    assertMailConfigured()
    const linkBase = resetLinkBase(req)
    const input = await readInput(req, spec.methods.POST)
    record(await requestReset(input, { ip: clientMeta().ip, linkBase }))
    send(res, 202, RESET_ACCEPTED)
  },
})
