// Benchmark processes: the embedded database (`scripts/db.ts`) and the local runner
// (`scripts/dev.ts`), each in a process of its own as a developer runs them, plus the temporary
// project root that adds the constant-JSON floor route beside the real api/ files. Every child
// is killed when the benchmark exits, however it exits. Local tooling only.
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()

function cleanUp(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  children.clear()
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}

// 'exit' handlers must be synchronous: SIGKILL, as there is no time to wait for a clean stop.
process.on('exit', cleanUp)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping the child processes\n`)
    cleanUp()
    process.exit(130)
  })
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

export interface Child {
  process: ChildProcess
  /** Everything it wrote so far (stdout and stderr), for the error message when it fails. */
  output(): string
  stop(): Promise<void>
}

/** Spawns `node --import tsx script` and resolves once `ready` matches its stdout. */
export function startChild(
  script: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; ready: RegExp; timeoutMs?: number },
): Promise<{ child: Child; match: RegExpExecArray }> {
  // tsx by absolute URL: the child's cwd may be a temporary root with no node_modules.
  const tsx = import.meta.resolve('tsx')
  const proc = spawn(process.execPath, ['--import', tsx, script, ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(proc)
  let output = ''
  const child: Child = {
    process: proc,
    output: () => output,
    stop: () =>
      new Promise<void>((done) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return done()
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
        proc.once('exit', () => {
          clearTimeout(timer)
          children.delete(proc)
          done()
        })
        proc.kill('SIGTERM')
      }),
  }
  return new Promise((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${options.timeoutMs ?? 60_000} ms:\n${output}`)), options.timeoutMs ?? 60_000)
    proc.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      stdout += chunk.toString()
      const match = options.ready.exec(stdout)
      if (match) {
        clearTimeout(timer)
        resolve({ child, match })
      }
    })
    proc.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    proc.once('exit', (code, signal) => {
      clearTimeout(timer)
      children.delete(proc)
      reject(new Error(`${script} exited (${signal ?? code}) before it was ready:\n${output}`))
    })
  })
}

export async function startDatabase(): Promise<{ child: Child; uri: string }> {
  const { child, match } = await startChild(join(ROOT, 'scripts/db.ts'), ['--memory', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env },
    ready: /ready at (mongodb:\/\/\S+)/,
  })
  return { child, uri: match[1]! }
}

/**
 * A project root whose api/ serves every real function plus `api/bench-floor.ts`, a constant
 * JSON answer through the same `route()` wrapper and no database. The runner only lists regular
 * files (a symlink is neither a file nor a directory to readdir's Dirent), so each real function
 * gets a one-line re-export at the same path; the module that runs is the real file, with its
 * own relative imports, and every function shares the one copy of lib/ as in the real tree.
 * Nothing is added to the real api/.
 */
export function makeBenchRoot(): string {
  const root = makeTempDir('auth-bench-root-')
  const apiDir = join(ROOT, 'api')
  const walk = (dir: string): void => {
    for (const item of readdirSync(dir, { withFileTypes: true })) {
      const real = join(dir, item.name)
      const rel = relative(apiDir, real)
      if (item.isDirectory()) {
        mkdirSync(join(root, 'api', rel), { recursive: true })
        walk(real)
      } else if (item.isFile() && /\.(ts|tsx|js|mjs)$/.test(item.name) && !item.name.endsWith('.d.ts')) {
        // Helpers (`_x.ts`) are re-exported too, so a function that imports one by a relative
        // path from its real location still finds it; the runner skips them as routes anyway.
        mkdirSync(join(root, 'api', relative(apiDir, dir)), { recursive: true })
        const target = JSON.stringify(pathToFileURL(real).href)
        writeFileSync(join(root, 'api', rel), `export { default } from ${target}\nexport * from ${target}\n`)
      }
    }
  }
  walk(apiDir)
  const http = JSON.stringify(pathToFileURL(join(ROOT, 'lib/http/index.ts')).href)
  writeFileSync(
    join(root, 'api', 'bench-floor.ts'),
    [
      '// The benchmark floor: the route() wrapper and a constant JSON answer, no database.',
      `import { route, send } from ${http}`,
      "export default route({ path: '/api/bench-floor', methods: {} }, { GET: (_req, res) => send(res, 200, { status: 'ok' }) })",
      '',
    ].join('\n'),
  )
  copyFileSync(join(ROOT, 'vercel.json'), join(root, 'vercel.json'))
  // ESM like the real project, and the same compiler settings for tsx.
  copyFileSync(join(ROOT, 'tsconfig.json'), join(root, 'tsconfig.json'))
  writeFileSync(join(root, 'package.json'), '{ "private": true, "type": "module" }\n')
  return root
}

/** `scripts/dev.ts` serving the bench root; dev.ts takes its root and .env from the cwd. */
export async function startRunner(root: string, env: Record<string, string>): Promise<{ child: Child; url: string }> {
  const { child, match } = await startChild(join(ROOT, 'scripts/dev.ts'), [], {
    cwd: root,
    // No inherited LOG_LEVEL or MONGODB_DB from the shell: the figures must not depend on it.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, PORT: '0' },
    ready: /Ready on (http:\/\/\S+)/,
  })
  return { child, url: match[1]! }
}
