// Changes to an account, with the rules that hold on every route: a user changing their own
// email or password proves the current one (counted like a login), only admins touch role and
// disabled, the last enabled admin stays (decided under the admins lock, on the user as read
// under it), and changes that alter what a session was granted on (password, role, disabling)
// move the user's credential version and end the affected sessions at once.
import type { Filter, ObjectId } from 'mongodb'
import type { AuditEvent, EventName } from './audit.js'
import { isAdmin } from './auth.js'
import { now as clockNow } from './clock.js'
import { credVersion, versionIs } from './credentials.js'
import { collections, type UserDoc } from './db.js'
import { withLock } from './lock.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { badRequest, conflict, forbidden, notFound, PROBLEM, unauthorized } from './problem.js'
import type { Role } from './schemas.js'
import { endSessions, keepOnlySession, type Caller } from './sessions.js'
import {
  accountKey,
  clearLoginAttempts,
  countLoginAttempt,
  isAddressBlocked,
  isLoginBlocked,
  readAddressFailures,
  recordAddressFailure,
  tooMany,
} from './throttle.js'
import { refusePolicy } from './users.js'
import { assertEmailFree, mailEmailChange, movesEmail, planEmailChange } from './email-verification.js'

export interface UserChange {
  email?: string
  password?: string
  current_password?: string
  role?: Role
  disabled?: boolean
  email_verified?: boolean
}

export interface ChangeMeta {
  ip: string
}

export interface UserChangeMeta extends ChangeMeta {
  /** Where verification links point; asked only when a user changes their own address (may throw 501). */
  verifyLinkBase: () => string
}

/**
 * Applies a change by `caller` to `target`. Only admins touch role and disabled; a user changing
 * their own email or password proves the current password (ASVS 2.1.5), counted like a login.
 * Returns the user as written and the events to audit, which the caller records.
 */
export async function updateUser(caller: Caller, target: UserDoc, change: UserChange, meta: UserChangeMeta): Promise<{ user: UserDoc; events: AuditEvent[] }> {
  const self = caller.user._id.equals(target._id)
  if (!isAdmin(caller) && (change.role !== undefined || change.disabled !== undefined || change.email_verified !== undefined)) {
    throw forbidden('Only an admin may change role, disabled or email_verified')
  }
  const newOwnEmail = self && change.email !== undefined && change.email !== target.email
  const linkBase = newOwnEmail ? meta.verifyLinkBase() : undefined
  const proves = newOwnEmail || (self && change.password !== undefined)
  if (proves) await proveCurrentPassword(target, change.current_password, meta)
  if (newOwnEmail) await assertEmailFree(change.email!)
  if (change.password !== undefined) await refusePolicy(change.password, { username: target.username, email: change.email ?? target.email })
  const passwordHash = change.password === undefined ? undefined : await hashPassword(change.password)

  const { user, set, before } = await writeChange(
    target,
    (current) => {
      // A user's own new address waits for its link (email-verification.ts); an admin's is set.
      const set: Partial<UserDoc> = { updated_at: clockNow(), ...planEmailChange(current, change, self) }
      if (passwordHash !== undefined) set.password_hash = passwordHash
      if (change.role !== undefined && change.role !== current.role) set.role = change.role
      if (change.disabled !== undefined && change.disabled !== current.disabled) set.disabled = change.disabled
      return set
    },
    // The password proven above must still be the current one when the change is written.
    { touchesAccess: change.role !== undefined || change.disabled !== undefined, expectVersion: proves ? credVersion(target) : undefined },
  )

  // Tokens carry the role and a disabled user must be out at once: every session ends. A new
  // password ends every other session; the one a user changed their own password from moves to
  // the new version with it (contract), all of them when an admin set it.
  if (set.role !== undefined || set.disabled === true) await endSessions(user._id)
  else if (set.password_hash !== undefined && self) await keepOnlySession(user._id, caller.sid, credVersion(before), credVersion(user))
  else if (set.password_hash !== undefined) await endSessions(user._id)

  const names: EventName[] = []
  if (set.email !== undefined) names.push('user.email_changed')
  if (set.email_verified === true) names.push('email.verified')
  if (set.password_hash !== undefined) names.push('password.changed')
  if (set.role !== undefined) names.push('role.changed')
  if (set.disabled !== undefined) names.push(set.disabled ? 'user.disabled' : 'user.enabled')
  const acted = { id: user._id.toHexString(), username: user.username }
  const mailed = set.pending_email && linkBase ? await mailEmailChange(user, linkBase) : []
  return { user, events: [...names.map((event) => ({ event, target: acted })), ...mailed] }
}

/**
 * Deletes a user and ends every session of theirs; the last enabled admin stays (409). Under the
 * admins lock, on the user as read under it: a user read as plain before may be an admin now.
 * Returns the event to audit.
 */
export async function deleteUser(target: UserDoc): Promise<AuditEvent[]> {
  const { users } = await collections()
  await withLock('admins', async () => {
    const current = await users.findOne({ _id: target._id })
    if (!current) throw notFound('No such user')
    if (isEnabledAdmin(current)) await assertAnotherAdmin(current._id)
    const { deletedCount } = await users.deleteOne({ _id: current._id })
    if (deletedCount === 0) throw notFound('No such user')
  })
  await endSessions(target._id)
  return [{ event: 'user.deleted', target: { id: target._id.toHexString(), username: target.username } }]
}

const isEnabledAdmin = (u: UserDoc) => u.role === 'admin' && !u.disabled

interface WriteOptions {
  /** The change may set role or disabled: it runs under the admins lock, on the user read there. */
  touchesAccess: boolean
  /** Write only if the user is still on this credential version (a proven password still current). */
  expectVersion?: number
}

/**
 * Writes the fields `plan` derives from the user as it is. A change that may take the admin role
 * from an enabled admin is decided under the admins lock on the user and the admin count read
 * after acquiring it, never on a read made before (contract: three interleaved requests could
 * otherwise leave no admin). A new password, a role change or disabling moves the credential
 * version in the same update.
 */
export async function writeChange(
  target: UserDoc,
  plan: (current: UserDoc) => Partial<UserDoc>,
  options: WriteOptions,
): Promise<{ user: UserDoc; set: Partial<UserDoc>; before: UserDoc }> {
  const apply = async () => {
    const { users } = await collections()
    const current = options.touchesAccess ? await users.findOne({ _id: target._id }) : target
    if (!current) throw notFound('No such user')
    const set = plan(current)
    if (isEnabledAdmin(current) && (set.role === 'user' || set.disabled === true)) await assertAnotherAdmin(current._id)
    const moves = set.password_hash !== undefined || set.role !== undefined || set.disabled === true
    const filter: Filter<UserDoc> = { _id: current._id }
    if (options.expectVersion !== undefined) filter.cred_version = versionIs(options.expectVersion)
    // A new address (or pending one) moves the email version: verification links issued before die.
    const inc = { ...(moves && { cred_version: 1 }), ...(movesEmail(set) && { email_version: 1 }) }
    const update = Object.keys(inc).length > 0 ? { $set: set, $inc: inc } : { $set: set }
    const user = await users.findOneAndUpdate(filter, update, { returnDocument: 'after' })
    if (user) return { user, set, before: current }
    // The password proven for this request was changed meanwhile: the session it came from has ended.
    if (options.expectVersion !== undefined) throw unauthorized('The session has ended')
    throw notFound('No such user')
  }
  return options.touchesAccess ? withLock('admins', apply) : apply()
}

async function assertAnotherAdmin(except: ObjectId): Promise<void> {
  const { users } = await collections()
  const others = await users.countDocuments({ role: 'admin', disabled: false, _id: { $ne: except } }, { limit: 1 })
  if (others === 0) throw conflict('The last enabled admin cannot be deleted, demoted or disabled', PROBLEM.lastAdmin)
}

/**
 * Checks a current_password like a login: the attempt counted against the account before the
 * compare, a wrong one against the address too, a right one clearing the account's count.
 */
export async function proveCurrentPassword(user: UserDoc, given: string | undefined, meta: ChangeMeta): Promise<void> {
  if (given === undefined) {
    throw badRequest('current_password: is required to change your email or password', [
      { path: 'current_password', message: 'is required to change your email or password' },
    ])
  }
  const key = accountKey('login', user._id)
  const addressFailures = await readAddressFailures(meta.ip)
  if (isAddressBlocked(addressFailures)) throw tooMany([addressFailures], 'Too many failed attempts; try again later')
  const attempt = await countLoginAttempt(key)
  if (isLoginBlocked(attempt)) throw tooMany([attempt], 'Too many failed attempts; try again later')
  if (!(await verifyPassword(given, user.password_hash))) {
    await recordAddressFailure(meta.ip)
    throw badRequest('current_password: is not correct', [{ path: 'current_password', message: 'is not correct' }])
  }
  await clearLoginAttempts(key)
}
