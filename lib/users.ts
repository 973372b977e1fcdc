// Users: create, find, list, change and delete, with the rules that hold on every route:
// uniqueness settled by unique indexes, a user changing their own email or password proves
// the current one, the last enabled admin stays, and changes that alter what a token may do
// end the affected sessions at once. Never returns a password hash to a caller.
import { ObjectId, type Filter } from 'mongodb'
import { collections, type UserDoc } from './db.js'
import { badRequest, conflict, forbidden, notFound, PROBLEM } from './problem.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { passwordProblems } from './password-policy.js'
import { endSessions, type Caller } from './sessions.js'
import { checkThrottle, recordFailure } from './throttle.js'
import { withLock } from './lock.js'
import { normalizeUsername, type Role } from './schemas.js'
import { isAdmin } from './auth.js'
import { recordEvent } from './http.js'

export interface PublicUserJson {
  id: string
  username: string
  email: string
  role: Role
  disabled: boolean
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
}

/** Inserts a user; 409 when the username or email is taken (the unique index decides). */
export async function createUser(input: NewUser): Promise<UserDoc> {
  const { users } = await collections()
  if (input.password !== undefined) await refusePolicy(input.password, input)
  const hash = input.passwordHash ?? (await hashPassword(input.password ?? ''))
  const doc = newUserDoc({ username: input.username, email: input.email, passwordHash: hash, role: input.role })
  await users.insertOne(doc)
  return doc
}

export async function findUserByUsername(username: string): Promise<UserDoc | null> {
  const { users } = await collections()
  return users.findOne({ username: normalizeUsername(username) })
}

/** The account a login names: its username, or its email when the name has an @. */
export async function findUserForLogin(login: string): Promise<UserDoc | null> {
  const { users } = await collections()
  return login.includes('@') ? users.findOne({ email: login.toLowerCase() }) : users.findOne({ username: normalizeUsername(login) })
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
}

export interface ChangeMeta {
  ip: string
}

/**
 * Applies a change by `caller` to `target`. Only admins touch role and disabled; a user changing
 * their own email or password proves the current password (ASVS 2.1.5), counted like a login.
 */
export async function updateUser(caller: Caller, target: UserDoc, change: UserChange, meta: ChangeMeta): Promise<UserDoc> {
  const self = caller.user._id.equals(target._id)
  if (!isAdmin(caller) && (change.role !== undefined || change.disabled !== undefined)) {
    throw forbidden('Only an admin may change role or disabled')
  }
  const emailChanges = change.email !== undefined && change.email !== target.email
  if (self && (emailChanges || change.password !== undefined)) await proveCurrentPassword(target, change.current_password, meta)
  if (change.password !== undefined) await refusePolicy(change.password, { username: target.username, email: change.email ?? target.email })

  const set: Partial<UserDoc> = { updated_at: new Date() }
  const events: string[] = []
  if (emailChanges) {
    set.email = change.email
    events.push('user.email_changed')
  }
  if (change.password !== undefined) {
    set.password_hash = await hashPassword(change.password)
    events.push('password.changed')
  }
  if (change.role !== undefined && change.role !== target.role) {
    set.role = change.role
    events.push('role.changed')
  }
  if (change.disabled !== undefined && change.disabled !== target.disabled) {
    set.disabled = change.disabled
    events.push(change.disabled ? 'user.disabled' : 'user.enabled')
  }

  const user = await writeChange(target, set)

  // Tokens carry the role; a disabled user must be out at once; a new password ends the other
  // sessions (all of them when an admin set it).
  if (set.role !== undefined || set.disabled === true) await endSessions(target._id)
  else if (set.password_hash !== undefined) await endSessions(target._id, self ? caller.sid : undefined)
  for (const event of events) recordEvent(event, { target: { id: user._id.toHexString(), username: user.username } })
  return user
}

/** Deletes a user and ends every session of theirs; the last enabled admin stays (409). */
export async function deleteUser(target: UserDoc): Promise<void> {
  const { users } = await collections()
  const remove = async () => {
    const { deletedCount } = await users.deleteOne({ _id: target._id })
    if (deletedCount === 0) throw notFound('No such user')
  }
  if (target.role === 'admin' && !target.disabled) await withLock('admins', async () => (await assertAnotherAdmin(target._id), remove()))
  else await remove()
  await endSessions(target._id)
}

/** Writes a change; one that takes the admin role from an enabled admin holds the admins lock. */
async function writeChange(target: UserDoc, set: Partial<UserDoc>): Promise<UserDoc> {
  const apply = async () => {
    const { users } = await collections()
    const updated = await users.findOneAndUpdate({ _id: target._id }, { $set: set }, { returnDocument: 'after' })
    if (!updated) throw notFound('No such user')
    return updated
  }
  const losesAdmin = target.role === 'admin' && !target.disabled && (set.role === 'user' || set.disabled === true)
  return losesAdmin ? withLock('admins', async () => (await assertAnotherAdmin(target._id), apply())) : apply()
}

async function assertAnotherAdmin(except: ObjectId): Promise<void> {
  const { users } = await collections()
  const others = await users.countDocuments({ role: 'admin', disabled: false, _id: { $ne: except } }, { limit: 1 })
  if (others === 0) throw conflict('The last enabled admin cannot be deleted, demoted or disabled', PROBLEM.lastAdmin)
}

async function proveCurrentPassword(user: UserDoc, given: string | undefined, meta: ChangeMeta): Promise<void> {
  if (given === undefined) {
    throw badRequest('current_password: is required to change your email or password', [
      { path: 'current_password', message: 'is required to change your email or password' },
    ])
  }
  const keys = { username: user.username, ip: meta.ip }
  await checkThrottle(keys)
  if (!(await verifyPassword(given, user.password_hash))) {
    await recordFailure(keys)
    throw badRequest('current_password: is not correct', [{ path: 'current_password', message: 'is not correct' }])
  }
}

// --- batch import (scripts/seed-users.ts) ---------------------------------------------------
// The seed script hashes in worker threads and inserts in batches: it needs the document
// createUser stores, from a hash it already has, and an admin's change to an existing user.

/**
 * The document createUser stores, for a password already hashed (batch inserts). An import may
 * keep the `_id` the user had in the system it comes from.
 */
export function newUserDoc(input: { username: string; email: string; passwordHash: string; role: Role; id?: ObjectId }, now = new Date()): UserDoc {
  return {
    _id: input.id ?? new ObjectId(),
    username: input.username,
    email: input.email,
    password_hash: input.passwordHash,
    role: input.role,
    disabled: false,
    created_at: now,
    updated_at: now,
  }
}

export interface ImportChange {
  email?: string
  role?: Role
  passwordHash?: string
}

/**
 * Applies an import's change to an existing user as an admin would: the last enabled admin
 * keeps the role (409), and a new password or role ends every session of the user (tokens
 * carry the role; a reset password must lock out whoever held the old one). 11000 when the
 * new email is taken.
 */
export async function applyImportChange(target: UserDoc, change: ImportChange): Promise<UserDoc> {
  const set: Partial<UserDoc> = { updated_at: new Date() }
  if (change.email !== undefined && change.email !== target.email) set.email = change.email
  if (change.role !== undefined && change.role !== target.role) set.role = change.role
  if (change.passwordHash !== undefined && change.passwordHash !== target.password_hash) set.password_hash = change.passwordHash
  const user = await writeChange(target, set)
  if (set.role !== undefined || set.password_hash !== undefined) await endSessions(target._id)
  return user
}
