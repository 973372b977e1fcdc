// POST /api/auth/mfa/recovery-codes: ten new recovery codes in place of the old ones.
import { route, readInput, clientMeta, requireUser } from '../../../lib/http/index.js'
import { MfaRenewCodes } from '../../../lib/schemas.js'
import { regenerateRecoveryCodes } from '../../../lib/mfa/enrolment.js'
import { defineRoute } from '../../../lib/routes.js'
import { answerCodes, recoveryCodesOk } from './_codes.js'

export const spec = defineRoute({
  path: '/api/auth/mfa/recovery-codes',
  methods: {
    POST: {
      tag: 'mfa',
      summary: 'New recovery codes',
      description: 'Needs `current_password` and a current TOTP `code`. Ten new codes, shown only this once; the old ones stop working.',
      auth: 'bearer',
      body: { json: MfaRenewCodes },
      ok: recoveryCodesOk('The new codes'),
      errors: [409, 429],
    },
  },
})

// Ten new recovery codes for the current password and a TOTP code; the old ones stop working.
export default route(spec, {
  POST: async (req, res) => {
    const caller = await requireUser(req, { beforeSecondFactor: true })
    const input = await readInput(req, spec.methods.POST)
    answerCodes(res, await regenerateRecoveryCodes(caller, input.current_password, input.code, { ip: clientMeta().ip }))
  },
})
