// POST /api/auth/mfa/recovery-codes: ten new recovery codes in place of the old ones.
import { route, readInput, send, clientMeta, record, requireUser } from '../../../lib/http/index.js'
import { MfaRenewCodes, RecoveryCodes } from '../../../lib/schemas.js'
import { regenerateRecoveryCodes } from '../../../lib/mfa/enrolment.js'
import { defineRoute } from '../../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/auth/mfa/recovery-codes',
  methods: {
    POST: {
      tag: 'mfa',
      summary: 'New recovery codes',
      description: 'Needs `current_password` and a current TOTP `code`. Ten new codes, shown only this once; the old ones stop working.',
      auth: 'bearer',
      body: { json: MfaRenewCodes },
      ok: { status: 200, description: 'The new codes', schema: RecoveryCodes, headers: ['Cache-Control'] },
      errors: [409, 429],
    },
  },
})

// Ten new recovery codes for the current password and a TOTP code; the old ones stop working.
export default route(spec, {
  POST: async (req, res) => {
    const caller = await requireUser(req, { beforeSecondFactor: true })
    const input = await readInput(req, spec.methods.POST)
    const result = await regenerateRecoveryCodes(caller, input.current_password, input.code, { ip: clientMeta().ip })
    record(result)
    if ('refusal' in result) throw result.refusal
    send(res, 200, { recovery_codes: result.value }, { 'Cache-Control': 'no-store' })
  },
})
