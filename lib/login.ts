// The password grant: throttle, find the account, compare, start a session. Unknown users and
// wrong passwords get the same answer after the same work (a dummy bcrypt compare); a disabled
// account is told so only after a correct password.
import { collections } from './db.js'
import { forbidden, OAUTH, Problem, PROBLEM } from './problem.js'
import { hashPassword, needsRehash, verifyPassword } from './passwords.js'
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
  if (needsRehash(user.password_hash)) pending.push(upgradeHash(user._id, password))
  const [pair] = (await Promise.all(pending)) as [TokenPair]
  recordEvent('login.success')
  return pair
}

/** A hash made at a lower cost is replaced now that the password is known to be right. */
async function upgradeHash(id: import('mongodb').ObjectId, password: string): Promise<void> {
  const { users } = await collections()
  const hash = await hashPassword(password)
  await users.updateOne({ _id: id }, { $set: { password_hash: hash } })
}
