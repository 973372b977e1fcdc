import { route, readJson, parse, send, currentRequest, recordEvents } from '../../../lib/http.js'
import { assertMailConfigured } from '../../../lib/mail.js'
import { PasswordResetRequest } from '../../../lib/schemas.js'
import { RESET_ACCEPTED, requestReset, resetLinkBase } from '../../../lib/reset.js'

// Self-service reset request: the same 202 whether or not the account exists (no enumeration);
// a link is mailed only when it does. 501 in a deployment that has no SMTP_URL or RESET_URL_BASE.
export default route(
  {
    POST: async (req, res) => {
      assertMailConfigured()
      const linkBase = resetLinkBase(req)
      const input = parse(PasswordResetRequest, await readJson(req))
      recordEvents(await requestReset(input, { ip: currentRequest()!.ip, linkBase }))
      send(res, 202, RESET_ACCEPTED)
    },
  },
  { name: '/api/auth/password-reset' },
)
