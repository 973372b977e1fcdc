// The password grant: find the account and its address's failures, count the attempt, compare,
// start a session. Unknown users and wrong passwords get the same answer after the same work (a
// dummy bcrypt compare, the same counters); a disabled account is told so only after a correct
// password. Three database round trips: the account with the address's failures (one read), the
// attempt's count, then the session (with the count cleared) or the address's failure. A correct
// password under an old hash (a lower bcrypt cost, or argon2 from an import) is hashed anew in
// the same request.
import type { ObjectId } from 'mongodb'
import { collections, type CounterDoc, type UserDoc } from './db.js'
import { describeError, log } from './log.js'
import { getConfig } from './config.js'
import { badCredentials, emailNotVerified, forbidden } from './problem.js'
import { canRehashToBcrypt, hashPassword, hashScheme, needsRehash, verifyPassword } from './passwords.js'
import { createSession, type ClientMeta, type GrantResult } from './sessions.js'
import {
  accountKey,
  addressKey,
  clearingAttempts,
  clearLoginAttempts,
  countLoginAttempt,
  identifierKey,
  isAddressBlocked,
  isLoginBlocked,
  recordAddressFailure,
  tooMany,
} from './throttle.js'
import { loginFilter, normalizeLogin } from './users.js'
import type { AuditEvent } from './audit.js'
import { mfaChallenge, needsSecondFactor } from './mfa/verify.js'

const THROTTLED = 'Too many failed attempts; try again later'

export async function passwordGrant(login: string, password: string, meta: ClientMeta): Promise<GrantResult> {
  const identity = normalizeLogin(login)
  const { user, addressFailures } = await findLoginTarget(identity, meta.ip)
  // The audit trail names the account whatever spelling was used; an unknown name as given.
  const target = user ? { id: user._id.toHexString(), username: user.username } : { username: identity }
  if (isAddressBlocked(addressFailures)) {
    return { events: [{ event: 'login.throttled', target }], refusal: tooMany([addressFailures], THROTTLED) }
  }
  // Counted before the compare, atomically: of a parallel burst only the first five compare.
  const key = user ? accountKey('login', user._id) : identifierKey('login', identity)
  const attempt = await countLoginAttempt(key)
  if (isLoginBlocked(attempt)) return { events: [{ event: 'login.throttled', target }], refusal: tooMany([attempt], THROTTLED) }
  const ok = await verifyPassword(password, user?.password_hash)
  if (!user || !ok) {
    await recordAddressFailure(meta.ip)
    return { events: [{ event: 'login.failure', target }], refusal: badCredentials() }
  }
  // The password proved who is acting, disabled or not.
  const actor = { id: user._id.toHexString(), username: user.username }
  if (user.disabled) return { actor, events: [{ event: 'login.disabled' }], refusal: forbidden('This account is disabled') }
  // REQUIRE_VERIFIED_EMAIL: told only after a correct password, like a disabled account.
  if (getConfig().requireVerifiedEmail && user.email_verified !== true) return { actor, events: [], refusal: emailNotVerified() }
  // MFA (lib/mfa/verify.ts): the password is proven, so its count ends, but the answer is an
  // mfa_token for POST /api/auth/mfa/verify, not a token pair.
  if (needsSecondFactor(user)) {
    const [refusal] = await Promise.all([mfaChallenge(user), clearLoginAttempts(key)])
    return { actor, events: [{ event: 'login.mfa_required' }], refusal }
  }
  // The session carries the credential version read with the hash just compared.
  const rehash = needsRehash(user.password_hash) && canRehashToBcrypt(password) ? upgradeHash(user._id, user.password_hash, password) : undefined
  const [pair, rehashed] = await Promise.all([createSession(user, meta, [clearingAttempts(key)]), rehash])
  return { pair, actor, events: [...(rehashed ? [rehashed] : []), { event: 'login.success' }] }
}

/**
 * The account a login names and its address's failed logins, in one aggregate: the user by
 * username, or by email when the identifier has an @, and the address's counter beside it.
 */
async function findLoginTarget(identity: string, ip: string): Promise<{ user?: UserDoc; addressFailures?: CounterDoc }> {
  const { users } = await collections()
  const rows = await users
    .aggregate<UserDoc | CounterDoc>([
      { $match: loginFilter(identity) },
      { $limit: 1 },
      { $unionWith: { coll: 'counters', pipeline: [{ $match: { _id: addressKey('login', ip) } }] } },
    ])
    .toArray()
  return {
    user: rows.find((r): r is UserDoc => typeof r._id !== 'string'),
    addressFailures: rows.find((r): r is CounterDoc => typeof r._id === 'string'),
  }
}

/**
 * Replaces the hash this login verified with a bcrypt hash at BCRYPT_COST, now that the password
 * is known. The same password under a new hash is no credential change: sessions and the
 * credential version stay as they are. The write is conditional on the stored hash still being
 * the verified one, so a password change (or another login's upgrade) that landed meanwhile is
 * never overwritten with the old password; whichever upgrade lands first is the one audited.
 * A failed upgrade does not fail the login: the next one tries again. Returns the event to audit.
 */
async function upgradeHash(id: ObjectId, verifiedHash: string, password: string): Promise<AuditEvent | undefined> {
  try {
    const { users } = await collections()
    const hash = await hashPassword(password)
    const { modifiedCount } = await users.updateOne({ _id: id, password_hash: verifiedHash }, { $set: { password_hash: hash } })
    if (modifiedCount === 1) return { event: 'password.rehashed', detail: { from: hashScheme(verifiedHash), to: 'bcrypt' } }
  } catch (err) {
    log('warn', 'password.rehash_failed', describeError(err))
  }
  return undefined
}
