// One seed run: rows found before hashing (a repeated import costs no bcrypt work), hashed in
// lib/passwords' worker pool, inserted in batches or applied as an admin's change, each row's
// outcome (created, updated, skipped, failed) counted.
import { MongoBulkWriteError, MongoNetworkError, MongoServerSelectionError, ObjectId, type Collection, type WriteError } from 'mongodb'
import type { UserDoc } from '../../lib/db.js'
import { createUser, newUserDoc } from '../../lib/users.js'
import { applyImportChange } from '../../lib/user-import.js'
import { hashPassword, verifyPassword } from '../../lib/passwords.js'
import { Problem } from '../../lib/problem.js'
import type { ValidRow } from './input.js'
import { redactSecrets } from '../mongo-uri.js'
import type { Options } from './options.js'
import type { Progress } from './summary.js'

export interface Outcome {
  line: number
  /** The row's `_id`, when it had one. */
  id?: string
  username?: string
  reason: string
}

export interface Run {
  options: Options
  cost: number
  /** One user from flags: created through createUser, as the API would. */
  single: boolean
  users?: Collection<UserDoc>
  created: number
  updated: number
  skipped: Outcome[]
  failed: Outcome[]
  notProcessed: number
  stopping: boolean
  interrupted: boolean
  /** A lost connection stops scheduling: every later batch would only time out. */
  fatal?: string
  progress: Progress
  uri: string
  /** The source database's connection string (--from-uri), scrubbed from messages like uri. */
  fromUri?: string
}

const errorCode = (err: unknown) => (err as { code?: unknown }).code

const isConnectionError = (err: unknown) => err instanceof MongoNetworkError || err instanceof MongoServerSelectionError

function dbReason(run: Run, err: unknown): string {
  if (err instanceof Problem) return err.detail ?? err.title
  const message = err instanceof Error ? err.message : String(err)
  return redactSecrets(`database error: ${message}`, run.uri, run.fromUri)
}

/** Which unique index refused a write: the driver reports the key pattern, or the index name. */
function duplicateReason(err: { keyPattern?: Record<string, unknown>; errmsg?: string; message?: string }): string {
  const text = err.errmsg ?? err.message ?? ''
  if (err.keyPattern?.email !== undefined || /index: email|dup key: \{ ?email:/.test(text)) return 'email exists'
  // A kept _id (an import) that is already taken: the same user written by another run.
  if (err.keyPattern?._id !== undefined || /index: _id_|dup key: \{ ?_id:/.test(text)) return '_id exists'
  return 'username exists'
}

/** An outcome for a row, naming its _id when it has one. */
function outcome(row: ValidRow, reason: string): Outcome {
  return row.id === undefined ? { line: row.line, username: row.username, reason } : { line: row.line, id: row.id, username: row.username, reason }
}

// The progress bar advances once per row: when its outcome is known, or for a new user when
// its hash is done (the insert that follows is quick), so `advanced` rows are not counted twice.
export function skip(run: Run, row: ValidRow, reason: string, advanced = false): void {
  run.skipped.push(outcome(row, reason))
  if (!advanced) run.progress.tick()
}

export function fail(run: Run, row: ValidRow, reason: string, advanced = false): void {
  run.failed.push(outcome(row, reason))
  if (!advanced) run.progress.tick()
}

function noteError(run: Run, err: unknown): void {
  if (isConnectionError(err) && !run.fatal) {
    run.fatal = dbReason(run, err)
    run.stopping = true
  }
}

/**
 * Existing users that share a username or email with the batch. Two `$in` queries rather than
 * one `$or`: each is a plain lookup on its unique index, also on the embedded database, whose
 * `$or` would scan the collection (quadratic over a large import).
 */
async function findExisting(run: Run, rows: ValidRow[]): Promise<{ byName: Map<string, UserDoc>; byEmail: Map<string, UserDoc> }> {
  const [named, mailed] = await Promise.all([
    run.users!.find({ username: { $in: rows.map((r) => r.username) } }).toArray(),
    run.users!.find({ email: { $in: rows.map((r) => r.email) } }).toArray(),
  ])
  return { byName: new Map(named.map((d) => [d.username, d])), byEmail: new Map(mailed.map((d) => [d.email, d])) }
}

/**
 * One batch: look the rows up, skip (or update) those that exist, hash and insert the rest.
 * Rows already present are found before hashing, so a repeated import costs no bcrypt work;
 * the unique indexes still settle races with another writer (11000 = skipped).
 */
async function processBatch(run: Run, rows: ValidRow[]): Promise<void> {
  // A dry run without a database: nothing to compare with, every valid row would be created.
  if (!run.users) return createRows(run, rows)
  let existing
  try {
    existing = await findExisting(run, rows)
  } catch (err) {
    noteError(run, err)
    for (const row of rows) fail(run, row, dbReason(run, err))
    return
  }
  const creates: ValidRow[] = []
  const updates: { row: ValidRow; target: UserDoc }[] = []
  for (const row of rows) {
    const byName = existing.byName.get(row.username)
    const byEmail = existing.byEmail.get(row.email)
    if (!byName && !byEmail) creates.push(row)
    else if (!run.options.upsert) skip(run, row, byName && byEmail ? 'username and email exist' : byName ? 'username exists' : 'email exists')
    else if (byName && (!byEmail || byEmail._id.equals(byName._id))) updates.push({ row, target: byName })
    // --upsert matches by username; taking another user's email would break its uniqueness.
    else fail(run, row, byName ? 'email belongs to another user' : 'email belongs to another user (--upsert matches by username)')
  }
  await Promise.all([createRows(run, creates), ...updates.map((u) => updateRow(run, u.row, u.target))])
}

async function createRows(run: Run, rows: ValidRow[]): Promise<void> {
  if (rows.length === 0) return
  if (run.options.dryRun) {
    run.created += rows.length
    for (const _ of rows) run.progress.tick()
    return
  }
  if (run.single) return createOne(run, rows[0]!)

  // Hash the whole batch across the pool; a row whose hash fails fails alone.
  const now = new Date()
  const hashed = await Promise.allSettled(
    rows.map(async (r) => {
      try {
        return r.passwordHash ?? (await hashPassword(r.password!, run.cost))
      } finally {
        run.progress.tick()
      }
    }),
  )
  const docs: UserDoc[] = []
  const docRows: ValidRow[] = []
  hashed.forEach((h, i) => {
    const row = rows[i]!
    if (h.status === 'rejected') return fail(run, row, `hashing failed: ${(h.reason as Error).message}`, true)
    const id = row.keepId && row.id !== undefined ? ObjectId.createFromHexString(row.id) : undefined
    docs.push(newUserDoc({ username: row.username, email: row.email, passwordHash: h.value, role: row.role, id, emailVerified: row.emailVerified }, now))
    docRows.push(row)
  })
  if (docs.length === 0) return
  try {
    // Unordered: one refused document does not stop the others; each insert is atomic.
    await run.users!.insertMany(docs, { ordered: false })
    run.created += docs.length
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) {
      noteError(run, err)
      // Unknown how many were written: a later run skips those that were.
      for (const row of docRows) fail(run, row, `${dbReason(run, err)} (run again to retry; written users are skipped)`, true)
      return
    }
    const refused = new Map<number, WriteError>()
    for (const we of Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) refused.set(we.index, we)
    docRows.forEach((row, i) => {
      const we = refused.get(i)
      if (!we) run.created++
      else if (we.code === 11000) skip(run, row, duplicateReason({ ...(we.err as { keyPattern?: Record<string, unknown> }), errmsg: we.errmsg }), true)
      else fail(run, row, redactSecrets(`write refused (${String(we.code)}): ${we.errmsg ?? ''}`, run.uri, run.fromUri), true)
    })
  }
}

/** The user from flags goes through createUser, the API's own path (it hashes at BCRYPT_COST). */
async function createOne(run: Run, row: ValidRow): Promise<void> {
  try {
    await createUser({ username: row.username, email: row.email, role: row.role, password: row.password, passwordHash: row.passwordHash, emailVerified: row.emailVerified })
    run.created++
    run.progress.tick()
  } catch (err) {
    if (errorCode(err) === 11000) return skip(run, row, duplicateReason(err as { keyPattern?: Record<string, unknown>; message?: string }))
    noteError(run, err)
    fail(run, row, dbReason(run, err))
  }
}

async function updateRow(run: Run, row: ValidRow, target: UserDoc): Promise<void> {
  try {
    // A password equal to the current one is no change: the user keeps their sessions.
    let passwordHash: string | undefined
    // The stored hash may be an imported argon2 one (a user who has not logged in since): the
    // service's own verifier takes both kinds.
    if (row.passwordHash !== undefined) passwordHash = row.passwordHash
    else if (!(await verifyPassword(row.password!, target.password_hash))) {
      passwordHash = run.options.dryRun ? 'changed' : await hashPassword(row.password!, run.cost)
    }
    const changes =
      row.email !== target.email ||
      row.role !== target.role ||
      (passwordHash !== undefined && passwordHash !== target.password_hash) ||
      (row.emailVerified !== undefined && row.emailVerified !== (target.email_verified === true))
    if (!changes) return skip(run, row, 'up to date')
    if (!run.options.dryRun) await applyImportChange(target, { email: row.email, role: row.role, passwordHash, emailVerified: row.emailVerified })
    run.updated++
    run.progress.tick()
  } catch (err) {
    if (errorCode(err) === 11000) return fail(run, row, 'email belongs to another user')
    noteError(run, err)
    fail(run, row, dbReason(run, err))
  }
}

/** Runs the batches, two at a time so the hash queue never runs dry while one is written. */
export async function processAll(run: Run, rows: ValidRow[]): Promise<void> {
  const size = run.options.batchSize
  let next = 0
  const worker = async () => {
    while (!run.stopping && next < rows.length) {
      const batch = rows.slice(next, next + size)
      next += size
      await processBatch(run, batch)
    }
  }
  await Promise.all([worker(), worker()])
  run.notProcessed = Math.max(0, rows.length - next)
}
