import { route, readBody, parse, param, send, record, setCaller, requireUser } from '../../lib/http/index.js'
import { bearerToken } from '../../lib/auth.js'
import { LOGOUT_SCOPES, LogoutBody } from '../../lib/schemas.js'
import { endOwnSession, logOutEverywhere } from '../../lib/sessions.js'
import { verifyAccessToken } from '../../lib/tokens.js'
import { unauthorized } from '../../lib/problem.js'
import { defineRoute } from '../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/auth/logout',
  shortPaths: ['/logout'],
  methods: {
    POST: {
      tag: 'auth',
      summary: 'Log out',
      description: 'Ends the session of the presented token (`local`), every other session (`others`) or all of them (`global`). The scope comes from the JSON body or the query.',
      auth: 'bearer',
      parameters: [
        { name: 'scope', in: 'query', required: false, description: 'Used when there is no body. Default: `local`.', schema: { type: 'string', enum: [...LOGOUT_SCOPES] } },
      ],
      body: { json: LogoutBody, optional: true },
      ok: { status: 204, description: 'Logged out' },
    },
  },
})

// Ends the presented token's session (local), every other one (others) or all (global).
export default route(spec, {
  POST: async (req, res) => {
    const claims = await verifyAccessToken(bearerToken(req.headers.authorization))
    const body = await readBody(req)
    const query = param(req, 'scope')
    const input = body.kind === 'empty' ? (query ? { scope: query } : {}) : body.value
    // Authentication is answered before the body: a dead session learns nothing more.
    const scope = await Promise.resolve()
      .then(() => parse(spec.methods.POST.body.json, input).scope)
      .catch(async (err: unknown) => {
        await requireUser(req, { beforeSecondFactor: true })
        throw err
      })
    setCaller(claims.sub, claims.preferred_username)
    if (scope === 'local') {
      // One delete proves the session was live and ends it.
      const ended = await endOwnSession(claims.sub, claims.sid, 'logout')
      if (!ended) throw unauthorized('The session has ended')
      record(ended)
    } else {
      const caller = await requireUser(req, { beforeSecondFactor: true })
      record(await logOutEverywhere(caller.user._id, scope === 'others' ? caller.sid : undefined))
    }
    send(res, 204)
  },
})
