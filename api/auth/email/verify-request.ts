// POST /api/auth/email/verify-request: mails the caller a new verification link.
import { route, readJson, parse, send, recordEvents } from '../../../lib/http.js'
import { requireUser } from '../../../lib/auth.js'
import { EmailVerifyRequest } from '../../../lib/schemas.js'
import { requestVerification, verificationLinkBase } from '../../../lib/email-verification.js'

const ACCEPTED = Object.freeze({ status: 'accepted', detail: 'A verification link has been sent to the address awaiting verification' } as const)

// To the pending address if a change waits, else to the account's own if unverified; 409 when
// nothing waits, 429 past 5 in 15 minutes, 501 when deployed without mail or VERIFY_URL_BASE.
export default route(
  {
    POST: async (req, res) => {
      const caller = await requireUser(req)
      const linkBase = verificationLinkBase(req)
      parse(EmailVerifyRequest, await readJson(req))
      recordEvents(await requestVerification(caller.user, linkBase))
      send(res, 202, ACCEPTED)
    },
  },
  { name: '/api/auth/email/verify-request' },
)
