// A user's own second factor: starting a TOTP enrolment, activating it with a first code (which
// hands out the recovery codes and ends the user's other sessions), new recovery codes, and
// removal; and an admin's reset of another user's MFA. Each proves what the contract asks
// (current password, a code) and returns the events to audit, with the refusal when it refuses
// after something worth auditing (a wrong code). Never logs a secret or a code.
import type { Filter } from 'mongodb'
import { now, nowMs } from '../clock.js'
import { credVersion } from '../credentials.js'
import { collections, type UserDoc } from '../db.js'
import type { AuditEvent, Outcome } from '../audit.js'
import { getConfig } from '../config.js'
import { conflict } from '../problem.js'
import { endSessions, keepOnlySession, type Caller } from '../sessions.js'
import { proveCurrentPassword, type ChangeMeta } from '../account.js'
import { consumeFactor, methodOf, removal, withCountedAttempt, type Checked, type Factor } from './factors.js'
import { newRecoveryCodes } from './recovery.js'
import { enrolmentKey, openSecret, sealSecret } from './secrets.js'
import { enrolmentUri, matchStep, newTotpSecret } from './totp.js'
import { qrSvg } from './qr.js'

export interface Enrolment {
  /** The secret in base32, for typing into an app. */
  secret: string
  otpauth_uri: string
  qr_svg: string
}

const targetOf = (user: UserDoc) => ({ id: user._id.toHexString(), username: user.username })
const alreadyActive = () => conflict('TOTP is already active; remove it first to enroll again')
const notActive = () => conflict('TOTP is not active')

/** A checked result with the events of the success added after those of the check. */
function followedBy<T, U>(checked: Checked<T>, make: (value: T) => { value: U; events: AuditEvent[] }): Checked<U> {
  if ('refusal' in checked) return checked
  const next = make(checked.value)
  return { value: next.value, events: [...checked.events, ...next.events] }
}

/**
 * Starts (or restarts) a TOTP enrolment: a new secret, sealed, pending until a first code
 * activates it. 501 when deployed without MFA_ENCRYPTION_KEY; 409 once TOTP is active (the
 * write is conditional on that, so a parallel activation cannot be overwritten).
 */
export async function startEnrolment(caller: Caller, currentPassword: string, meta: ChangeMeta): Promise<Outcome & { enrolment: Enrolment }> {
  const key = enrolmentKey()
  const user = caller.user
  if (user.mfa?.totp) throw alreadyActive()
  await proveCurrentPassword(user, currentPassword, meta)
  const secret = newTotpSecret()
  const sealed = sealSecret(secret, user._id.toHexString(), key)
  const { users } = await collections()
  const [{ base32, uri }, written] = await Promise.all([
    enrolmentUri(secret, user.username, getConfig().jwtIssuer),
    users.updateOne({ _id: user._id, 'mfa.totp': { $exists: false } } as Filter<UserDoc>, {
      $set: { 'mfa.pending_totp': { secret: sealed, created_at: now() } },
    }),
  ])
  if (written.matchedCount === 0) throw alreadyActive()
  return { enrolment: { secret: base32, otpauth_uri: uri, qr_svg: await qrSvg(uri) }, events: [{ event: 'mfa.enrolled', target: targetOf(user) }] }
}

/**
 * Activates the pending enrolment with a code from the app: TOTP becomes active with that code's
 * step as the last accepted one (it can never be used again), ten recovery codes replace any
 * earlier ones, and the user's other sessions end (whoever held one had only the password).
 */
export async function activateTotp(caller: Caller, code: string): Promise<Checked<string[]>> {
  const user = caller.user
  if (user.mfa?.totp) throw alreadyActive()
  const pending = user.mfa?.pending_totp
  if (!pending) throw conflict('No TOTP enrolment is pending; start one with POST /api/auth/mfa/totp')
  const id = user._id.toHexString()
  const { users } = await collections()
  const { codes, hashes } = newRecoveryCodes(id)
  const checked = await withCountedAttempt(user, 'totp', async () => {
    const step = await matchStep(openSecret(pending.secret, id), code, nowMs())
    if (step === undefined) return undefined
    const at = now()
    // Only the enrolment this code was checked against, and only if nothing activated meanwhile.
    const activated = await users.findOneAndUpdate(
      { _id: user._id, 'mfa.pending_totp.secret': pending.secret, 'mfa.totp': { $exists: false } } as Filter<UserDoc>,
      {
        $set: { 'mfa.totp': { secret: pending.secret, activated_at: at, last_step: step }, 'mfa.recovery_codes': hashes, updated_at: at },
        $unset: { 'mfa.pending_totp': '' },
      },
    )
    return activated ?? undefined
  })
  if ('refusal' in checked) return checked
  await endSessions(user._id, caller.sid)
  return followedBy(checked, () => ({ value: codes, events: [{ event: 'mfa.activated', target: targetOf(user) }] }))
}

/** New recovery codes for the current password and a TOTP code; the old ones stop working in the same update. */
export async function regenerateRecoveryCodes(caller: Caller, currentPassword: string, code: string, meta: ChangeMeta): Promise<Checked<string[]>> {
  const user = caller.user
  if (!user.mfa?.totp) throw notActive()
  await proveCurrentPassword(user, currentPassword, meta)
  const { codes, hashes } = newRecoveryCodes(user._id.toHexString())
  const checked = await withCountedAttempt(user, 'totp', () => consumeFactor(user, { code }, { set: { 'mfa.recovery_codes': hashes } }))
  return followedBy(checked, () => ({ value: codes, events: [{ event: 'mfa.recovery_codes_renewed', target: targetOf(user) }] }))
}

/**
 * Removes the user's own MFA, for the current password and a code or recovery code. A credential
 * change: the session it was done from moves to the new version, every other one ends.
 */
export async function removeTotp(caller: Caller, currentPassword: string, factor: Factor, meta: ChangeMeta): Promise<Checked<UserDoc>> {
  const user = caller.user
  if (!user.mfa?.totp) throw notActive()
  await proveCurrentPassword(user, currentPassword, meta)
  const checked = await withCountedAttempt(user, methodOf(factor), () => consumeFactor(user, factor, { removeAll: true }))
  if ('refusal' in checked) return checked
  await keepOnlySession(user._id, caller.sid, credVersion(user), credVersion(checked.value))
  return followedBy(checked, (after) => ({ value: after, events: [{ event: 'mfa.removed', target: targetOf(user) }] }))
}

/** An admin's reset: every factor of the user removed, their credential version moved, every session ended. */
export async function resetMfa(target: UserDoc): Promise<AuditEvent[]> {
  const { users } = await collections()
  const after = await users.findOneAndUpdate({ _id: target._id }, removal(), { returnDocument: 'after' })
  const ended = after ? await endSessions(target._id) : 0
  return [{ event: 'mfa.admin_reset', target: targetOf(target), detail: { had_totp: Boolean(target.mfa?.totp), sessions_ended: ended } }]
}
