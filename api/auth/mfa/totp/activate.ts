// POST /api/auth/mfa/totp/activate: the first code makes a pending TOTP enrolment active.
import { route, readInput, requireUser } from '../../../../lib/http/index.js'
import { MfaActivate } from '../../../../lib/schemas.js'
import { activateTotp } from '../../../../lib/mfa/enrolment.js'
import { defineRoute } from '../../../../lib/routes.js'
import { answerCodes, recoveryCodesOk } from '../_codes.js'

export const spec = defineRoute({
  path: '/api/auth/mfa/totp/activate',
  methods: {
    POST: {
      tag: 'mfa',
      summary: 'Activate TOTP with a first code',
      description:
        'A code from the app for the pending enrolment. Answers ten recovery codes, shown only this once (each works once, in place of a code). ' +
        'Every other session of yours ends; this one stays at `aal1` until you log in again. 409 without a pending enrolment or when TOTP is active.',
      auth: 'bearer',
      body: { json: MfaActivate },
      ok: recoveryCodesOk('TOTP is active'),
      errors: [409, 429],
    },
  },
})

// Activates the caller's pending TOTP enrolment with a first code: answers the recovery codes
// (shown once) and ends the caller's other sessions.
export default route(spec, {
  POST: async (req, res) => {
    const caller = await requireUser(req, { beforeSecondFactor: true })
    const input = await readInput(req, spec.methods.POST)
    answerCodes(res, await activateTotp(caller, input.code))
  },
})
