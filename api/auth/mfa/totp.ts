// POST /api/auth/mfa/totp starts a TOTP enrolment; DELETE removes the caller's TOTP.
import { route, readInput, send, clientMeta, record, requireUser } from '../../../lib/http/index.js'
import { MfaEnrol, MfaEnrolment, MfaRemove } from '../../../lib/schemas.js'
import { removeTotp, startEnrolment } from '../../../lib/mfa/enrolment.js'
import { defineRoute } from '../../../lib/routes.js'
import { mfaOperation } from './_mfa.js'

export const spec = defineRoute({
  path: '/api/auth/mfa/totp',
  methods: {
    POST: mfaOperation(
      {
        summary: 'Start a TOTP enrolment',
        description:
          'Needs `current_password`. Answers a new secret (base32), its `otpauth://` URI and a QR code (SVG) for an authenticator app: SHA-1, 6 digits, 30-second steps (RFC 6238). ' +
          'The enrolment is pending until POST /api/auth/mfa/totp/activate; a new call replaces it. 409 when TOTP is already active. ' +
          '501 on a deployment without MFA_ENCRYPTION_KEY. Open to a caller whose role needs MFA but who has not proven it yet (MFA_REQUIRED_ROLES).',
      },
      MfaEnrol,
      { status: 201, description: 'The pending enrolment', schema: MfaEnrolment, headers: ['Cache-Control'] },
      [409, 429, 501],
    ),
    DELETE: mfaOperation(
      {
        summary: 'Remove your TOTP',
        description:
          'Needs `current_password` and either a current `code` or an unused `recovery_code`. Removes TOTP and the recovery codes; a credential change: the session it is done from ' +
          'stays, every other one ends. Wrong codes count per account (5 in 15 minutes, then 429).',
      },
      MfaRemove,
      { status: 204, description: 'TOTP is removed' },
    ),
  },
})

// The caller's TOTP: start an enrolment (POST), or remove it (DELETE). Both need the current
// password; removal also a code or a recovery code. Open to an aal1 caller of a role that
// needs MFA: this is how they get it.
export default route(spec, {
  POST: async (req, res) => {
    const caller = await requireUser(req, { beforeSecondFactor: true })
    const input = await readInput(req, spec.methods.POST)
    const result = await startEnrolment(caller, input.current_password, { ip: clientMeta().ip })
    record(result)
    send(res, 201, result.enrolment, { 'Cache-Control': 'no-store' })
  },
  DELETE: async (req, res) => {
    const caller = await requireUser(req, { beforeSecondFactor: true })
    const { current_password, ...factor } = await readInput(req, spec.methods.DELETE)
    const result = await removeTotp(caller, current_password, factor, { ip: clientMeta().ip })
    record(result)
    if ('refusal' in result) throw result.refusal
    send(res, 204)
  },
})
