import { route, readJson, parse, send, recordEvents } from '../../../../lib/http.js'
import { requireUser } from '../../../../lib/auth.js'
import { MfaActivate } from '../../../../lib/schemas.js'
import { activateTotp } from '../../../../lib/mfa/enrolment.js'

// Activates the caller's pending TOTP enrolment with a first code: answers the recovery codes
// (shown once) and ends the caller's other sessions.
export default route(
  {
    POST: async (req, res) => {
      const caller = await requireUser(req, { beforeSecondFactor: true })
      const input = parse(MfaActivate, await readJson(req))
      const { recoveryCodes, events } = await activateTotp(caller, input.code, (e) => recordEvents([e]))
      recordEvents(events)
      send(res, 200, { recovery_codes: recoveryCodes }, { 'Cache-Control': 'no-store' })
    },
  },
  { name: '/api/auth/mfa/totp/activate' },
)
