import { route, readJson, parse, send, currentRequest, recordEvents } from '../../../lib/http.js'
import { requireUser } from '../../../lib/auth.js'
import { MfaRenewCodes } from '../../../lib/schemas.js'
import { regenerateRecoveryCodes } from '../../../lib/mfa/enrolment.js'

// Ten new recovery codes for the current password and a TOTP code; the old ones stop working.
export default route(
  {
    POST: async (req, res) => {
      const caller = await requireUser(req, { beforeSecondFactor: true })
      const input = parse(MfaRenewCodes, await readJson(req))
      const meta = { ip: currentRequest()!.ip }
      const { recoveryCodes, events } = await regenerateRecoveryCodes(caller, input.current_password, input.code, meta, (e) => recordEvents([e]))
      recordEvents(events)
      send(res, 200, { recovery_codes: recoveryCodes }, { 'Cache-Control': 'no-store' })
    },
  },
  { name: '/api/auth/mfa/recovery-codes' },
)
