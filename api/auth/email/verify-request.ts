// POST /api/auth/email/verify-request: mails the caller a new verification link.
import { route, readInput, send, record, requireUser } from '../../../lib/http/index.js'
import { EmailVerifyAccepted, EmailVerifyRequest } from '../../../lib/schemas.js'
import { requestVerification, verificationLinkBase } from '../../../lib/email-verification.js'
import { defineRoute } from '../../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/auth/email/verify-request',
  methods: {
    POST: {
      tag: 'email verification',
      summary: 'Ask for a new email verification link',
      description:
        'Mails a single-use link (24 hours) to the address awaiting verification: the pending address if you asked to change yours, else your email if it is not verified. ' +
        '409 when nothing awaits verification (no mail is sent). 5 requests in 15 minutes per account (429). ' +
        'A new email change, or a password change, kills the links issued before it. 501 where the deployment has no SMTP_URL or VERIFY_URL_BASE.',
      auth: 'bearer',
      body: { json: EmailVerifyRequest, optional: true },
      ok: { status: 202, description: 'Accepted: a link is on its way', schema: EmailVerifyAccepted },
      errors: [409, 429, 501],
    },
  },
})

const ACCEPTED = Object.freeze({ status: 'accepted', detail: 'A verification link has been sent to the address awaiting verification' } as const)

// To the pending address if a change waits, else to the account's own if unverified.
export default route(spec, {
  POST: async (req, res) => {
    const caller = await requireUser(req)
    const linkBase = verificationLinkBase(req)
    await readInput(req, spec.methods.POST)
    record(await requestVerification(caller.user, linkBase))
    send(res, 202, ACCEPTED)
  },
})
