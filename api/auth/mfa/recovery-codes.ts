// POST /api/auth/mfa/recovery-codes: ten new recovery codes in place of the old ones.
import { clientMeta, route } from '../../../lib/http/index.js'
import { MfaRenewCodes } from '../../../lib/schemas.js'
import { regenerateRecoveryCodes } from '../../../lib/mfa/enrolment.js'
import { defineRoute } from '../../../lib/routes.js'
import { codesOperation, issueCodes } from './_mfa.js'

const POST = codesOperation(
  {
    summary: 'New recovery codes',
    description: 'Needs `current_password` and a current TOTP `code`. Ten new codes, shown only this once; the old ones stop working.',
  },
  MfaRenewCodes,
  'The new codes',
)

export const spec = defineRoute({ path: '/api/auth/mfa/recovery-codes', methods: { POST } })

// Ten new recovery codes for the current password and a TOTP code; the old ones stop working.
export default route(spec, {
  POST: issueCodes(POST, (caller, input) => regenerateRecoveryCodes(caller, input.current_password, input.code, { ip: clientMeta().ip })),
})
