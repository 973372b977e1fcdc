import { route, readBody, parseBody, clientMeta } from '../../lib/http/index.js'
import { RefreshForm, RefreshJson } from '../../lib/schemas.js'
import { rotateRefreshToken } from '../../lib/sessions.js'
import { OAUTH } from '../../lib/problem.js'
import { assertGrantType } from '../../lib/grants.js'
import { defineRoute } from '../../lib/routes.js'
import { answerGrant, tokenPairOk } from './_grant.js'

export const spec = defineRoute({
  path: '/api/auth/refresh',
  shortPaths: ['/refresh'],
  methods: {
    POST: {
      tag: 'auth',
      summary: 'Refresh (rotate) the token pair',
      description:
        'RFC 6749 6. The refresh token is single use: each call returns a new pair. Presenting an already-used one ends the whole session, ' +
        'except shortly after its rotation (REFRESH_REUSE_INTERVAL), when it gets a fresh pair. A refused token gets 400 `invalid_grant`, as does a ' +
        'session whose user\'s password, role or status changed since it started. A `grant_type` other than `refresh_token` gets 400 `unsupported_grant_type` (RFC 6749 5.2).',
      auth: 'none',
      body: { json: RefreshJson, form: RefreshForm, oauthError: OAUTH.invalidRequest },
      ok: tokenPairOk('A new token pair'),
    },
  },
})

// Refresh grant (RFC 6749 6): rotates the refresh token; a reused one ends the session.
export default route(spec, {
  POST: async (req, res) => {
    const body = await readBody(req)
    assertGrantType(body.value, 'refresh_token')
    const input = parseBody(spec.methods.POST, body)
    answerGrant(res, await rotateRefreshToken(input.refresh_token, clientMeta()))
  },
})
