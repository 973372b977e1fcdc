// Users: create, find, list, change and delete, with the rules that hold on every route:
// uniqueness settled by unique indexes, a user changing their own email or password proves
// the current one, the last enabled admin stays (decided under the admins lock, on the user as
// read under it), and changes that alter what a session was granted on (password, role,
// disabling) move the user's credential version and end the affected sessions at once. Never
// returns a password hash to a caller.
import { ObjectId, type Filter } from 'mongodb'
import { credVersion, versionIs } from './credentials.js'
import { collections, type UserDoc } from './db.js'
import { badRequest, conflict, forbidden, notFound, PROBLEM, unauthorized } from './problem.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { passwordProblems } from './password-policy.js'
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
import { withLock } from './lock.js'
import { normalizeUsername, type Role } from './schemas.js'
import { isAdmin } from './auth.js'
import type { AuditEvent, EventName } from './audit.js'
import { assertEmailFree, mailEmailChange, movesEmail, planEmailChange } from './email-verification.js'
import { now as clockNow } from './clock.js'

export interface PublicUserJson {
  id: string
  username: string
  email: string
  role: Role
  disabled: boolean
  email_verified: boolean
  pending_email: string | null
  created_at: string
  updated_at: string
}

/** The only shape of a user that leaves the service (a whitelist: never the hash). */
export function publicUser(u: UserDoc): PublicUserJson {
  return {
    id: u._id.toHexString(),
    username: u.username,
    email: u.email,
    role: u.role,
    disabled: u.disabled,
    // Absent on users stored before verification existed: unverified, nothing pending.
    email_verified: u.email_verified === true,
    pending_email: u.pending_email ?? null,
    created_at: u.created_at.toISOString(),
    updated_at: u.updated_at.toISOString(),
  }
}

async function refusePolicy(password: string, who: { username?: string; email?: string }, path = 'password'): Promise<void> {
  const problems = await passwordProblems(password, who, path)
  if (problems.length > 0) throw badRequest(`${path}: ${problems.map((p) => p.message).join('; ')}`, problems)
}

export interface NewUser {
  username: string
  email: string
  password?: string
  /** An existing bcrypt hash (seed imports); used instead of `password`. */
  passwordHash?: string
  role: Role
  /** Set by admins, the seed and the first admin of `npm run dev`; default false. */
  emailVerified?: boolean
}

/** Inserts a user; 409 when the username or email is taken (the unique index decides). */
export async function createUser(input: NewUser): Promise<UserDoc> {
  const { users } = await collections()
  if (input.password !== undefined) await refusePolicy(input.password, input)
  const hash = input.passwordHash ?? (await hashPassword(input.password ?? ''))
  const doc = newUserDoc({ username: input.username, email: input.email, passwordHash: hash, role: input.role, emailVerified: input.emailVerified })
  await users.insertOne(doc)
  return doc
}

export async function findUserByUsername(username: string): Promise<UserDoc | null> {
  const { users } = await collections()
  return users.findOne({ username: normalizeUsername(username) })
}

/**
 * A login identifier in the one form every spelling of it shares: trimmed, NFKC, lower case
 * (`ｄave`, `𝐝ave`, `DAVE` are all `dave`). Stored usernames and emails are in this form already.
 */
export function normalizeLogin(login: string): string {
  return normalizeUsername(login.trim())
}

/** The user a normalised identifier names: by email when it has an @, else by username. */
export function loginFilter(identity: string): Filter<UserDoc> {
  return identity.includes('@') ? { email: identity } : { username: identity }
}

/** The account a login names, whatever its spelling. */
export async function findUserForLogin(login: string): Promise<UserDoc | null> {
  const { users } = await collections()
  return users.findOne(loginFilter(normalizeLogin(login)))
}

/** The named user, or 404 (callers check permission first, so 404 is only shown to the allowed). */
export async function requireUserNamed(username: string): Promise<UserDoc> {
  const user = await findUserByUsername(username)
  if (!user) throw notFound('No such user')
  return user
}

export interface ListQuery {
  limit: number
  cursor?: string
  role?: Role
  q?: string
}

/** Keyset pages by username (no skip): each page costs the same however deep it is. */
export async function listUsers(query: ListQuery): Promise<{ items: PublicUserJson[]; next_cursor: string | null }> {
  const { users } = await collections()
  const range: Record<string, string> = {}
  if (query.q) {
    const prefix = normalizeUsername(query.q)
    range.$gte = prefix
    range.$lt = prefix + '\u007f'
  }
  if (query.cursor) {
    const after = Buffer.from(query.cursor, 'base64url').toString('utf8')
    if (!/^[a-z0-9._-]{1,32}$/.test(after)) throw badRequest('cursor: is not valid', [{ path: 'cursor', message: 'is not valid' }])
    range.$gt = after
  }
  const filter: Filter<UserDoc> = {}
  if (query.role) filter.role = query.role
  if (Object.keys(range).length > 0) filter.username = range
  const docs = await users
    .find(filter, { projection: { password_hash: 0 } })
    .sort({ username: 1 })
    .limit(query.limit + 1)
    .toArray()
  const page = docs.slice(0, query.limit)
  const last = page[page.length - 1]
  return {
    items: page.map(publicUser),
    next_cursor: docs.length > query.limit && last ? Buffer.from(last.username).toString('base64url') : null,
  }
}

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
  /** Where verification links point; asked only when a user changes their own address (may throw 501). */
  verifyLinkBase: () => string
}

/**
 * Applies a change by `caller` to `target`. Only admins touch role and disabled; a user changing
 * their own email or password proves the current password (ASVS 2.1.5), counted like a login.
 * Returns the user as written and the events to audit, which the caller records.
 */
export async function updateUser(caller: Caller, target: UserDoc, change: UserChange, meta: ChangeMeta): Promise<{ user: UserDoc; events: AuditEvent[] }> {
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
 */
export async function deleteUser(target: UserDoc): Promise<void> {
  const { users } = await collections()
  await withLock('admins', async () => {
    const current = await users.findOne({ _id: target._id })
    if (!current) throw notFound('No such user')
    if (isEnabledAdmin(current)) await assertAnotherAdmin(current._id)
    const { deletedCount } = await users.deleteOne({ _id: current._id })
    if (deletedCount === 0) throw notFound('No such user')
  })
  await endSessions(target._id)
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
async function writeChange(
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
async function proveCurrentPassword(user: UserDoc, given: string | undefined, meta: ChangeMeta): Promise<void> {
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

// --- batch import (scripts/seed-users.ts) ---------------------------------------------------
// The seed script hashes in worker threads and inserts in batches: it needs the document
// createUser stores, from a hash it already has, and an admin's change to an existing user.

/**
 * The document createUser stores, for a password already hashed (batch inserts). An import may
 * keep the `_id` the user had in the system it comes from.
 */
export function newUserDoc(
  input: { username: string; email: string; passwordHash: string; role: Role; id?: ObjectId; emailVerified?: boolean },
  now = clockNow(),
): UserDoc {
  return {
    _id: input.id ?? new ObjectId(),
    username: input.username,
    email: input.email,
    password_hash: input.passwordHash,
    role: input.role,
    disabled: false,
    email_verified: input.emailVerified ?? false,
    created_at: now,
    updated_at: now,
    cred_version: 0,
  }
}

export interface ImportChange {
  email?: string
  role?: Role
  passwordHash?: string
  emailVerified?: boolean
}

/**
 * Applies an import's change to an existing user as an admin would: the last enabled admin
 * keeps the role (409), and a new password or role moves the credential version and ends every
 * session of the user (tokens carry the role; a reset password must lock out whoever held the
 * old one). 11000 when the new email is taken.
 */
export async function applyImportChange(target: UserDoc, change: ImportChange): Promise<UserDoc> {
  const { user, set } = await writeChange(
    target,
    (current) => {
      // As an admin's change: a new email is set at once, unverified unless the import says so.
      const set: Partial<UserDoc> = { updated_at: clockNow(), ...planEmailChange(current, { email: change.email, email_verified: change.emailVerified }, false) }
      if (change.role !== undefined && change.role !== current.role) set.role = change.role
      if (change.passwordHash !== undefined && change.passwordHash !== current.password_hash) set.password_hash = change.passwordHash
      return set
    },
    { touchesAccess: change.role !== undefined },
  )
  if (set.role !== undefined || set.password_hash !== undefined) await endSessions(user._id)
  return user
}
