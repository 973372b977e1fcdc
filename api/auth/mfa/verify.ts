// POST /api/auth/mfa/verify: the second step of a login with MFA (mfa_token and a code → token pair).
import { route, readInput, send, clientMeta, record } from '../../../lib/http/index.js'
import { MfaVerify, TokenResponse } from '../../../lib/schemas.js'
import { OAUTH } from '../../../lib/problem.js'
import { verifySecondFactor } from '../../../lib/mfa/verify.js'
import { defineRoute } from '../../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/auth/mfa/verify',
  methods: {
    POST: {
      tag: 'mfa',
      summary: 'Finish a login with a second factor',
      description:
        'The `mfa_token` of the login\'s 403 `mfa_required` answer, and a TOTP `code` (the current step or one either side) or a `recovery_code`. ' +
        'Answers the token pair, with `amr: ["pwd","otp"]` and `aal: "aal2"` in the access token. A code is accepted once: a reused one, one older than the last accepted, ' +
        'or a wrong one gets 400 `invalid_grant` naming the field; so does an expired, used or foreign `mfa_token` (log in again). ' +
        'Wrong codes count per account and per mfa_token (5 in 15 minutes, then 429).',
      auth: 'none',
      body: { json: MfaVerify, oauthError: OAUTH.invalidRequest },
      ok: { status: 200, description: 'A new session\'s token pair', schema: TokenResponse, headers: ['Cache-Control', 'Pragma'] },
      errors: [429],
    },
  },
})

// The second step of a login with MFA: the mfa_token of the 403 mfa_required answer and a code
// (or a recovery code) for the token pair, with amr ["pwd","otp"] and aal2.
export default route(spec, {
  POST: async (req, res) => {
    const { mfa_token, ...factor } = await readInput(req, spec.methods.POST)
    const result = await verifySecondFactor(mfa_token, factor, clientMeta())
    record(result)
    if ('refusal' in result) throw result.refusal
    send(res, 200, result.pair, { 'Cache-Control': 'no-store', Pragma: 'no-cache' })
  },
})
