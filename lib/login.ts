// The password grant: throttle, find the account, compare, start a session. Unknown users and
// wrong passwords get the same answer after the same work (a dummy bcrypt compare); a disabled
// account is told so only after a correct password. A correct password under an old hash (a
// lower bcrypt cost, or argon2 from an import) is hashed anew in the same request.
import type { ObjectId } from 'mongodb'
import { collections } from './db.js'
import { describeError, log } from './log.js'
import { forbidden, OAUTH, Problem, PROBLEM } from './problem.js'
import { canRehashToBcrypt, hashPassword, hashScheme, needsRehash, verifyPassword } from './passwords.js'
import { createSession, type ClientMeta, type TokenPair } from './sessions.js'
import { checkThrottle, clearFailures, recordFailure } from './throttle.js'
import { findUserForLogin } from './users.js'
import { setCaller, recordEvent } from './http.js'

// One body for every credential failure, so a client cannot tell which part was wrong.
const badCredentials = () =>
  new Problem(401, 'Unauthorized', {
    type: PROBLEM.invalidGrant,
    detail: 'Incorrect username or password',
    oauthError: OAUTH.invalidGrant,
    headers: { 'WWW-Authenticate': 'Bearer' },
  })

export async function passwordGrant(login: string, password: string, meta: ClientMeta): Promise<TokenPair> {
  const throttleKey = { username: login.toLowerCase(), ip: meta.ip }
  const [state, user] = await Promise.all([
    checkThrottle(throttleKey).catch((err: unknown) => {
      recordEvent('login.throttled', { target: { username: throttleKey.username } })
      throw err
    }),
    findUserForLogin(login),
  ])
  const ok = await verifyPassword(password, user?.password_hash)
  if (!user || !ok) {
    await recordFailure(throttleKey)
    recordEvent('login.failure', { target: { username: throttleKey.username } })
    throw badCredentials()
  }
  setCaller(user._id.toHexString(), user.username)
  if (user.disabled) {
    recordEvent('login.disabled')
    throw forbidden('This account is disabled')
  }
  const pending: Promise<unknown>[] = [createSession(user, meta)]
  if (state.userHasFailures) pending.push(clearFailures(throttleKey))
  if (needsRehash(user.password_hash) && canRehashToBcrypt(password)) pending.push(upgradeHash(user._id, user.password_hash, password))
  const [pair] = (await Promise.all(pending)) as [TokenPair]
  recordEvent('login.success')
  return pair
}

/**
 * Replaces the hash this login verified with a bcrypt hash at BCRYPT_COST, now that the password
 * is known. The same password under a new hash is no credential change: sessions and the
 * credential version stay as they are. The write is conditional on the stored hash still being
 * the verified one, so a password change (or another login's upgrade) that landed meanwhile is
 * never overwritten with the old password; whichever upgrade lands first is the one audited.
 * A failed upgrade does not fail the login: the next one tries again.
 */
async function upgradeHash(id: ObjectId, verifiedHash: string, password: string): Promise<void> {
  try {
    const { users } = await collections()
    const hash = await hashPassword(password)
    const { modifiedCount } = await users.updateOne({ _id: id, password_hash: verifiedHash }, { $set: { password_hash: hash } })
    if (modifiedCount === 1) recordEvent('password.rehashed', { detail: { from: hashScheme(verifiedHash), to: 'bcrypt' } })
  } catch (err) {
    log('warn', 'password.rehash_failed', describeError(err))
  }
}
