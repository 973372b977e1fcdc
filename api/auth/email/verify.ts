// POST /api/auth/email/verify: redeems a verification token once.
import { route, readJson, parse, send, recordEvents, setCaller } from '../../../lib/http.js'
import { EmailVerify } from '../../../lib/schemas.js'
import { confirmVerification } from '../../../lib/email-verification.js'

// Only a POST consumes a token: a GET (a mail scanner following the link) gets 405 and changes
// nothing. The address is verified, or a pending address becomes the account's.
export default route(
  {
    POST: async (req, res) => {
      const input = parse(EmailVerify, await readJson(req))
      const { actor, events } = await confirmVerification(input.token)
      setCaller(actor.id, actor.username)
      recordEvents(events)
      send(res, 204)
    },
  },
  { name: '/api/auth/email/verify' },
)
