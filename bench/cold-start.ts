// Cold start of the built functions (issue #9 item 3): for each `.func` of .vercel/output, copied
// out of the repository as a deployment uploads it (so nothing resolves through the project's
// node_modules), a fresh `node` process imports the function's compiled handler from the bundle, serves one real
// HTTP request with it, and reports how long after process start the module was loaded and the
// answer was received. A hello-world function built by the same `vercel build` is the baseline,
// so the figure separates what our bundle costs from what Node and the runtime cost anyway.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { copyOutput, listOutputFunctions } from '../scripts/prebuilt/output.js'
import { fmt, table } from './format.js'
import { median } from './load.js'
import { makeTempDir, ROOT } from './service.js'

export interface ColdStart {
  function: string
  path: string
  bundleBytes: number
  files: number
  /** Median ms from process start to the handler module loaded. */
  importMs: number
  /** Median ms from process start to the first answer received. */
  firstAnswerMs: number
  status: number
  ratioToHello: number
}

export interface ColdStartReport {
  runs: number
  built: boolean
  hello: ColdStart
  functions: ColdStart[]
}

// The harness imports nothing but Node built-ins before the handler, and times against
// performance.timeOrigin (process start), so the figure includes Node's own boot.
const HARNESS = `
import { createServer, request } from 'node:http'
import { pathToFileURL } from 'node:url'
const [handlerFile, path] = process.argv.slice(2)
const mod = await import(pathToFileURL(handlerFile).href)
const importMs = performance.now()
let handler = mod
for (let i = 0; i < 5 && handler && typeof handler !== 'function'; i++) handler = handler.default
const server = createServer((req, res) => {
  Promise.resolve(handler(req, res)).catch((err) => {
    process.stderr.write(String(err && err.stack || err) + '\\n')
    if (!res.headersSent) res.statusCode = 500
    res.end()
  })
})
server.listen(0, '127.0.0.1', () => {
  const req = request({ host: '127.0.0.1', port: server.address().port, method: 'GET', path }, (res) => {
    res.resume()
    res.on('end', () => {
      process.stdout.write(JSON.stringify({ importMs, firstAnswerMs: performance.now(), status: res.statusCode }) + '\\n')
      process.exit(0)
    })
  })
  req.on('error', (err) => { process.stderr.write(String(err) + '\\n'); process.exit(1) })
  req.end()
})
`

const HELLO = `// Baseline for the cold-start benchmark: the smallest Node.js function, no dependencies.
export default function hello(_req: unknown, res: { setHeader(name: string, value: string): void; end(body: string): void }): void {
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ hello: 'world' }))
}
`

// The same offline `vercel build` that scripts/build.ts runs, with the same project stub.
const PROJECT_STUB = { projectId: 'local', orgId: 'local', settings: { framework: null, buildCommand: '', installCommand: '' } }
const BUILD_ENV = { VERCEL_INSTALL_COMPLETED: '1', VERCEL_TELEMETRY_DISABLED: '1', NO_UPDATE_NOTIFIER: '1' }

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...BUILD_ENV }, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${result.stdout}\n${result.stderr}`)
}

/** Builds the hello-world project once (kept in bench/results, git-ignored); returns its root. */
function helloProject(): string {
  const dir = join(ROOT, 'bench', 'results', 'hello-world')
  if (existsSync(join(dir, '.vercel', 'output', 'functions', 'api', 'hello.func', '.vc-config.json'))) return dir
  mkdirSync(join(dir, 'api'), { recursive: true })
  mkdirSync(join(dir, '.vercel'), { recursive: true })
  writeFileSync(join(dir, 'api', 'hello.ts'), HELLO)
  writeFileSync(join(dir, 'package.json'), '{ "name": "hello-world", "private": true, "type": "module" }\n')
  writeFileSync(join(dir, '.vercel', 'project.json'), `${JSON.stringify(PROJECT_STUB)}\n`)
  process.stderr.write('bench: building the hello-world function (once)\n')
  run(join(ROOT, 'node_modules', '.bin', 'vercel'), ['build', '--yes'], dir)
  return dir
}

interface FuncDir {
  name: string
  dir: string
  handler: string
  path: string
}

/** The functions of a copied-out output, each with a path that reaches it. */
function listFunctions(outputCopy: string): FuncDir[] {
  return listOutputFunctions(outputCopy).map((fn) => ({
    name: fn.name,
    dir: fn.dir,
    handler: join(fn.dir, fn.config.handler),
    // A dynamic segment gets a plausible value; `x/index` is served at `x`.
    path: ('/' + fn.name).replace(/\[[^\]]+\]/g, 'bench').replace(/\/index$/, ''),
  }))
}

function sizeOf(dir: string): { bytes: number; files: number } {
  let bytes = 0
  let files = 0
  const walk = (d: string): void => {
    for (const item of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, item.name)
      if (item.isDirectory()) walk(full)
      else {
        bytes += lstatSync(full).size
        files += 1
      }
    }
  }
  walk(dir)
  return { bytes, files }
}

function startOnce(harness: string, fn: FuncDir, env: NodeJS.ProcessEnv): Promise<{ importMs: number; firstAnswerMs: number; status: number }> {
  return new Promise((resolve, reject) => {
    // cwd = the bundle, as on Vercel: nothing outside it can be reached by accident.
    const child = spawn(process.execPath, [harness, fn.handler, fn.path], { cwd: fn.dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    child.on('exit', (code) => {
      clearTimeout(timer)
      const line = out.split('\n').find((l) => l.startsWith('{"importMs"'))
      if (code === 0 && line) resolve(JSON.parse(line) as { importMs: number; firstAnswerMs: number; status: number })
      else reject(new Error(`${fn.name}: cold start failed (exit ${code}):\n${err.slice(0, 2000)}`))
    })
  })
}

function summarise(fn: FuncDir, samples: { importMs: number; firstAnswerMs: number; status: number }[]): Omit<ColdStart, 'ratioToHello'> {
  const { bytes, files } = sizeOf(fn.dir)
  return {
    function: fn.name,
    path: fn.path,
    bundleBytes: bytes,
    files,
    importMs: median(samples.map((s) => s.importMs)),
    firstAnswerMs: median(samples.map((s) => s.firstAnswerMs)),
    status: samples[samples.length - 1]!.status,
  }
}

/**
 * Measures every built function. `env` reaches the functions (MONGODB_URI of the bench
 * database, so /api/health really connects on its first request, as a cold instance does).
 */
export async function measureColdStarts(options: { build: boolean; runs: number; env: Record<string, string> }): Promise<ColdStartReport> {
  let built = false
  if (options.build || !existsSync(join(ROOT, '.vercel', 'output', 'functions'))) {
    process.stderr.write('bench: npm run build\n')
    run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'build.ts')], ROOT)
    built = true
  }
  const harness = join(makeTempDir('auth-bench-cold-'), 'harness.mjs')
  writeFileSync(harness, HARNESS)
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...options.env }

  // Both outputs are measured from copies outside the repository, as deployed.
  const copies = [copyOutput(helloProject()), copyOutput(ROOT)]
  const [hello] = listFunctions(copies[0]!)
  if (!hello) throw new Error('the hello-world build has no function')
  const all = [hello, ...listFunctions(copies[1]!)]
  // Round robin, not one function after another: on a shared machine the load drifts, and each
  // pass then affects every function (and the baseline) alike.
  const samples = all.map(() => [] as { importMs: number; firstAnswerMs: number; status: number }[])
  for (let run = 0; run < options.runs; run++) {
    for (const [i, fn] of all.entries()) samples[i]!.push(await startOnce(harness, fn, env))
  }
  const [helloFigures, ...rest] = all.map((fn, i) => summarise(fn, samples[i]!))
  for (const copy of copies) rmSync(copy, { recursive: true, force: true })
  const helloResult: ColdStart = { ...helloFigures!, ratioToHello: 1 }
  const functions: ColdStart[] = rest.map((f) => ({ ...f, ratioToHello: f.firstAnswerMs / helloFigures!.firstAnswerMs }))
  return { runs: options.runs, built, hello: helloResult, functions }
}

/** The report's lines: a caption, the table, and the spread of the ratios. */
export function describeColdStarts(report: ColdStartReport): string[] {
  const ratios = report.functions.map((f) => f.ratioToHello)
  const db = report.functions.filter((f) => DATABASE_FREE.every((name) => !f.function.startsWith(name)))
  return [
    `Cold start (#9 item 3, #20): fresh \`node\` per sample, median of ${report.runs}; handler imported from the .func bundle copied out of the repository (as deployed), one GET answered${report.built ? ' (built now)' : ' (existing .vercel/output)'}`,
    table(
      ['function', 'bundle', 'files', 'import ms', 'first answer ms', 'x hello', 'status'],
      [report.hello, ...report.functions].map((c) => [
        c === report.hello ? 'hello-world (baseline)' : c.function,
        `${(c.bundleBytes / 2 ** 20).toFixed(2)} MiB`,
        String(c.files),
        fmt(c.importMs),
        fmt(c.firstAnswerMs),
        fmt(c.ratioToHello),
        String(c.status),
      ]),
    ),
    `x hello over all functions: median ${fmt(median(ratios))}, max ${fmt(Math.max(...ratios))}; ` +
      `functions that use the database: median ${fmt(median(db.map((f) => f.ratioToHello)))}, max ${fmt(Math.max(...db.map((f) => f.ratioToHello)))}`,
  ]
}

// Functions whose first answer needs no database (the rest load the driver to answer).
const DATABASE_FREE = ['api/docs', 'api/jwks', 'api/openapi.json']
