import { route, readJson, parse, send, currentRequest, recordEvents, setCaller } from '../../../lib/http.js'
import { MfaVerify } from '../../../lib/schemas.js'
import { OAUTH } from '../../../lib/problem.js'
import { verifySecondFactor } from '../../../lib/mfa/verify.js'

// The second step of a login with MFA: the mfa_token of the 403 mfa_required answer and a code
// (or a recovery code) for the token pair, with amr ["pwd","otp"] and aal2.
export default route(
  {
    POST: async (req, res) => {
      const { mfa_token, ...factor } = parse(MfaVerify, await readJson(req), OAUTH.invalidRequest)
      const ctx = currentRequest()!
      const { pair, actor } = await verifySecondFactor(mfa_token, factor, { ip: ctx.ip, userAgent: ctx.userAgent }, (e) => recordEvents([e]))
      setCaller(actor.id, actor.username)
      send(res, 200, pair, { 'Cache-Control': 'no-store', Pragma: 'no-cache' })
    },
  },
  { name: '/api/auth/mfa/verify' },
)
