// Local MongoDB-compatible server for development: `npm run db -- [--port N] [--data-dir DIR] [--memory]`.
// Dev tooling only; never imported by api/ or lib/.
import { parseArgs } from 'node:util'
import { startEmbeddedMongo } from './embedded-mongo/index.js'
import { loadLocalEnv } from './local-env.js'
import { MEMORY, dataDirFrom } from './local-database.js'

const HELP = `Usage: npm run db -- [options]

Starts an embedded MongoDB-compatible server (wire protocol, official driver compatible).
Give its address to the tools that use it: MONGODB_URI=mongodb://127.0.0.1:27017 npm run dev
(npm run dev on its own starts an embedded database of its own).

Options:
  --port N          TCP port (default 27017; 0 picks a free port)
  --data-dir DIR    data directory (default: $DATA_DIR, also from .env, or .data)
  --memory          keep everything in memory (also DATA_DIR=:memory:)
  --help            show this help
`

function fail(message: string): never {
  process.stderr.write(`db: ${message}\n`)
  process.exit(1)
}

async function main(): Promise<void> {
  let values
  try {
    ;({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        memory: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }))
  } catch (err) {
    fail(`${(err as Error).message}\n\n${HELP}`)
  }
  if (values.help) {
    process.stdout.write(HELP)
    return
  }
  loadLocalEnv()
  const port = values.port === undefined ? 27017 : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port ${values.port}`)
  const where = dataDirFrom(values.memory ? MEMORY : (values['data-dir'] ?? process.env.DATA_DIR))

  let server
  try {
    server = await startEmbeddedMongo({ port, ...(where.memory ? { memory: true } : { dataDir: where.dir }) })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'EADDRINUSE') fail(`port ${port} is already in use`)
    fail(e.message)
  }
  process.stdout.write(`MongoDB-compatible server ready at ${server.uri}\n`)
  process.stderr.write(`db: ${where.memory ? 'in memory' : `data in ${where.dir}`}; Ctrl-C to stop\n`)

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    process.stderr.write(`db: ${signal} received, flushing and stopping\n`)
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => fail(`stop failed: ${(err as Error).message}`),
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

main().catch((err: unknown) => fail((err as Error).stack ?? String(err)))
