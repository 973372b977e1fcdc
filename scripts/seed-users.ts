// The seed CLI (`npm run seed -- ...`): creates users from flags, from a JSON/CSV file, or from
// another database (--from-uri: the FastAPI project's users as they are), judged by the API's own
// schemas and password policy, hashed in worker threads, inserted in batches. Idempotent
// (existing users are skipped, or updated with --upsert), interruptible (Ctrl-C finishes the
// batches in flight, then reports). It never prints a supplied password, a hash, or the
// password of either connection string; only a generated password, once.
import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { MongoBulkWriteError, MongoNetworkError, MongoServerSelectionError, ObjectId, type Collection, type MongoClient, type WriteError } from 'mongodb'
import { ConfigError, MONGODB_URI_RULE, getConfig, isMongoUri, loadConfig } from '../lib/config.js'
import { getClient, getDb, type UserDoc } from '../lib/db.js'
import { applyImportChange, createUser, newUserDoc } from '../lib/users.js'
import { hashPassword, setPasswordWorkers, verifyPassword } from '../lib/passwords.js'
import { Problem } from '../lib/problem.js'
import { normalizeUsername, type Role } from '../lib/schemas.js'
import { InputError, planRows, readUsersFile, type RawRow, type RowFailure, type ValidRow } from './seed-input.js'
import { describeSource, readSourceRows, SourceError } from './seed-source.js'
import { describeUri, redactSecrets } from './mongo-uri.js'
import { loadLocalEnv } from './local-env.js'
import { findRunningDatabase } from './local-database.js'

const EXIT = { ok: 0, rowsFailed: 1, unusable: 2, interrupted: 130 } as const

const USAGE = `Usage: npm run seed -- [options]

Create users in the service's MongoDB, with the same rules as the API (username, email,
password policy, role). Existing users are skipped, or updated with --upsert.

One user from flags:
  --username NAME          3-32 characters of a-z 0-9 . _ -
  --email ADDRESS
  --role admin|user        default: user
  --email-verified         mark the email address verified (the user needs no link to
                           confirm it; with REQUIRE_VERIFIED_EMAIL=true, others cannot log in
                           until they confirm it). Default: unverified
  --password-stdin         read the password from stdin (one trailing newline is removed)
  --generate-password      make a random password and print it once on stdout
                           (neither: a hidden prompt when stdin is a terminal)

Many users from a file:
  --file PATH              a .json array of objects, one JSON document per line (mongoexport's
                           output), or a .csv file with the header username,email,password,role
                           (RFC 4180 quoting; columns in any order).
                           Instead of password a row may carry password_hash (or hashed_password,
                           the FastAPI project's name): a bcrypt hash ($2a$/$2b$/$2y$) or an
                           argon2id/argon2i/argon2d hash in PHC form (v=19, as passlib writes it),
                           to move users from another system without a reset; the user's next
                           login replaces an argon2 hash with bcrypt. Other hash schemes (pbkdf2,
                           md5, sha512-crypt, ...) are refused, row by row.
                           _id (an ObjectId, {"$oid": ...} in a file) is kept as the user's id;
                           another kind of _id (a string) only names the row in reports.
                           An empty role is --role (default user).
                           An email_verified column (CSV: true/false, 1/0, yes/no; JSON: a
                           boolean) says per row whether the address is verified; an empty
                           cell is --email-verified (default: unverified).

Many users from another MongoDB (read-only there: one find):
  --from-uri URI           connection string of the old database (mongodb+srv:// works)
  --from-db NAME           its database (default: the one in --from-uri's path)
  --from-collection NAME   its collection (default: users)
                           Every document is judged like a file row and reported by its _id.

  --admins NAME,NAME       these users get role admin (the FastAPI project has no roles; all
                           others get --role); each name must be in the input

Behaviour:
  --upsert                 update an existing user (matched by username): email, role,
                           password, and email_verified when the row or --email-verified gives
                           it (a changed email is unverified unless so); a changed password or
                           role ends the user's sessions
  --dry-run                validate and report what would happen; write nothing. Without a
                           reachable database the rows are checked against the rules only
  --json                   print the summary as JSON on stdout
  --cost N                 bcrypt cost, 4-15 (default: BCRYPT_COST, else 12)
  --workers N              hashing threads (default and maximum: ${availableParallelism()}, the cores available)
  --batch-size N           users per insert (default 100)
  --uri URI                MongoDB connection string (default: MONGODB_URI, else the embedded
                           database of a running npm run dev; mongodb+srv:// works)
  --db NAME                database name (default: MONGODB_DB, else auth)
  -h, --help               this text

MONGODB_URI, MONGODB_DB, BCRYPT_COST and DB_TIMEOUT_MS (connect timeout, default 3000 ms) are
read from the environment, then from .env (the environment wins; NAME= means unset); --uri,
--db and --cost win over both. With none of --uri and MONGODB_URI, the database is the one
npm run dev started, found in <DATA_DIR>/embedded-mongodb.json while it runs.

Output: a progress bar on stderr when it is a terminal (file imports); a summary on stdout:
created, updated, skipped, failed, and each skipped or failed row with its line (0 = the user
given by flags). Within a file, the first row with a username or email wins; later ones fail.

Exit status: 0 every row was applied or skipped; 1 some row failed validation or writing;
2 bad arguments, unreadable input, or no connection to MongoDB; 130 interrupted (Ctrl-C: the
batches in flight finish, each user is written whole or not at all, the summary is printed).

Examples:
  printf '%s\\n' "$ADMIN_PW" | npm run seed -- --username alice --email alice@example.com --role admin --password-stdin
  npm run seed -- --username bob --email bob@example.com --generate-password
  npm run seed -- --file users.csv --dry-run
  npm run seed -- --file users.json --upsert --json
  npm run seed -- --file users.csv --uri "mongodb+srv://seed:PASSWORD@cluster0.example.mongodb.net" --db auth
  mongoexport --db testdb --collection users --out fastapi-users.json && npm run seed -- --file fastapi-users.json --admins alice
  npm run seed -- --from-uri "mongodb://old-host:27017" --from-db testdb --from-collection users --admins alice
`

class UsageError extends Error {}
class Interrupted extends Error {}

// --- arguments ----------------------------------------------------------------------------

interface Options {
  username?: string
  email?: string
  role: string
  emailVerified: boolean
  passwordStdin: boolean
  generatePassword: boolean
  file?: string
  upsert: boolean
  dryRun: boolean
  json: boolean
  cost?: number
  workers: number
  batchSize: number
  uri?: string
  db?: string
  admins?: string[]
  fromUri?: string
  fromDb?: string
  fromCollection: string
  help: boolean
}

function intOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`)
  return Number(value)
}

function parseOptions(argv: string[]): Options {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        username: { type: 'string' },
        email: { type: 'string' },
        role: { type: 'string' },
        'email-verified': { type: 'boolean' },
        'password-stdin': { type: 'boolean' },
        'generate-password': { type: 'boolean' },
        file: { type: 'string' },
        upsert: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        cost: { type: 'string' },
        workers: { type: 'string' },
        'batch-size': { type: 'string' },
        uri: { type: 'string' },
        db: { type: 'string' },
        admins: { type: 'string' },
        'from-uri': { type: 'string' },
        'from-db': { type: 'string' },
        'from-collection': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (err) {
    // parseArgs names the offending flag; it never echoes a value.
    throw new UsageError((err as Error).message)
  }
  const cores = availableParallelism()
  const options: Options = {
    username: values.username,
    email: values.email,
    role: values.role ?? 'user',
    emailVerified: values['email-verified'] ?? false,
    passwordStdin: values['password-stdin'] ?? false,
    generatePassword: values['generate-password'] ?? false,
    file: values.file,
    upsert: values.upsert ?? false,
    dryRun: values['dry-run'] ?? false,
    json: values.json ?? false,
    cost: intOption('cost', values.cost, 4, 15),
    workers: intOption('workers', values.workers, 1, cores) ?? cores,
    batchSize: intOption('batch-size', values['batch-size'], 1, 1000) ?? 100,
    uri: values.uri,
    db: values.db,
    fromUri: values['from-uri'],
    fromDb: values['from-db'],
    fromCollection: values['from-collection'] ?? 'users',
    help: values.help ?? false,
  }
  if (values.admins !== undefined) {
    // Names as the API stores them, so "Alice" finds the row whose username is alice.
    options.admins = values.admins.split(',').map((n) => normalizeUsername(n.trim())).filter((n) => n !== '')
    if (options.admins.length === 0) throw new UsageError('--admins needs at least one username')
  }
  if (options.help) return options
  // Checked here, not by lib/config: its message would blame MONGODB_URI for a bad flag.
  if (options.uri !== undefined && !isMongoUri(options.uri)) throw new UsageError(`--uri ${MONGODB_URI_RULE}`)
  const many = options.file !== undefined || options.fromUri !== undefined
  if (options.file !== undefined && options.fromUri !== undefined) throw new UsageError('give --file or --from-uri, not both')
  if (options.fromUri === undefined && (values['from-db'] !== undefined || values['from-collection'] !== undefined)) {
    throw new UsageError('--from-db and --from-collection go with --from-uri')
  }
  if (options.fromUri !== undefined) {
    if (!isMongoUri(options.fromUri)) throw new UsageError(`--from-uri ${MONGODB_URI_RULE}`)
    options.fromDb ??= databaseInPath(options.fromUri)
    if (!options.fromDb) throw new UsageError('give --from-db (the old database; the FastAPI project uses testdb)')
  }
  if (many) {
    const clash = (['username', 'email', 'passwordStdin', 'generatePassword'] as const).filter((k) => options[k])
    if (clash.length > 0) throw new UsageError(`${options.file !== undefined ? '--file' : '--from-uri'} cannot be combined with --username, --email, --password-stdin or --generate-password`)
  } else {
    if (!options.username || !options.email) throw new UsageError('give --username and --email (one user), --file or --from-uri (many)')
    if (options.passwordStdin && options.generatePassword) throw new UsageError('give either --password-stdin or --generate-password, not both')
    if (options.admins) throw new UsageError('--admins goes with --file or --from-uri; one user takes --role')
  }
  return options
}

/** The database named in a connection string's path (`mongodb://h/testdb?..` gives testdb). */
function databaseInPath(uri: string): string | undefined {
  const m = /^mongodb(?:\+srv)?:\/\/(?:[^?]*@)?[^/?]*\/([^?]+)/.exec(uri)
  if (!m) return undefined
  try {
    return decodeURIComponent(m[1]!)
  } catch {
    return undefined
  }
}

// --- passwords from stdin or a terminal ---------------------------------------------------

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  // Like `docker login --password-stdin`: the newline `echo` adds is not part of the password.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

/** Reads a line from the terminal without echo (raw mode); Ctrl-C aborts. */
function promptHidden(label: string): Promise<string> {
  const stdin = process.stdin
  process.stderr.write(label)
  stdin.setRawMode(true)
  stdin.setEncoding('utf8')
  stdin.resume()
  return new Promise((resolve, reject) => {
    let value = ''
    const finish = (err?: Error) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      if (err) reject(err)
      else resolve(value)
    }
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish()
        if (ch === '\u0003') return finish(new Interrupted())
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('')
        else if (ch === '\u0015') value = '' // Ctrl-U clears the line, as in a shell
        else if (ch >= ' ') value += ch
      }
    }
    stdin.on('data', onData)
  })
}

async function passwordFromTerminal(): Promise<string> {
  const first = await promptHidden('Password: ')
  const second = await promptHidden('Repeat password: ')
  if (first !== second) throw new InputError('the passwords do not match')
  return first
}

// --- the run ------------------------------------------------------------------------------

interface Outcome {
  line: number
  /** The row's `_id`, when it had one. */
  id?: string
  username?: string
  reason: string
}

interface Run {
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
function skip(run: Run, row: ValidRow, reason: string, advanced = false): void {
  run.skipped.push(outcome(row, reason))
  if (!advanced) run.progress.tick()
}

function fail(run: Run, row: ValidRow, reason: string, advanced = false): void {
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
async function processAll(run: Run, rows: ValidRow[]): Promise<void> {
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

// --- progress and summary -----------------------------------------------------------------

class Progress {
  private done = 0
  private lastDraw = 0
  private readonly started = performance.now()

  constructor(
    private readonly total: number,
    private readonly enabled: boolean,
    private readonly counts: () => { created: number; updated: number; skipped: number; failed: number },
  ) {}

  tick(): void {
    this.done++
    if (!this.enabled) return
    const now = performance.now()
    if (now - this.lastDraw < 100 && this.done < this.total) return
    this.lastDraw = now
    const width = 24
    const fraction = this.total > 0 ? this.done / this.total : 1
    const filled = Math.round(fraction * width)
    const rate = this.done / Math.max((now - this.started) / 1000, 0.001)
    const eta = rate > 0 ? Math.ceil((this.total - this.done) / rate) : 0
    const c = this.counts()
    const line =
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${Math.floor(fraction * 100)}% ` +
      `${rate.toFixed(rate < 10 ? 1 : 0)}/s ETA ${eta}s | created ${c.created} updated ${c.updated} skipped ${c.skipped} failed ${c.failed}`
    const columns = process.stderr.columns || 120
    process.stderr.write(`\r${line.slice(0, columns - 1)}\x1b[K`)
  }

  finish(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K')
  }
}

interface Summary {
  source: string
  database: string
  dry_run: boolean
  /** false for a dry run without a database: existing users were not looked up */
  database_checked: boolean
  created: number
  updated: number
  skipped: number
  failed: number
  not_processed: number
  interrupted: boolean
  elapsed_ms: number
  rows_per_second: number
  skips: SummaryOutcome[]
  failures: SummaryOutcome[]
  error?: string
  generated_password?: string
}

type SummaryOutcome = Omit<Outcome, 'line'> & { line: number | null }

const byLine = (a: Outcome, b: Outcome) => a.line - b.line
// Line 0 is the user given by flags: no line of any file. Rows of a database have no lines at
// all (their `line` is only their position in the read): they are named by _id.
const withLine = (hasLines: boolean) => (o: Outcome): SummaryOutcome => ({ ...o, line: hasLines && o.line > 0 ? o.line : null })

/** `line 3 (_id 65a0...)`, `_id 65a0...`, `line 3`, or `flags`. */
function where(o: SummaryOutcome): string {
  if (o.line !== null) return o.id ? `line ${o.line} (_id ${o.id})` : `line ${o.line}`
  return o.id ? `_id ${o.id}` : 'flags'
}

function printSummary(s: Summary, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n')
    return
  }
  const LIST_LIMIT = 100
  const out: string[] = []
  const dryRun = !s.dry_run ? '' : s.database_checked ? 'Dry run (nothing written): ' : 'Dry run without a database (nothing written, existing users not checked): '
  out.push(`${dryRun}${s.source === 'flags' ? 'one user' : s.source} -> database ${s.database}`)
  // A dry run counts what it would do; it created nothing.
  const counts: [string, number][] = s.dry_run
    ? [['would create', s.created], ['would update', s.updated], ['would skip', s.skipped], ['failed', s.failed]]
    : [['created', s.created], ['updated', s.updated], ['skipped', s.skipped], ['failed', s.failed]]
  const width = Math.max(...counts.map(([label]) => label.length))
  for (const [label, n] of counts) out.push(`  ${label.padEnd(width)}  ${n}`)
  if (s.not_processed > 0) out.push(`  not processed ${s.not_processed}`)
  if (s.interrupted) out.push('Interrupted: the batches in flight were finished; rows not processed were not written.')
  if (s.error) out.push(`Stopped: ${s.error}`)
  const list = (title: string, items: Summary['skips']) => {
    if (items.length === 0) return
    out.push(`${title}:`)
    for (const o of items.slice(0, LIST_LIMIT)) out.push(`  ${where(o)}: ${o.username ? `${o.username}: ` : ''}${o.reason}`)
    if (items.length > LIST_LIMIT) out.push(`  ... and ${items.length - LIST_LIMIT} more (--json lists all)`)
  }
  list('Skipped', s.skips)
  list('Failed', s.failures)
  if (s.source !== 'flags') out.push(`${((s.created + s.updated + s.skipped + s.failed) / Math.max(s.elapsed_ms / 1000, 0.001)).toFixed(1)} rows/s, ${(s.elapsed_ms / 1000).toFixed(1)} s`)
  process.stdout.write(out.join('\n') + '\n')
}

// --- main ---------------------------------------------------------------------------------

/** Where the database comes from: a flag, the environment, a running `npm run dev`, or nowhere. */
type Target = { from: 'flag' | 'environment' } | { from: 'npm run dev'; file: string } | { from: 'none'; why: string }

function loadEnvironment(options: Options): Target {
  // The environment wins over .env; flags win over both. lib/config reads process.env once,
  // on first use, so all of this happens before anything asks for the configuration.
  loadLocalEnv()
  if (options.db !== undefined) process.env.MONGODB_DB = options.db
  if (options.cost !== undefined) process.env.BCRYPT_COST = String(options.cost)
  // The seed signs no token, but lib/config insists on a signing key outside local development
  // (NODE_ENV=production in .env, say): a throwaway one lets it check the rest.
  if (!process.env.JWT_SECRET && !process.env.JWT_PRIVATE_KEY && !process.env.JWT_PRIVATE_KEYS) {
    process.env.JWT_SECRET = randomBytes(32).toString('base64url')
  }
  if (options.uri !== undefined) {
    process.env.MONGODB_URI = options.uri
    return { from: 'flag' }
  }
  if (process.env.MONGODB_URI) return { from: 'environment' }
  // Locally the database is usually the embedded one `npm run dev` started on a free port.
  const found = findRunningDatabase()
  if (found && 'uri' in found) {
    process.env.MONGODB_URI = found.uri
    return { from: 'npm run dev', file: found.file }
  }
  const why = found ? `${found.file} names a process that has ended (pid ${found.pid})` : 'no npm run dev is running here'
  return { from: 'none', why: `MONGODB_URI is not set and ${why}` }
}

// lib/config insists on a URI; a dry run with no database at all gives it one that is never
// used, so the other variables (MONGODB_DB, BCRYPT_COST) are still checked.
const NO_DATABASE = 'mongodb://no-database.invalid'

async function readInput(options: Options): Promise<{ raws: RawRow[]; generated?: string; source: string }> {
  if (options.file !== undefined) return { raws: await readUsersFile(options.file), source: basename(options.file) }
  if (options.fromUri !== undefined) {
    const source = { uri: options.fromUri, db: options.fromDb!, collection: options.fromCollection }
    const raws = await readSourceRows({ ...source, timeoutMs: Number(process.env.DB_TIMEOUT_MS) || 3000 })
    // An empty read is almost always a wrong --from-db or --from-collection (a find on a
    // missing collection returns nothing rather than failing).
    if (raws.length === 0) throw new InputError(`no documents in ${describeSource(source)} (check --from-db and --from-collection)`)
    return { raws, source: describeSource(source) }
  }
  let password: string
  let generated: string | undefined
  if (options.generatePassword) {
    // 144 random bits, base64url: far beyond any guessing, and within bcrypt's 72 bytes.
    generated = password = randomBytes(18).toString('base64url')
  } else if (options.passwordStdin) password = await readStdin()
  else if (process.stdin.isTTY) password = await passwordFromTerminal()
  else throw new UsageError('no password: use --password-stdin, --generate-password, or run on a terminal to be asked')
  const values = { username: options.username, email: options.email, role: options.role, password }
  return { raws: [{ line: 0, values }], generated, source: 'flags' }
}

async function main(argv: string[]): Promise<number> {
  let options: Options
  try {
    options = parseOptions(argv)
  } catch (err) {
    process.stderr.write(`seed: ${(err as Error).message}\n\n${USAGE}`)
    return EXIT.unusable
  }
  if (options.help) {
    process.stdout.write(USAGE)
    return EXIT.ok
  }
  const target = loadEnvironment(options)
  if (target.from === 'none' && !options.dryRun) {
    process.stderr.write(`seed: no database: ${target.why}; start npm run dev, or give --uri or MONGODB_URI\n`)
    return EXIT.unusable
  }

  let config
  try {
    config = target.from === 'none' ? loadConfig({ ...process.env, MONGODB_URI: NO_DATABASE }) : getConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`seed: ${err.message}\n`)
      return EXIT.unusable
    }
    throw err
  }

  // Judge the input before connecting: a bad file fails fast, a prompt comes first.
  let input
  try {
    input = await readInput(options)
  } catch (err) {
    if (err instanceof Interrupted) return EXIT.interrupted
    if (err instanceof UsageError) {
      process.stderr.write(`seed: ${err.message}\n\n${USAGE}`)
      return EXIT.unusable
    }
    if (err instanceof InputError || err instanceof SourceError) {
      process.stderr.write(`seed: ${err.message}\n`)
      return EXIT.unusable
    }
    throw err
  }
  if (options.admins) {
    // A misspelt admin name would leave the import without its admin: refuse before writing.
    const names = new Set(input.raws.map((r) => (typeof r.values.username === 'string' ? normalizeUsername(r.values.username.trim()) : '')))
    const missing = options.admins.filter((n) => !names.has(n))
    if (missing.length > 0) {
      process.stderr.write(`seed: --admins names ${missing.join(', ')}, not found in the input; nothing was written\n`)
      return EXIT.unusable
    }
    for (const raw of input.raws) {
      if (typeof raw.values.username === 'string' && options.admins.includes(normalizeUsername(raw.values.username.trim()))) raw.values.role = 'admin'
    }
  }
  const fromDb = options.fromUri !== undefined
  // --email-verified absent leaves email_verified alone on --upsert (the flag cannot say "false").
  const planned = await planRows(input.raws, { role: options.role as Role, emailVerified: options.emailVerified || undefined, byId: fromDb })

  const started = performance.now()
  const single = options.file === undefined && !fromDb
  // Counts are read when the bar is drawn, after `run` exists.
  const progress = new Progress(input.raws.length, !single && Boolean(process.stderr.isTTY), () => ({
    created: run.created,
    updated: run.updated,
    skipped: run.skipped.length,
    failed: run.failed.length,
  }))
  const run: Run = {
    options,
    cost: config.bcryptCost,
    single,
    created: 0,
    updated: 0,
    skipped: [],
    failed: planned.failures.map((f: RowFailure) => ({ ...f })),
    notProcessed: 0,
    stopping: false,
    interrupted: false,
    progress,
    uri: config.mongoUri,
    fromUri: options.fromUri,
  }
  for (const _ of planned.failures) run.progress.tick()

  const onSigint = () => {
    if (run.stopping && run.interrupted) {
      process.stderr.write('\nseed: stopped at once; users written so far are complete\n')
      process.exit(EXIT.interrupted)
    }
    run.stopping = true
    run.interrupted = true
    process.stderr.write('\nseed: stopping after the batches in flight (Ctrl-C again to quit now)\n')
  }
  process.on('SIGINT', onSigint)

  // Why a dry run goes on without a database, when it does.
  let offline = target.from === 'none' ? target.why : undefined
  let client: MongoClient | undefined
  try {
    if (planned.rows.length > 0 && offline === undefined) {
      try {
        if (target.from === 'npm run dev') {
          process.stderr.write(`seed: MONGODB_URI is not set; using the embedded database of npm run dev at ${config.mongoUri} (from ${target.file})\n`)
        }
        client = await getClient()
        // A dry run only reads: it must not even create the indexes getDb() ensures.
        // Connecting first surfaces the real cause (refused, DNS, auth) rather than the
        // "Topology is closed" of the index builds that were queued behind the failed connect.
        await client.connect()
        if (options.dryRun) {
          const db = client.db(config.mongoDb)
          await db.command({ ping: 1 })
          run.users = db.collection<UserDoc>('users')
        } else {
          const db = await getDb()
          run.users = db.collection<UserDoc>('users')
        }
      } catch (err) {
        const reason = redactSecrets(err instanceof Error ? err.message : String(err), config.mongoUri, options.fromUri)
        const where = `cannot connect to MongoDB at ${describeUri(config.mongoUri)} (database ${config.mongoDb}): ${reason}`
        if (!options.dryRun) {
          process.stderr.write(`seed: ${where}\n`)
          return EXIT.unusable
        }
        offline = where
      }
    }
    if (offline !== undefined && planned.rows.length > 0) {
      process.stderr.write(`seed: dry run without a database (${offline}): rows are checked against the rules only, not against existing users\n`)
    }
    // A file hashes on as many threads as --workers gives (bcryptjs is pure JS: one core per
    // thread), in the service's own pool; one user needs the default.
    if (!single) setPasswordWorkers(options.workers)
    if (planned.rows.length > 0) await processAll(run, planned.rows)
  } finally {
    run.progress.finish()
    await client?.close().catch(() => undefined)
  }

  const elapsedMs = performance.now() - started
  const applied = run.created + run.updated
  const createdOrUpdatedGenerated = input.generated !== undefined && applied > 0 && !options.dryRun
  const summary: Summary = {
    source: input.source,
    database: config.mongoDb,
    dry_run: options.dryRun,
    database_checked: offline === undefined,
    created: run.created,
    updated: run.updated,
    skipped: run.skipped.length,
    failed: run.failed.length,
    not_processed: run.notProcessed,
    interrupted: run.interrupted,
    elapsed_ms: Math.round(elapsedMs),
    rows_per_second: Math.round(((applied + run.skipped.length + run.failed.length) / Math.max(elapsedMs / 1000, 0.001)) * 10) / 10,
    skips: run.skipped.sort(byLine).map(withLine(!fromDb)),
    failures: run.failed.sort(byLine).map(withLine(!fromDb)),
  }
  if (run.fatal) summary.error = run.fatal
  // The only password ever printed: one this script made, once, and only if it was stored.
  if (createdOrUpdatedGenerated) summary.generated_password = input.generated
  if (options.json) printSummary(summary, true)
  else {
    printSummary({ ...summary, generated_password: undefined }, false)
    if (createdOrUpdatedGenerated) process.stdout.write(`Generated password for ${options.username} (shown once): ${input.generated}\n`)
  }
  if (run.interrupted) return EXIT.interrupted
  return run.failed.length > 0 || run.fatal ? EXIT.rowsFailed : EXIT.ok
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Unexpected: report without a stack of values (a row could be in a message), never a secret.
    const message = err instanceof Error ? err.message : String(err)
    process.stderr.write(`seed: unexpected error: ${redactSecrets(message, process.env.MONGODB_URI, fromUriArgument())}\n`)
    process.exit(EXIT.unusable)
  },
)

/** --from-uri as given, for scrubbing an unexpected error that escaped main (parsed or not). */
function fromUriArgument(): string | undefined {
  const args = process.argv
  const i = args.indexOf('--from-uri')
  if (i >= 0) return args[i + 1]
  return args.find((a) => a.startsWith('--from-uri='))?.slice('--from-uri='.length)
}
