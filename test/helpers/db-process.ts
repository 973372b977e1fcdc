// The embedded database in a process of its own (`scripts/db.ts`), for tests that must take the
// database away from a running service (kill -9, restart) or keep its memory apart from the
// runner's. Stop, kill and restart wait for the process to be gone, so a test never races a
// half-dead server for its port or data directory.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dirname, '../..')
// A cold `node --import tsx` takes a few seconds on a loaded 2-core machine; far more means it is stuck.
const START_TIMEOUT_MS = 30_000

export interface DbProcessOptions {
  /** 0 (default) picks a free port; a restart reuses the port actually bound. */
  port?: number
  /** Journaled data directory; a restart sees what was written before. */
  dataDir?: string
  /** Keep everything in memory (default when no dataDir is given). */
  memory?: boolean
}

export interface DbProcess {
  uri: string
  port: number
  /** The current process (a restart changes it). */
  pid(): number
  isRunning(): boolean
  /** Everything every incarnation wrote to stdout and stderr. */
  output(): string
  /** SIGTERM: flushes and exits cleanly. */
  stop(): Promise<void>
  /** SIGKILL: the crash case; nothing gets flushed that was not already. */
  kill(): Promise<void>
  /** Starts it again on the same port and data directory (after stop or kill). */
  restart(): Promise<void>
}

/** A port that was free a moment ago: bind port 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

interface Started {
  child: ChildProcess
  uri: string
  exited: Promise<void>
}

function spawnDb(args: string[], log: (s: string) => void): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/db.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DOTENV_CONFIG_QUIET: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // Best effort against orphans: a test process that exits without its afterAll (a crash, a
  // timeout) takes its database with it instead of leaving it holding a port on a shared machine.
  const reap = () => child.kill('SIGKILL')
  process.once('exit', reap)
  void exited.then(() => process.off('exit', reap))
  let seen = ''
  return new Promise<Started>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`db process did not start within ${START_TIMEOUT_MS} ms:\n${seen}`))
    }, START_TIMEOUT_MS)
    const onData = (chunk: Buffer) => {
      const text = chunk.toString()
      seen += text
      log(text)
      const m = /ready at (mongodb:\/\/\S+)/.exec(seen)
      if (m) {
        clearTimeout(timer)
        resolve({ child, uri: m[1]!, exited })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`db process exited (${code ?? signal}) before it was ready:\n${seen}`))
    })
  })
}

export async function startDbProcess(opts: DbProcessOptions = {}): Promise<DbProcess> {
  const memory = opts.memory ?? opts.dataDir === undefined
  let output = ''
  const log = (s: string) => {
    output += s
  }
  const argsFor = (port: number) => ['--port', String(port), ...(memory ? ['--memory'] : ['--data-dir', opts.dataDir!])]

  let current = await spawnDb(argsFor(opts.port ?? 0), log)
  const uri = current.uri
  const port = Number(new URL(uri).port)

  const running = () => current.child.exitCode === null && current.child.signalCode === null
  const signal = async (sig: NodeJS.Signals) => {
    if (running()) current.child.kill(sig)
    await current.exited
  }

  return {
    uri,
    port,
    pid: () => current.child.pid!,
    isRunning: running,
    output: () => output,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    restart: async () => {
      if (running()) throw new Error('db process is still running; stop or kill it first')
      current = await spawnDb(argsFor(port), log)
      // The same port gives the same URI, which is what lets a running service find it again.
      if (current.uri !== uri) throw new Error(`restarted at ${current.uri}, not ${uri}`)
    },
  }
}
