import { route, readBody, parse, send, currentRequest, setCaller, recordEvent } from '../../lib/http.js'
import { RefreshForm, RefreshJson } from '../../lib/schemas.js'
import { rotateRefreshToken } from '../../lib/sessions.js'
import { OAUTH } from '../../lib/problem.js'
import { assertGrantType } from '../../lib/grants.js'

// Refresh grant (RFC 6749 6): rotates the refresh token; a reused one ends the session.
export default route(
  {
    POST: async (req, res) => {
      const body = await readBody(req)
      assertGrantType(body.value, 'refresh_token')
      const input = body.kind === 'form' ? parse(RefreshForm, body.value, OAUTH.invalidRequest) : parse(RefreshJson, body.value ?? {}, OAUTH.invalidRequest)
      const ctx = currentRequest()!
      const outcome = await rotateRefreshToken(input.refresh_token, { ip: ctx.ip, userAgent: ctx.userAgent }, (session) => {
        setCaller(session.user_id.toHexString(), session.username)
        recordEvent('token.reuse', { detail: { session_id: session._id } })
      })
      setCaller(outcome.userId, '')
      recordEvent(outcome.graced ? 'token.refresh_grace' : 'token.refresh')
      send(res, 200, outcome.pair, { 'Cache-Control': 'no-store', Pragma: 'no-cache' })
    },
  },
  { name: '/api/auth/refresh' },
)
