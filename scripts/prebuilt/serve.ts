// `npm run serve:prebuilt`: serves the built functions as a deployment runs them (host.ts), from a
// copy of .vercel/output made outside the repository (output.ts), so a file missing from a bundle
// fails here as it would on Vercel. The HTTP tests use it when TEST_TARGET=prebuilt.
// Local tooling only; never imported by api/ or lib/.
import { parseArgs } from 'node:util'
import type { Host } from './host.js'

const HELP = `Usage: npm run serve:prebuilt -- [--output DIR]

Serves the output of \`npm run build\` with @vercel/node's launcher, one process per function,
routed by the build's config.json, in production mode (VERCEL=1, NODE_ENV=production).

  --output DIR   an already copied-out build output (default: copy .vercel/output to a
                 temporary directory outside the repository first)

Environment: PORT (default 3000; 0 picks a free port), MONGODB_URI (unset: an embedded database
in memory), and the service's own variables (JWT_SECRET is required in production mode).
ADMIN_USERNAME / ADMIN_PASSWORD create the first admin when none exists.
`

function fail(message: string): never {
  process.stderr.write(`serve:prebuilt: ${message}\n`)
  process.exit(1)
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { output: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    process.stdout.write(HELP)
    return
  }
  const port = process.env.PORT ? Number(process.env.PORT) : 3000
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid PORT ${process.env.PORT}`)

  let output = values.output
  if (!output) {
    const { copyOutput } = await import('./output.js')
    output = copyOutput(process.cwd())
    process.stderr.write(`serve:prebuilt: build output copied to ${output}\n`)
  }

  let database: { uri: string; stop(): Promise<void> } | undefined
  if (!process.env.MONGODB_URI) {
    const { startEmbeddedMongo } = await import('../embedded-mongo/index.js')
    database = await startEmbeddedMongo({ port: 0, memory: true })
    process.env.MONGODB_URI = database.uri
    process.stderr.write(`serve:prebuilt: embedded database at ${database.uri} (in memory)\n`)
  }

  let host: Host | undefined
  const stop = async () => {
    await host?.close()
    await database?.stop()
    process.exit(0)
  }
  process.on('SIGINT', () => void stop())
  process.on('SIGTERM', () => void stop())

  // The first admin is written straight to the database, as the seed script would on Atlas.
  const { ensureFirstAdmin } = await import('../first-admin.js')
  await ensureFirstAdmin().catch((err: Error) => {
    // As deployed: a refused configuration (a preview on the production database) makes every
    // function answer 500 "Service misconfigured"; the host serves so that can be seen.
    if (err.name !== 'ConfigError') throw err
    process.stderr.write(`serve:prebuilt: ${err.message}; serving anyway: every request answers 500 until it is fixed\n`)
  })
  const { startHost } = await import('./host.js')
  host = await startHost({ output, port })
  process.stdout.write(`Ready on ${host.url}\n`)
}

main().catch((err: unknown) => fail((err as Error).stack ?? String(err)))
