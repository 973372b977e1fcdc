// The second step of a login with MFA: the password step (login.ts) answers 403 `mfa_required`
// with an mfa_token; POST /api/auth/mfa/verify exchanges that token and a code (or a recovery
// code) for the token pair, with amr ["pwd","otp"] and aal2. Wrong codes count per account and
// per mfa_token (5 in 15 minutes, then 429), counted before the compare. Four database round
// trips: the two counts, the account with its counters, the code's conditional update, then the
// session (which also clears the account's count and spends the token).
import { ObjectId } from 'mongodb'
import { credVersion } from '../credentials.js'
import { collections, type CounterDoc, type SessionDoc, type UserDoc } from '../db.js'
import { forbidden, OAUTH, Problem, PROBLEM } from '../problem.js'
import { createSession, type ClientMeta, type TokenPair } from '../sessions.js'
import { accountKey, assertMfaLimits, clearingAttempts, countMfaAttempts, mfaTokenKey } from '../throttle.js'
import type { AnyBulkWriteOperation } from 'mongodb'
import { MFA_METHODS } from '../schemas.js'
import { consumeFactor, methodOf, wrongCode, type Audit, type Factor } from './factors.js'
import { invalidMfaToken, MFA_TOKEN_TTL_SECONDS, signMfaToken, verifyMfaToken } from './token.js'


/** Whether a login of this user needs a second step. */
export const needsSecondFactor = (user: UserDoc): boolean => Boolean(user.mfa?.totp)

/**
 * The answer to a correct password of a user with active TOTP: 403 `mfa_required` with a fresh
 * mfa_token and the methods to answer with, and no token pair (as Auth0's password grant).
 */
export async function mfaRequired(user: UserDoc): Promise<Problem> {
  const token = await signMfaToken(user._id.toHexString(), credVersion(user))
  return new Problem(403, 'Forbidden', {
    type: PROBLEM.mfaRequired,
    detail: 'A second factor is required: send the mfa_token with a code to POST /api/auth/mfa/verify',
    oauthError: OAUTH.mfaRequired,
    extensions: { mfa_token: token, mfa_token_expires_in: MFA_TOKEN_TTL_SECONDS, mfa_methods: MFA_METHODS },
  })
}

/** 403 `mfa_required` for a caller whose role needs aal2 and who has not proven a second factor (MFA_REQUIRED_ROLES). */
export function stepUpRequired(): Problem {
  const base = forbidden('Your role requires a second factor: enroll TOTP (POST /api/auth/mfa/totp), then log in again with it')
  return new Problem(403, base.title, { type: PROBLEM.mfaRequired, detail: base.detail, oauthError: OAUTH.mfaRequired })
}

/** The account an mfa_token names and its two attempt counters, in one aggregate. */
async function readTarget(id: ObjectId, keys: string[]): Promise<{ user?: UserDoc; counters: (CounterDoc & { spent?: boolean })[] }> {
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

/** Exchanges an mfa_token and a second factor for a token pair (aal2). */
export async function verifySecondFactor(
  mfaToken: string,
  factor: Factor,
  meta: ClientMeta,
  audit: Audit,
): Promise<{ pair: TokenPair; actor: { id: string; username: string } }> {
  const claims = await verifyMfaToken(mfaToken)
  const id = new ObjectId(claims.sub)
  const keys = [accountKey('mfa', id), mfaTokenKey(claims.jti)]
  await countMfaAttempts(keys)
  const { user, counters } = await readTarget(id, keys)
  // The token is bound to the credential version its password was checked under: a password
  // change, disabling or MFA removal since then ends it.
  if (!user || user.disabled || credVersion(user) !== claims.cv || !needsSecondFactor(user)) throw invalidMfaToken()
  const actor = { id: claims.sub, username: user.username }
  if (counters.some((c) => c._id === keys[1] && c.spent)) throw invalidMfaToken('The mfa_token was already used; log in again')
  const method = methodOf(factor)
  try {
    assertMfaLimits(counters)
  } catch (err) {
    audit({ event: 'mfa.failed', target: actor, detail: { method, reason: 'throttled' } })
    throw err
  }
  const after = await consumeFactor(user, factor)
  if (!after) {
    audit({ event: 'mfa.failed', target: actor, detail: { method } })
    const refused = wrongCode(method)
    throw new Problem(400, refused.title, { type: PROBLEM.invalidGrant, detail: refused.detail, errors: refused.errors, oauthError: OAUTH.invalidGrant })
  }
  if (method === 'recovery_code') audit({ event: 'mfa.recovery_code_used', target: actor })
  // The session's insert clears the account's count and spends this mfa_token, in one command.
  const spend: AnyBulkWriteOperation<SessionDoc> = { updateOne: { filter: { _id: keys[1] }, update: { $set: { spent: true } as Partial<SessionDoc> } } }
  const pair = await createSession(after, meta, [clearingAttempts(keys[0]!), spend], { amr: ['pwd', 'otp'], aal: 'aal2' })
  audit({ event: 'mfa.verified', target: actor, detail: { method } })
  return { pair, actor }
}
