// Password hashing with bcryptjs. bcrypt reads at most 72 bytes: a longer password is refused
// by the schemas, never silently cut here. Verification of an unknown user still runs a full
// compare against a dummy hash, so timing does not tell which usernames exist.
//
// bcryptjs is pure JavaScript: one cost-12 hash holds a CPU for a few hundred milliseconds, and
// on the main thread a burst of logins would stall every other request of the instance (issue
// #9). So the work runs in a small pool of worker threads, one job per worker at a time, in
// arrival order. Passwords cross to the workers by postMessage only (in-process memory); they are
// never logged. When a worker cannot be started, the same work runs in-thread, as before.
import bcrypt from 'bcryptjs'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { getConfig } from './config.js'
import { describeError, log } from './log.js'

export const PASSWORD_MAX_BYTES = 72

type Job =
  | { op: 'hash'; password: string; cost: number }
  | { op: 'compare'; password: string; hash: string }

interface Pending {
  job: Job
  resolve(value: string | boolean): void
  reject(err: Error): void
}

interface Slot {
  worker: Worker
  busy?: Pending
  /** bcryptjs loaded in the worker: a later death is a crash, an earlier one a broken setup. */
  ready: boolean
}

// The worker is an eval'd CommonJS script, not a file: a file would have to be found at run time
// next to the compiled function (Vercel's bundler only copies what is imported), and under tsx a
// .ts worker needs the loader. It requires bcryptjs by the absolute path the parent resolved, as
// an eval'd script resolves bare names from the process cwd, not from this module.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const bcrypt = require(workerData.bcryptPath)
parentPort.postMessage({ ready: true })
parentPort.on('message', (job) => {
  try {
    const value = job.op === 'hash' ? bcrypt.hashSync(job.password, job.cost) : bcrypt.compareSync(job.password, job.hash)
    parentPort.postMessage({ ok: true, value })
  } catch (err) {
    parentPort.postMessage({ ok: false, message: String((err && err.message) || err) })
  }
})
`

// One core is left to the event loop: with a worker on every core, a burst of logins takes CPU
// time from the requests the pool is there to protect (on 2 cores, /users/me p99 beside logins
// at concurrency 4 was 1.8-3.8x its p99 alone with 2 workers, 0.7-1.8x with 1, at much the same
// login rate; see BENCHMARKS.md). At most 4: beyond that, workers only queue in the OS instead
// of here, and cost memory.
const POOL_SIZE = Math.min(4, Math.max(1, availableParallelism() - 1))
// A worker that keeps dying (out of memory, a broken install) should not be restarted forever.
const MAX_CRASHES = 3

const slots: Slot[] = []
const queue: Pending[] = []
let crashes = 0
let inThread = false
let bcryptPath: string | undefined

function runInThread(job: Job): Promise<string | boolean> {
  return job.op === 'hash' ? bcrypt.hash(job.password, job.cost) : bcrypt.compare(job.password, job.hash)
}

/** Gives up on workers for the life of the instance; what was queued runs in-thread. */
function fallBack(reason: unknown): void {
  if (!inThread) log('warn', 'passwords.worker_unavailable', { detail: 'bcrypt runs on the main thread', ...describeError(reason) })
  inThread = true
  for (const slot of slots.splice(0)) {
    if (slot.busy) queue.unshift(slot.busy)
    void slot.worker.terminate()
  }
  for (const pending of queue.splice(0)) runInThread(pending.job).then(pending.resolve, pending.reject)
}

function startWorker(): Slot | undefined {
  try {
    bcryptPath ??= createRequire(import.meta.url).resolve('bcryptjs')
    // execArgv: []: the worker runs plain CommonJS and needs no loader (tsx would slow its start).
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath }, execArgv: [] })
    const slot: Slot = { worker, ready: false }
    // Idle workers never keep a process alive; one with a job in flight is ref'd while it works,
    // so a CLI that awaits a hash (seed) does not exit under it.
    worker.unref()
    worker.on('message', (msg: { ready?: true; ok?: boolean; value?: string | boolean; message?: string }) => {
      if (msg.ready) {
        slot.ready = true
        return
      }
      const pending = slot.busy
      slot.busy = undefined
      worker.unref()
      if (pending) {
        if (msg.ok) pending.resolve(msg.value!)
        else pending.reject(new Error(msg.message))
      }
      dispatch()
    })
    const lost = (reason: unknown) => {
      const index = slots.indexOf(slot)
      if (index === -1) return
      slots.splice(index, 1)
      const pending = slot.busy
      slot.busy = undefined
      if (pending) queue.unshift(pending)
      // A worker that never came up will not come up next time either.
      if (!slot.ready || ++crashes >= MAX_CRASHES) fallBack(reason)
      else dispatch()
    }
    worker.on('error', lost)
    worker.on('exit', (code) => lost(new Error(`bcrypt worker exited with code ${code}`)))
    slots.push(slot)
    return slot
  } catch (err) {
    fallBack(err)
    return undefined
  }
}

function dispatch(): void {
  while (queue.length > 0 && !inThread) {
    const slot = slots.find((s) => !s.busy) ?? (slots.length < POOL_SIZE ? startWorker() : undefined)
    if (!slot) return
    const pending = queue.shift()!
    slot.busy = pending
    slot.worker.ref()
    slot.worker.postMessage(pending.job)
  }
}

function run(job: Job): Promise<string | boolean> {
  if (inThread) return runInThread(job)
  return new Promise((resolve, reject) => {
    queue.push({ job, resolve, reject })
    dispatch()
  })
}

export async function hashPassword(password: string, cost = getConfig().bcryptCost): Promise<string> {
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) throw new RangeError('password longer than 72 bytes')
  return (await run({ op: 'hash', password, cost })) as string
}

const dummyHashes = new Map<number, Promise<string>>()

function dummyHash(cost: number): Promise<string> {
  let hash = dummyHashes.get(cost)
  if (!hash) {
    hash = run({ op: 'hash', password: 'dummy password for absent users', cost }) as Promise<string>
    dummyHashes.set(cost, hash)
    // A failed computation is not cached: the next login tries again.
    hash.catch(() => dummyHashes.delete(cost))
  }
  return hash
}

async function compare(password: string, hash: string): Promise<boolean> {
  return (await run({ op: 'compare', password, hash })) as boolean
}

/** True when `password` matches `hash`; with no hash, does the same work and answers false. */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  const cost = getConfig().bcryptCost
  // One debug line per compare (never what was compared): how many guesses a burst really got
  // to try, which the per-account limit keeps at five (throttle.ts).
  log('debug', 'password.compare')
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
    await compare('x', await dummyHash(cost))
    return false
  }
  if (!hash) {
    await compare(password, await dummyHash(cost))
    return false
  }
  return compare(password, hash)
}

/** A hash made at a lower cost than configured is upgraded on the next successful login. */
export function needsRehash(hash: string): boolean {
  const cost = Number(/^\$2[aby]\$(\d{2})\$/.exec(hash)?.[1])
  return !Number.isFinite(cost) || cost < getConfig().bcryptCost
}

export function isBcryptHash(value: string): boolean {
  return /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/.test(value)
}
