// Proving a second factor: a TOTP code or a recovery code of a user, checked and consumed in one
// conditional update, so that the database settles every race: a TOTP step is accepted only if
// it is later than the last one accepted (two requests with one code: one wins, RFC 6238 5.2),
// a recovery code only while its hash is still on the user ($pull removes it in the same
// update), and either only while the user's credential version is the one the caller read. The
// change the proof unlocks (new recovery codes, the removal of MFA) rides in the same update.
// Never logs or returns a secret or a code.
import type { Filter, UpdateFilter } from 'mongodb'
import { credVersion, NEXT_VERSION, versionIs } from '../credentials.js'
import { now, nowMs } from '../clock.js'
import { collections, type UserDoc } from '../db.js'
import type { Outcome } from '../audit.js'
import { badRequest, type Problem } from '../problem.js'
import { accountKey, clearLoginAttempts, countMfaAttempt, mfaLimitReached } from '../throttle.js'
import { matchStep } from './totp.js'
import { hashRecoveryCode, openSecret } from './secrets.js'
import { normalizeRecoveryCode } from './recovery.js'

/** A second factor as a client sends it: a TOTP `code`, or a `recovery_code` (the schemas admit exactly one). */
export interface Factor {
  code?: string
  recovery_code?: string
}

export type FactorMethod = 'totp' | 'recovery_code'

/** What an operation that may refuse returns: its value or the refusal to throw, and the events either way. */
export type Checked<T> = Outcome & ({ value: T } | { refusal: Problem })

export const methodOf = (factor: Factor): FactorMethod => (factor.code !== undefined ? 'totp' : 'recovery_code')

/** What a proof unlocks, written in the same update: fields to set, or the removal of every factor. */
export type FactorChange = { set?: Record<string, unknown> } | { removeAll: true }

/** The update that removes every factor: a credential change (contract), so every session and mfa_token ends. */
export const removal = (): UpdateFilter<UserDoc> => ({ $unset: { mfa: '' }, $set: { updated_at: now() }, ...NEXT_VERSION })

/**
 * Proves `factor` for `user` (as read by the caller) and applies `change` atomically. Returns the
 * user as written, or undefined when the code is wrong, was already accepted (replay), is older
 * than the last accepted one, or the user changed meanwhile.
 */
export async function consumeFactor(user: UserDoc, factor: Factor, change: FactorChange = {}): Promise<UserDoc | undefined> {
  const totp = user.mfa?.totp
  if (!totp) return undefined
  const id = user._id.toHexString()
  const filter: Record<string, unknown> = { _id: user._id, cred_version: versionIs(credVersion(user)) }
  const set = 'set' in change ? change.set : undefined
  let update: UpdateFilter<UserDoc>
  if (factor.code !== undefined) {
    const step = await matchStep(openSecret(totp.secret, id), factor.code, nowMs(), totp.last_step)
    if (step === undefined) return undefined
    filter['mfa.totp.last_step'] = { $lt: step }
    update = 'removeAll' in change ? removal() : { $set: { 'mfa.totp.last_step': step, ...set } }
  } else if (factor.recovery_code !== undefined) {
    const hash = hashRecoveryCode(normalizeRecoveryCode(factor.recovery_code), id)
    filter['mfa.recovery_codes'] = hash
    update = 'removeAll' in change ? removal() : { $pull: { 'mfa.recovery_codes': hash }, ...(set && { $set: set }) }
  } else {
    return undefined
  }
  const { users } = await collections()
  return (await users.findOneAndUpdate(filter as Filter<UserDoc>, update, { returnDocument: 'after' })) ?? undefined
}

/** 400 naming the field whose code was refused (wrong, replayed or used). */
export const wrongCode = (method: FactorMethod) => {
  const path = method === 'totp' ? 'code' : 'recovery_code'
  return badRequest(`${path}: is not correct`, [{ path, message: 'is not correct' }])
}

/**
 * For a signed-in user (activation, new recovery codes, removal): the attempt is counted against
 * the account before the compare (429 past the limit), a wrong code is audited and refused, a
 * right one clears the count. `check` is the compare-and-write to run.
 */
export async function withCountedAttempt<T>(user: UserDoc, method: FactorMethod, check: () => Promise<T | undefined>): Promise<Checked<T>> {
  const key = accountKey('mfa', user._id)
  const target = { id: user._id.toHexString(), username: user.username }
  const blocked = mfaLimitReached([await countMfaAttempt(key)])
  if (blocked) return { events: [{ event: 'mfa.failed', target, detail: { method, reason: 'throttled' } }], refusal: blocked }
  const value = await check()
  if (value === undefined) return { events: [{ event: 'mfa.failed', target, detail: { method } }], refusal: wrongCode(method) }
  await clearLoginAttempts(key)
  return { value, events: method === 'recovery_code' ? [{ event: 'mfa.recovery_code_used', target }] : [] }
}
