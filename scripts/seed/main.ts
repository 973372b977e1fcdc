// The seed CLI (`npm run seed -- ...`): creates users from flags, from a JSON/CSV file, or from
// another database (--from-uri: the FastAPI project's users as they are), judged by the API's own
// schemas and password policy, hashed in worker threads, inserted in batches. Idempotent
// (existing users are skipped, or updated with --upsert), interruptible (Ctrl-C finishes the
// batches in flight, then reports). It never prints a supplied password, a hash, or the
// password of either connection string; only a generated password, once.
import { randomBytes } from 'node:crypto'
import { basename } from 'node:path'
import type { MongoClient } from 'mongodb'
import { ConfigError, getConfig, loadConfig } from '../../lib/config.js'
import { getClient, getDb, type UserDoc } from '../../lib/db.js'
import { setPasswordWorkers } from '../../lib/passwords.js'
import { normalizeUsername, type Role } from '../../lib/schemas.js'
import { InputError, planRows, readUsersFile, type RawRow, type RowFailure } from './input.js'
import { describeSource, readSourceRows, SourceError } from './source.js'
import { describeUri, redactSecrets } from '../mongo-uri.js'
import { loadLocalEnv } from '../local-env.js'
import { findRunningDatabase } from '../local-database.js'
import { EXIT, Interrupted, USAGE, UsageError, parseOptions, type Options } from './options.js'
import { passwordFromTerminal, readStdin } from './terminal.js'
import { processAll, type Run } from './run.js'
import { Progress, byLine, printSummary, withLine, type Summary } from './summary.js'

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
