// The part of the bundle check that runs code: every function's handler is imported from a copy
// of the build output made outside the repository (output.ts), and so is every module its own
// compiled files name with a literal `import()` or `require()` — the ones loaded only on first
// use (the driver, the common-password list, nodemailer). A module the trace left out fails here,
// named, instead of answering 500 once deployed. Runs in a plain Node child (no tsx loader),
// in production mode, so resolution is the runtime's own. Local tooling only.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { listOutputFunctions } from './output.js'

export interface LoadFailure {
  /** the function, e.g. `api/users/index` */
  fn: string
  /** what failed to load: the handler, or `<file> → <specifier>` */
  what: string
  /** the runtime's message, first line (names the missing module) */
  message: string
}

// Literal specifiers in import statements, dynamic imports and require calls.
export const IMPORT_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g

interface Probe {
  fn: string
  handler: string
  modules: { file: string; specifier: string }[]
}

// Imports each handler, then each named module from the directory of the file that names it
// (through a small module written there, so relative and bare specifiers resolve as they would
// for that file). Prints one JSON line of failures.
const CHILD = `
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
// On stdin, not argv: a function that reaches every route's description lists many modules.
let input = ''
for await (const chunk of process.stdin) input += chunk
const probes = JSON.parse(input)
const failures = []
const firstLine = (err) => String((err && err.message) || err).split('\\n')[0]
const loaders = new Map()
async function loaderFor(file) {
  const dir = dirname(file)
  if (!loaders.has(dir)) {
    const probe = join(dir, '.load-check.mjs')
    writeFileSync(probe, 'export default (s) => import(s)\\n')
    loaders.set(dir, (await import(pathToFileURL(probe).href)).default)
  }
  return loaders.get(dir)
}
for (const p of probes) {
  try {
    let handler = await import(pathToFileURL(p.handler).href)
    for (let i = 0; i < 5 && handler && typeof handler !== 'function' && handler.default; i++) handler = handler.default
    const web = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'fetch'].some((m) => typeof handler?.[m] === 'function')
    if (typeof handler !== 'function' && !web) failures.push({ fn: p.fn, what: 'handler', message: 'exports no handler function' })
  } catch (err) {
    failures.push({ fn: p.fn, what: 'handler', message: firstLine(err) })
    continue
  }
  for (const m of p.modules) {
    try {
      await (await loaderFor(m.file))(m.specifier)
    } catch (err) {
      failures.push({ fn: p.fn, what: m.file.slice(p.dir.length + 1) + ' → ' + m.specifier, message: firstLine(err) })
    }
  }
}
process.stdout.write(JSON.stringify(failures) + '\\n')
process.exit(0)
`

function ownFiles(dir: string): string[] {
  const files: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.(m?js|cjs)$/.test(entry.name)) continue
    const full = join(entry.parentPath, entry.name)
    if (!relative(dir, full).split(sep).includes('node_modules')) files.push(full)
  }
  return files
}

/** Loads every function of a copied-out build output; the failures, empty when all load. */
export async function checkHandlersLoad(outputCopy: string): Promise<LoadFailure[]> {
  const probes = listOutputFunctions(outputCopy).map((fn) => ({
    fn: fn.name,
    dir: fn.dir,
    handler: join(fn.dir, fn.config.handler),
    modules: ownFiles(fn.dir).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(IMPORT_SPECIFIER)].map((m) => ({ file, specifier: m[2]! })),
    ),
  })) satisfies (Probe & { dir: string })[]
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '--no-warnings', '-e', CHILD], {
      cwd: dirname(outputCopy),
      env: { PATH: process.env.PATH, VERCEL: '1', NODE_ENV: 'production' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    child.stdin.end(JSON.stringify(probes))
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`the load check exited with ${code}: ${stderr}`))))
  })
  const last = output.trim().split('\n').pop() ?? '[]'
  return JSON.parse(last) as LoadFailure[]
}
