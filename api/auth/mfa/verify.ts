// POST /api/auth/mfa/verify: the second step of a login with MFA (mfa_token and a code → token pair).
import { route, readInput, clientMeta } from '../../../lib/http/index.js'
import { MfaVerify } from '../../../lib/schemas.js'
import { OAUTH } from '../../../lib/problem.js'
import { verifySecondFactor } from '../../../lib/mfa/verify.js'
import { defineRoute } from '../../../lib/routes.js'
import { answerGrant, tokenPairOk } from '../_grant.js'

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
      ok: tokenPairOk('A new session\'s token pair'),
      errors: [429],
    },
  },
})

// The second step of a login with MFA: the mfa_token of the 403 mfa_required answer and a code
// (or a recovery code) for the token pair, with amr ["pwd","otp"] and aal2.
export default route(spec, {
  POST: async (req, res) => {
    const { mfa_token, ...factor } = await readInput(req, spec.methods.POST)
    answerGrant(res, await verifySecondFactor(mfa_token, factor, clientMeta()))
  },
})
