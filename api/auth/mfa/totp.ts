import { route, readJson, parse, send, currentRequest, recordEvents } from '../../../lib/http.js'
import { requireUser } from '../../../lib/auth.js'
import { MfaEnrol, MfaRemove } from '../../../lib/schemas.js'
import { removeTotp, startEnrolment } from '../../../lib/mfa/enrolment.js'

// The caller's TOTP: start an enrolment (POST), or remove it (DELETE). Both need the current
// password; removal also a code or a recovery code. Open to an aal1 caller of a role that
// needs MFA: this is how they get it.
export default route(
  {
    POST: async (req, res) => {
      const caller = await requireUser(req, { beforeSecondFactor: true })
      const input = parse(MfaEnrol, await readJson(req))
      const { enrolment, events } = await startEnrolment(caller, input.current_password, { ip: currentRequest()!.ip })
      recordEvents(events)
      send(res, 201, enrolment, { 'Cache-Control': 'no-store' })
    },
    DELETE: async (req, res) => {
      const caller = await requireUser(req, { beforeSecondFactor: true })
      const { current_password, ...factor } = parse(MfaRemove, await readJson(req))
      const events = await removeTotp(caller, current_password, factor, { ip: currentRequest()!.ip }, (e) => recordEvents([e]))
      recordEvents(events)
      send(res, 204)
    },
  },
  { name: '/api/auth/mfa/totp' },
)
