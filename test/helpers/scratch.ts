// A newcomer's checkout: the files `npm run dev` and `npm run seed` read, copied to a temporary
// directory with `.env.example` copied to `.env` (what the README's first steps invite), and
// node_modules linked rather than installed again. Commands run there through npm, as a user
// types them, in an environment without any variable `.env.example` names, so the copy's own
// `.env` is what speaks. Test-only code.
import { spawn, type ChildProcess } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { whenReady } from './ready.js'

const ROOT = join(import.meta.dirname, '../..')
// What the runner, the seed script and npm read; tests, docs and benchmarks stay behind.
const COPIED = ['api', 'lib', 'scripts', 'public', 'package.json', 'vercel.json', 'tsconfig.json', '.env.example']
// A cold `npm run dev` (npm, tsx, the first admin's bcrypt at .env's cost 12) on a loaded 2-core machine.
const START_TIMEOUT_MS = 60_000

export interface Scratch {
  dir: string
  remove(): void
}

export function makeScratchCopy(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'newcomer-'))
  for (const name of COPIED) cpSync(join(ROOT, name), join(dir, name), { recursive: true })
  cpSync(join(ROOT, '.env.example'), join(dir, '.env'))
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** The test run's environment without the service's variables or npm's own settings. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const named = new Set(
    readFileSync(join(ROOT, '.env.example'), 'utf8')
      .split('\n')
      .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined),
  )
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!named.has(name) && !name.startsWith('npm_') && name !== 'TEST_MONGODB_URI') env[name] = value
  }
  return { ...env, ...extra }
}

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** `npm run <script> -- <args>` in the copy, to completion. */
export function npmRun(scratch: Scratch, script: string, args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<Result> {
  const child = spawn('npm', ['run', '--silent', script, '--', ...args], { cwd: scratch.dir, env: userEnv(opts.env ?? {}), stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  child.stdin.end(opts.stdin ?? '')
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

export interface Dev {
  url: string
  output(): string
  fetch(path: string, init?: RequestInit): Promise<Response>
  /** SIGTERM to npm and the runner; resolves once the whole process group is gone. */
  stop(): Promise<void>
}

/** `npm run dev` in the copy, resolved once it prints its Ready line. */
export async function startNpmDev(scratch: Scratch, env: Record<string, string> = {}): Promise<Dev> {
  // A process group of its own: npm, its shell and the runner are stopped together.
  const child: ChildProcess = spawn('npm', ['run', 'dev'], { cwd: scratch.dir, env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const group = -child.pid!
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // A test process that dies without its afterAll takes the runner with it.
  const reap = () => {
    try {
      process.kill(group, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  process.once('exit', reap)
  const { url, output } = await whenReady(child, 'npm run dev', START_TIMEOUT_MS, reap)
  return {
    url,
    output,
    fetch: (path, init) => fetch(url + path, init),
    stop: async () => {
      try {
        process.kill(group, 'SIGTERM')
      } catch {
        return
      }
      await exited
      // npm may exit before the runner has finished its own shutdown: wait for the group.
      for (let i = 0; i < 100 && groupAlive(group); i++) await new Promise((r) => setTimeout(r, 50))
      process.off('exit', reap)
    },
  }
}

function groupAlive(group: number): boolean {
  try {
    process.kill(group, 0)
    return true
  } catch {
    return false
  }
}
