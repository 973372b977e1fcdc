// The second step of a login with MFA: the password step (login.ts) answers 403 `mfa_required`
// with an mfa_token; POST /api/auth/mfa/verify exchanges that token and a code (or a recovery
// code) for the token pair, with amr ["pwd","otp"] and aal2. Wrong codes count per account and
// per mfa_token (5 in 15 minutes, then 429), counted before the compare. Four database round
// trips: the two counts, the account with its counters, the code's conditional update, then the
// session (which also clears the account's count and spends the token). The token is spent by
// writing a row keyed by its jti ahead of the session, in one ordered command: of two verifies
// racing with one token (and two different good codes), the unique _id lets exactly one through.
import type { AnyBulkWriteOperation, ObjectId } from 'mongodb'
import { credVersion } from '../credentials.js'
import { collections, objectId, type CounterDoc, type SessionDoc, type UserDoc } from '../db.js'
import { invalidGrantField, mfaRequired, type Problem } from '../problem.js'
import { createSession, type ClientMeta, type GrantResult } from '../sessions.js'
import { accountKey, clearingAttempts, countMfaAttempts, mfaLimitReached, mfaTokenKey, spentMfaTokenKey } from '../throttle.js'
import { MFA_METHODS } from '../schemas.js'
import { consumeFactor, methodOf, type Factor } from './factors.js'
import { invalidMfaToken, MFA_TOKEN_TTL_SECONDS, signMfaToken, verifyMfaToken } from './token.js'

const usedMfaToken = () => invalidMfaToken('The mfa_token was already used; log in again')

/** A duplicate key from a single write or from the first write of an ordered bulk write. */
function isDuplicateKey(err: unknown): boolean {
  const { code, writeErrors } = (err ?? {}) as { code?: number; writeErrors?: { code?: number }[] }
  return code === 11000 || (Array.isArray(writeErrors) && writeErrors.some((e) => e.code === 11000))
}

/** Whether a login of this user needs a second step. */
export const needsSecondFactor = (user: UserDoc): boolean => Boolean(user.mfa?.totp)

/**
 * The answer to a correct password of a user with active TOTP: 403 `mfa_required` with a fresh
 * mfa_token and the methods to answer with, and no token pair (as Auth0's password grant).
 */
export async function mfaChallenge(user: UserDoc): Promise<Problem> {
  const token = await signMfaToken(user._id.toHexString(), credVersion(user))
  return mfaRequired('A second factor is required: send the mfa_token with a code to POST /api/auth/mfa/verify', {
    mfa_token: token,
    mfa_token_expires_in: MFA_TOKEN_TTL_SECONDS,
    mfa_methods: MFA_METHODS,
  })
}

/** The account an mfa_token names and its two attempt counters, in one aggregate. */
async function readTarget(id: ObjectId, keys: string[]): Promise<{ user?: UserDoc; counters: CounterDoc[] }> {
  const { users } = await collections()
  const rows = await users
    .aggregate<UserDoc | CounterDoc>([
      { $match: { _id: id } },
      { $unionWith: { coll: 'sessions', pipeline: [{ $match: { _id: { $in: keys } } }] } },
    ])
    .toArray()
  return {
    user: rows.find((r): r is UserDoc => typeof r._id !== 'string'),
    counters: rows.filter((r): r is CounterDoc => typeof r._id === 'string'),
  }
}

/**
 * Exchanges an mfa_token and a second factor for a token pair (aal2). A bad mfa_token is thrown
 * (nothing to audit); a throttled or wrong code is returned as the refusal, with its event.
 */
export async function verifySecondFactor(mfaToken: string, factor: Factor, meta: ClientMeta): Promise<GrantResult> {
  const claims = await verifyMfaToken(mfaToken)
  const id = objectId(claims.sub)
  const keys = [accountKey('mfa', id), mfaTokenKey(claims.jti)]
  await countMfaAttempts(keys)
  const spentKey = spentMfaTokenKey(claims.jti)
  const { user, counters } = await readTarget(id, [...keys, spentKey])
  // The token is bound to the credential version its password was checked under: a password
  // change, disabling or MFA removal since then ends it.
  if (!user || user.disabled || credVersion(user) !== claims.cv || !needsSecondFactor(user)) throw invalidMfaToken()
  const actor = { id: claims.sub, username: user.username }
  if (counters.some((c) => c._id === spentKey)) throw usedMfaToken()
  const method = methodOf(factor)
  const blocked = mfaLimitReached(counters)
  if (blocked) return { actor, events: [{ event: 'mfa.failed', target: actor, detail: { method, reason: 'throttled' } }], refusal: blocked }
  const after = await consumeFactor(user, factor)
  if (!after) {
    const field = method === 'totp' ? 'code' : 'recovery_code'
    return { actor, events: [{ event: 'mfa.failed', target: actor, detail: { method } }], refusal: invalidGrantField(field, 'is not correct') }
  }
  // The token is spent first in the command that starts the session and clears the account's
  // count: an upsert whose filter never matches an existing row, so a second spend is a
  // duplicate _id, which stops the ordered command before the session (an update, not an
  // insert, so that the command stays one round trip).
  const spend: AnyBulkWriteOperation<SessionDoc> = {
    updateOne: {
      filter: { _id: spentKey, expires_at: { $exists: false } },
      update: { $setOnInsert: { count: 1, expires_at: new Date(claims.exp * 1000) } as Partial<SessionDoc> },
      upsert: true,
    },
  }
  let pair
  try {
    pair = await createSession(after, meta, [clearingAttempts(keys[0]!)], { amr: ['pwd', 'otp'], aal: 'aal2' }, spend)
  } catch (err) {
    if (isDuplicateKey(err)) throw usedMfaToken()
    throw err
  }
  const used = method === 'recovery_code' ? [{ event: 'mfa.recovery_code_used' as const, target: actor }] : []
  return { pair, actor, events: [...used, { event: 'mfa.verified', target: actor, detail: { method } }] }
}
