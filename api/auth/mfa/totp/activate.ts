// POST /api/auth/mfa/totp/activate: the first code makes a pending TOTP enrolment active.
import { route } from '../../../../lib/http/index.js'
import { MfaActivate } from '../../../../lib/schemas.js'
import { activateTotp } from '../../../../lib/mfa/enrolment.js'
import { defineRoute } from '../../../../lib/routes.js'
import { codesOperation, issueCodes } from '../_mfa.js'

const POST = codesOperation(
  {
    summary: 'Activate TOTP with a first code',
    description:
      'A code from the app for the pending enrolment. Answers ten recovery codes, shown only this once (each works once, in place of a code). ' +
      'Every other session of yours ends; this one stays at `aal1` until you log in again. 409 without a pending enrolment or when TOTP is active.',
  },
  MfaActivate,
  'TOTP is active',
)

export const spec = defineRoute({ path: '/api/auth/mfa/totp/activate', methods: { POST } })

// Activates the caller's pending TOTP enrolment with a first code: answers the recovery codes
// (shown once) and ends the caller's other sessions.
export default route(spec, {
  POST: issueCodes(POST, (caller, input) => activateTotp(caller, input.code)),
})
