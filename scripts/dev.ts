// `npm run dev`: the local stand-in for `vercel dev` (which needs a login and the internet).
// Loads .env, starts the embedded database when no MONGODB_URI is given, makes sure an admin
// exists, then serves api/ with the local runner. Local tooling only; never imported by api/ or lib/.
import { loadLocalEnv } from './local-env.js'
import type { Runner } from './runner/index.js'

const HELP = `Usage: npm run dev

Serves api/ like Vercel does (routing from the filesystem and vercel.json), reloading edited files.

Environment (also read from .env; real environment variables win):
  PORT            port to listen on (default 3000; 0 picks a free port)
  MONGODB_URI     database to use; when unset, the embedded database is started
  DATA_DIR        embedded database directory (default .data; ":memory:" keeps nothing on disk)
  ADMIN_USERNAME, ADMIN_PASSWORD   the first admin, created when no admin exists
`

function fail(message: string): never {
  process.stderr.write(`dev: ${message}\n`)
  process.exit(1)
}

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
  if (!process.env.MONGODB_URI) {
    // Imported only here, so a run against a real MongoDB never loads the embedded one.
    const { startEmbeddedMongo } = await import('./embedded-mongo/index.js')
    const dataDir = process.env.DATA_DIR || '.data'
    const memory = dataDir === ':memory:'
    database = await startEmbeddedMongo({ port: 0, ...(memory ? { memory: true } : { dataDir }) })
    // Set before anything from lib/ is loaded: lib/ reads its configuration from the environment.
    process.env.MONGODB_URI = database.uri
    process.stderr.write(`dev: embedded database at ${database.uri} (${memory ? 'in memory' : `data in ${dataDir}`})\n`)
  }

  let runner: Runner | undefined
  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
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

  try {
    // Dynamic import: first-admin reaches lib/, which must see MONGODB_URI set above.
    const { ensureFirstAdmin } = await import('./first-admin.js')
    await ensureFirstAdmin()

    const { startRunner } = await import('./runner/index.js')
    runner = await startRunner({ root: process.cwd(), port, host: '127.0.0.1' })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    await database?.stop().catch(() => {})
    if (e.code === 'EADDRINUSE') fail(`port ${port} is already in use (set PORT)`)
    fail(e.stack ?? String(err))
  }
  process.stdout.write(`Ready on ${runner.url}\n`)
}

main().catch((err: unknown) => fail((err as Error).stack ?? String(err)))
