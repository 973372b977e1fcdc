// Bundles the mongodb driver into one CommonJS file, lib/vendor/mongodb.cjs (git-ignored), that
// lib/db.ts loads instead of node_modules/mongodb when it is there. Run by vercel.json's
// buildCommand before Vercel builds the functions, so @vercel/node traces the bundle into every
// function that uses the database. Why: importing the driver from node_modules means resolving
// and compiling some 200 files at every cold start (about 265 ms here); one minified file is
// read and compiled at once. `whatwg-url` (a pure-JS URL implementation the connection-string
// parser extends) is replaced by Node's own URL, which implements the same WHATWG standard
// natively. Optional peer dependencies (kerberos, snappy, zstd, AWS, GCP, socks, client-side
// encryption) stay external: the driver requires them inside try/catch, as it does without them.
// Local tooling only; never imported by api/ or lib/.
import { build, type Plugin } from 'esbuild'
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const DEFAULT_OUT = join(ROOT, 'lib', 'vendor', 'mongodb.cjs')

const OPTIONAL_PEERS = [
  '@aws-sdk/credential-providers',
  '@mongodb-js/zstd',
  'gcp-metadata',
  'kerberos',
  'mongodb-client-encryption',
  'snappy',
  'socks',
]

// The connection-string parser uses whatwg-url only for its URL class; Node's global URL and
// URLSearchParams are the same standard (test/unit/driver-bundle.test.ts compares the parsed
// options of both for a table of connection strings).
const nodeUrl: Plugin = {
  name: 'node-url',
  setup(b) {
    b.onResolve({ filter: /^whatwg-url$/ }, () => ({ path: 'whatwg-url', namespace: 'node-url' }))
    b.onLoad({ filter: /.*/, namespace: 'node-url' }, () => ({ contents: 'module.exports = { URL, URLSearchParams }', loader: 'js' }))
  },
}

/** Writes the bundle to `outfile`; returns its size in bytes. */
export async function bundleDriver(outfile = DEFAULT_OUT): Promise<number> {
  mkdirSync(dirname(outfile), { recursive: true })
  const entry = createRequire(join(ROOT, 'package.json')).resolve('mongodb')
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    // Class and function names stay: the service maps driver errors by class name (problem.ts).
    keepNames: true,
    external: OPTIONAL_PEERS,
    plugins: [nodeUrl],
    // The licences of the bundled packages (Apache-2.0, MIT) travel with the code.
    legalComments: 'eof',
    banner: { js: '// The mongodb driver and its dependencies, bundled by scripts/bundle-driver.ts (generated; not in git).' },
    metafile: true,
    logLevel: 'warning',
  })
  return Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0)
}

if (import.meta.filename === process.argv[1] || process.argv[1] === import.meta.filename.replace(/\.ts$/, '')) {
  const outfile = process.argv[2] ? resolve(process.argv[2]) : DEFAULT_OUT
  bundleDriver(outfile).then(
    (bytes) => process.stdout.write(`bundle-driver: ${outfile} (${(bytes / 1024).toFixed(0)} KiB)\n`),
    (err: unknown) => {
      process.stderr.write(`bundle-driver: ${(err as Error).stack ?? String(err)}\n`)
      process.exit(1)
    },
  )
}
