import { route, readBody, parseBody, clientMeta } from '../../lib/http/index.js'
import { LoginForm, LoginJson } from '../../lib/schemas.js'
import { passwordGrant } from '../../lib/login.js'
import { OAUTH } from '../../lib/problem.js'
import { assertGrantType } from '../../lib/grants.js'
import { defineRoute } from '../../lib/routes.js'
import { answerGrant, tokenPairOk } from './_grant.js'

export const spec = defineRoute({
  path: '/api/auth/login',
  shortPaths: ['/login'],
  methods: {
    POST: {
      tag: 'auth',
      summary: 'Log in (OAuth 2.0 password grant)',
      description:
        'RFC 6749 4.3. JSON or form body; `username` may be the account\'s email. Form logins accept and ignore `scope`, `client_id` and `client_secret`; ' +
        'a `grant_type` other than `password` gets 400 `unsupported_grant_type` (RFC 6749 5.2). ' +
        'Bad credentials get one answer whether or not the user exists; a disabled account is told so only after a correct password. ' +
        'With REQUIRE_VERIFIED_EMAIL=true, a correct password on an account whose email is not verified gets 403 with `error: "email_not_verified"` (a wrong one stays 401 and counts). ' +
        'Failed logins are limited per account, whatever the spelling (5 in 15 minutes; every spelling of the username, and the email, counts together), ' +
        'and per client address (50 in 15 minutes). ' +
        'An account with active TOTP gets, after a correct password, 403 `mfa_required` with an `mfa_token` and `mfa_methods` instead of tokens: ' +
        'finish with POST /api/auth/mfa/verify. Access tokens carry `amr` (`["pwd"]`, or `["pwd","otp"]` after a second factor) and `aal` (`aal1` / `aal2`).',
      auth: 'none',
      body: { json: LoginJson, form: LoginForm, oauthError: OAUTH.invalidRequest },
      ok: tokenPairOk('A new session\'s token pair'),
      errors: [401, 403, 429],
    },
  },
})

// OAuth2 password grant (RFC 6749 4.3): JSON or form body; `username` may be the email.
export default route(spec, {
  POST: async (req, res) => {
    const body = await readBody(req)
    assertGrantType(body.value, 'password')
    const input = parseBody(spec.methods.POST, body)
    answerGrant(res, await passwordGrant(input.username, input.password, clientMeta()))
  },
})
