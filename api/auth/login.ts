import { route, readBody, parse, send, currentRequest } from '../../lib/http.js'
import { LoginForm, LoginJson } from '../../lib/schemas.js'
import { passwordGrant } from '../../lib/login.js'
import { OAUTH } from '../../lib/problem.js'
import { assertGrantType } from '../../lib/grants.js'

// OAuth2 password grant (RFC 6749 4.3): JSON or form body; `username` may be the email.
export default route(
  {
    POST: async (req, res) => {
      const body = await readBody(req)
      assertGrantType(body.value, 'password')
      const input = body.kind === 'form' ? parse(LoginForm, body.value, OAUTH.invalidRequest) : parse(LoginJson, body.value ?? {}, OAUTH.invalidRequest)
      const ctx = currentRequest()!
      const pair = await passwordGrant(input.username, input.password, { ip: ctx.ip, userAgent: ctx.userAgent })
      send(res, 200, pair, { 'Cache-Control': 'no-store', Pragma: 'no-cache' })
    },
  },
  { name: '/api/auth/login' },
)
