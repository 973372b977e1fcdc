// The user store: create, find and list users, and the one public shape of a user. Uniqueness is
// settled by unique indexes. Changes to an account are account.ts; the seed's batch import is
// user-import.ts. Never returns a password hash to a caller.
import * as v from 'valibot'
import type { Filter, ObjectId } from 'mongodb'
import type { AuditEvent } from './audit.js'
import { collections, objectId, type UserDoc } from './db.js'
import { badRequest, notFound } from './problem.js'
import { hashPassword } from './passwords.js'
import { passwordProblems } from './password-policy.js'
import { normalizeUsername, type PublicUser, type Role } from './schemas.js'
import { now as clockNow } from './clock.js'

export type PublicUserJson = v.InferOutput<typeof PublicUser>

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
    mfa: { totp: Boolean(u.mfa?.totp) },
  }
}

/** 400 naming `path` when the password policy refuses the password. */
export async function refusePolicy(password: string, who: { username?: string; email?: string }, path = 'password'): Promise<void> {
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

/**
 * Inserts a user; 409 when the username or email is taken (the unique index decides). Returns
 * the user and the event to audit.
 */
export async function createUser(input: NewUser): Promise<{ user: UserDoc; events: AuditEvent[] }> {
  const { users } = await collections()
  if (input.password !== undefined) await refusePolicy(input.password, input)
  const hash = input.passwordHash ?? (await hashPassword(input.password ?? ''))
  const user = newUserDoc({ username: input.username, email: input.email, passwordHash: hash, role: input.role, emailVerified: input.emailVerified })
  await users.insertOne(user)
  return { user, events: [{ event: 'user.created', target: { id: user._id.toHexString(), username: user.username }, detail: { role: user.role } }] }
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
    .find(filter, { projection: { password_hash: 0, 'mfa.totp.secret': 0, 'mfa.pending_totp': 0, 'mfa.recovery_codes': 0 } })
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

/**
 * The document createUser stores, for a password already hashed (batch inserts). An import may
 * keep the `_id` the user had in the system it comes from.
 */
export function newUserDoc(
  input: { username: string; email: string; passwordHash: string; role: Role; id?: ObjectId; emailVerified?: boolean },
  now = clockNow(),
): UserDoc {
  return {
    _id: input.id ?? objectId(),
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
