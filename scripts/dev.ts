// `npm run dev`: the local stand-in for `vercel dev` (which needs a login and the internet).
// Loads .env, starts the embedded database when no MONGODB_URI is given (and leaves its address
// for `npm run seed`), serves api/ with the local runner, and makes sure an admin exists. A
// database that cannot be reached does not stop it: it serves as a deployed function would
// (503 + Retry-After) and creates the first admin once the database answers.
// Local tooling only; never imported by api/ or lib/.
import type { Runner } from './runner/index.js'
import { loadLocalEnv } from './local-env.js'
import { dataDirFrom, recordDatabase, recordPath } from './local-database.js'
import { describeUri, redactSecrets } from './mongo-uri.js'

const HELP = `Usage: npm run dev

Serves api/ like Vercel does (routing from the filesystem and vercel.json), reloading edited files.

Environment (also read from .env; real environment variables win; NAME= means unset):
  PORT            port to listen on (default 3000; 0 picks a free port)
  MONGODB_URI     database to use; when unset, the embedded database is started and its
                  address written to <DATA_DIR>/embedded-mongodb.json, where npm run seed finds it
  DATA_DIR        embedded database directory (default .data; ":memory:" keeps nothing on disk,
                  the address file then goes to .data)
  ADMIN_USERNAME, ADMIN_PASSWORD   the first admin, created when no admin exists

A database that cannot be reached is reported once; the API answers 503 until it can be, and
the first admin is created then.
`

// How long to wait between tries of a database that could not be reached; each try itself
// waits up to DB_TIMEOUT_MS.
const RETRY_MS = 2000

function fail(message: string): never {
  process.stderr.write(`dev: ${message}\n`)
  process.exit(1)
}

type Attempt = { kind: 'done' } | { kind: 'unreachable' | 'misconfigured' | 'failed'; err: unknown }

const isConfigError = (err: unknown): boolean => (err as Error | undefined)?.name === 'ConfigError'

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP)
    return
  }
  loadLocalEnv()

  const port = process.env.PORT === undefined ? 3000 : Number(process.env.PORT)
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid PORT ${process.env.PORT}`)

  // A function that rejects after answering would kill a plain Node process; on Vercel it only
  // fails that invocation. Log it and keep serving.
  process.on('unhandledRejection', (reason) => {
    console.error('[dev] unhandled rejection:', reason)
  })

  let database: { uri: string; stop(): Promise<void> } | undefined
  let forgetDatabase = () => {}
  if (!process.env.MONGODB_URI) {
    // Imported only here, so a run against a real MongoDB never loads the embedded one.
    const { startEmbeddedMongo } = await import('./embedded-mongo/index.js')
    const where = dataDirFrom()
    database = await startEmbeddedMongo({ port: 0, ...(where.memory ? { memory: true } : { dataDir: where.dir }) })
    // Set before anything from lib/ reads its configuration (on first use, from the environment).
    process.env.MONGODB_URI = database.uri
    forgetDatabase = recordDatabase(where, database.uri, 'npm run dev')
    process.stderr.write(
      `dev: embedded database at ${database.uri} (${where.memory ? 'in memory' : `data in ${where.dir}`}); ` +
        `address in ${recordPath(where)} for npm run seed\n`,
    )
  }
  const uri = process.env.MONGODB_URI!

  let runner: Runner | undefined
  let retry: NodeJS.Timeout | undefined
  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    clearTimeout(retry)
    forgetDatabase()
    try {
      await runner?.close()
      await database?.stop()
    } catch (err) {
      console.error('[dev] error while stopping:', err)
      process.exit(1)
    }
    process.exit(0)
  }
  process.on('SIGINT', () => void stop())
  process.on('SIGTERM', () => void stop())

  // Dynamic imports: these reach lib/, whose configuration must see MONGODB_URI set above.
  const { ensureFirstAdmin } = await import('./first-admin.js')
  const { toProblem } = await import('../lib/problem.js')
  // Never rejects: the outcome decides between serving, trying again and giving up.
  const attempt = (): Promise<Attempt> =>
    ensureFirstAdmin().then(
      () => ({ kind: 'done' }),
      // The service's own rule for "the database is away" (503), so dev and a function agree.
      (err: unknown) => ({ kind: toProblem(err).status === 503 ? 'unreachable' : isConfigError(err) ? 'misconfigured' : 'failed', err }),
    )
  const retryUntilReachable = (): void => {
    retry = setTimeout(async () => {
      const next = await attempt()
      if (stopping) return
      if (next.kind === 'unreachable') return retryUntilReachable()
      if (next.kind === 'failed') return void process.stderr.write(`dev: could not create the first admin: ${reason(next.err)}\n`)
      process.stderr.write(`dev: the database at ${describeUri(uri)} answers now\n`)
    }, RETRY_MS)
  }
  const reason = (err: unknown) => redactSecrets((err instanceof Error ? err.message : String(err)).split('\n')[0]!, uri)

  try {
    // The runner starts while the first admin is made: a database that is down costs its
    // timeout once, not before the port is open.
    const first = attempt()
    const { startRunner } = await import('./runner/index.js')
    runner = await startRunner({ root: process.cwd(), port, host: '127.0.0.1' })
    const outcome = await first
    if (outcome.kind === 'failed') throw outcome.err
    if (outcome.kind === 'misconfigured') {
      // As deployed: a refused configuration (a preview on the production database) answers
      // every request 500 "Service misconfigured", and the reason is in the log.
      process.stderr.write(`dev: ${reason(outcome.err)}; serving anyway: every request answers 500 until it is fixed\n`)
    }
    if (outcome.kind === 'unreachable') {
      // One line, naming the host and never a password; the driver's stack helps nobody here.
      process.stderr.write(
        `dev: cannot reach the database at ${describeUri(uri)} (${reason(outcome.err)}); serving anyway: ` +
          `the API answers 503 until it can, and the first admin is created then\n`,
      )
      retryUntilReachable()
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    forgetDatabase()
    await database?.stop().catch(() => {})
    if (e.code === 'EADDRINUSE') fail(`port ${port} is already in use (set PORT)`)
    fail(e.stack ?? String(err))
  }
  process.stdout.write(`Ready on ${runner.url}\n`)
}

main().catch((err: unknown) => fail((err as Error).stack ?? String(err)))
