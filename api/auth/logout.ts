import { route, readBody, parse, param, send, recordEvent, setCaller } from '../../lib/http.js'
import { bearerToken, requireUser } from '../../lib/auth.js'
import { LogoutBody } from '../../lib/schemas.js'
import { endSession, endSessions } from '../../lib/sessions.js'
import { verifyAccessToken } from '../../lib/tokens.js'
import { unauthorized } from '../../lib/problem.js'

// Ends the presented token's session (local), every other one (others) or all (global).
export default route(
  {
    POST: async (req, res) => {
      const claims = await verifyAccessToken(bearerToken(req))
      const body = await readBody(req)
      const query = param(req, 'scope')
      const input = body.kind === 'empty' ? (query ? { scope: query } : {}) : body.value
      // Authentication is answered before the body: a dead session learns nothing more.
      const scope = await Promise.resolve()
        .then(() => parse(LogoutBody, input).scope)
        .catch(async (err: unknown) => {
          await requireUser(req, { beforeSecondFactor: true })
          throw err
        })
      setCaller(claims.sub, claims.preferred_username)
      if (scope === 'local') {
        // One delete proves the session was live and ends it.
        if (!(await endSession(claims.sub, claims.sid))) throw unauthorized('The session has ended')
      } else {
        const caller = await requireUser(req, { beforeSecondFactor: true })
        await endSessions(caller.user._id, scope === 'others' ? caller.sid : undefined)
      }
      recordEvent('logout', { detail: { scope } })
      send(res, 204)
    },
  },
  { name: '/api/auth/logout' },
)
