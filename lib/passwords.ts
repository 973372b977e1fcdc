// Password hashing with bcryptjs. bcrypt reads at most 72 bytes: a longer password is refused
// by the schemas, never silently cut here. Verification of an unknown user still runs a full
// compare against a dummy hash, so timing does not tell which usernames exist.
//
// Verification also takes argon2 hashes in PHC form (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`,
// as passlib and argon2-cffi write them): users imported from the FastAPI project keep their
// password, and the login that proves it stores a bcrypt hash in its place (lib/login.ts). Only
// bcrypt and argon2 (id, i, d; version 19) verify; any other stored string never matches. argon2
// runs on hash-wasm's WebAssembly build: no install script, no native binary, and no .wasm file
// read at run time (the module is inlined in the JS), so Vercel's tracer ships it with a
// static import like any other JS.
//
// bcryptjs is pure JavaScript: one cost-12 hash holds a CPU for a few hundred milliseconds, and
// on the main thread a burst of logins would stall every other request of the instance (issue
// #9). So the work runs in a small pool of worker threads, one job per worker at a time, in
// arrival order. Passwords cross to the workers by postMessage only (in-process memory); they are
// never logged. When a worker cannot be started, the same work runs in-thread, as before.
import bcrypt from 'bcryptjs'
import argon2Wasm from 'hash-wasm/dist/argon2.umd.min.js'
import { timingSafeEqual } from 'node:crypto'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { getConfig } from './config.js'
import { describeError, log } from './log.js'

export const PASSWORD_MAX_BYTES = 72

type Job =
  | { op: 'hash'; password: string; cost: number }
  | { op: 'compare'; password: string; hash: string }
  | { op: 'argon2'; password: string; params: Argon2Params }

type JobResult = string | boolean | Uint8Array

interface Pending {
  job: Job
  resolve(value: JobResult): void
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
// .ts worker needs the loader. It requires bcryptjs and hash-wasm's argon2 build by the absolute
// paths the parent resolved, as an eval'd script resolves bare names from the process cwd, not
// from this module; both files are in the bundle because this module imports them statically.
// argon2 is loaded on the first argon2 job: most instances never see one. The worker computes
// the argon2 output only; the comparison is the parent's (one constant-time compare, in one place).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const bcrypt = require(workerData.bcryptPath)
let argon2
parentPort.postMessage({ ready: true })
async function run(job) {
  if (job.op === 'hash') return bcrypt.hashSync(job.password, job.cost)
  if (job.op === 'compare') return bcrypt.compareSync(job.password, job.hash)
  argon2 = argon2 || require(workerData.argon2Path)
  const p = job.params
  return argon2[p.type]({ password: job.password, salt: p.salt, memorySize: p.memoryKiB, iterations: p.iterations, parallelism: p.parallelism, hashLength: p.expected.length, outputType: 'binary' })
}
parentPort.on('message', (job) => {
  run(job).then(
    (value) => parentPort.postMessage({ ok: true, value }),
    (err) => parentPort.postMessage({ ok: false, message: String((err && err.message) || err) }),
  )
})
`

// One core is left to the event loop: with a worker on every core, a burst of logins takes CPU
// time from the requests the pool is there to protect (on 2 cores, /users/me p99 beside logins
// at concurrency 4 was 1.8-3.8x its p99 alone with 2 workers, 0.7-1.8x with 1, at much the same
// login rate; see BENCHMARKS.md). At most 4: beyond that, workers only queue in the OS instead
// of here, and cost memory.
let poolSize = Math.min(4, Math.max(1, availableParallelism() - 1))
// A worker that keeps dying (out of memory, a broken install) should not be restarted forever.
const MAX_CRASHES = 3

const slots: Slot[] = []
const queue: Pending[] = []
let crashes = 0
let inThread = false
let modulePaths: { bcryptPath: string; argon2Path: string } | undefined

function runInThread(job: Job): Promise<JobResult> {
  if (job.op === 'hash') return bcrypt.hash(job.password, job.cost)
  if (job.op === 'compare') return bcrypt.compare(job.password, job.hash)
  return computeArgon2(job.password, job.params)
}

function computeArgon2(password: string, p: Argon2Params): Promise<Uint8Array> {
  return argon2Wasm[p.type]({
    password,
    salt: p.salt,
    memorySize: p.memoryKiB,
    iterations: p.iterations,
    parallelism: p.parallelism,
    hashLength: p.expected.length,
    outputType: 'binary',
  })
}

/** Gives up on workers for the life of the instance; what was queued runs in-thread. */
function fallBack(reason: unknown): void {
  if (!inThread) log('warn', 'passwords.worker_unavailable', { detail: 'bcrypt and argon2 run on the main thread', ...describeError(reason) })
  inThread = true
  for (const slot of slots.splice(0)) {
    if (slot.busy) queue.unshift(slot.busy)
    void slot.worker.terminate()
  }
  for (const pending of queue.splice(0)) runInThread(pending.job).then(pending.resolve, pending.reject)
}

function startWorker(): Slot | undefined {
  try {
    const require = createRequire(import.meta.url)
    modulePaths ??= { bcryptPath: require.resolve('bcryptjs'), argon2Path: require.resolve('hash-wasm/dist/argon2.umd.min.js') }
    // execArgv: []: the worker runs plain CommonJS and needs no loader (tsx would slow its start).
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: modulePaths, execArgv: [] })
    const slot: Slot = { worker, ready: false }
    // Idle workers never keep a process alive; one with a job in flight is ref'd while it works,
    // so a CLI that awaits a hash (seed) does not exit under it.
    worker.unref()
    worker.on('message', (msg: { ready?: true; ok?: boolean; value?: JobResult; message?: string }) => {
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
    worker.on('exit', (code) => lost(new Error(`password worker exited with code ${code}`)))
    slots.push(slot)
    return slot
  } catch (err) {
    fallBack(err)
    return undefined
  }
}

function dispatch(): void {
  while (queue.length > 0 && !inThread) {
    const slot = slots.find((s) => !s.busy) ?? (slots.length < poolSize ? startWorker() : undefined)
    if (!slot) return
    const pending = queue.shift()!
    slot.busy = pending
    slot.worker.ref()
    slot.worker.postMessage(pending.job)
  }
}

function run(job: Job): Promise<JobResult> {
  if (inThread) return runInThread(job)
  return new Promise((resolve, reject) => {
    queue.push({ job, resolve, reject })
    dispatch()
  })
}

/**
 * How many worker threads may hash at once. For local tools only: the seed script hashes a file
 * on every core it is given, with nothing else to serve; the service keeps the default above.
 */
export function setPasswordWorkers(count: number): void {
  poolSize = Math.max(1, Math.min(Math.floor(count), availableParallelism()))
  dispatch()
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

/**
 * True when `password` matches `hash` (bcrypt or argon2); with no hash, does the same work as a
 * bcrypt compare and answers false. A stored string of any other form never matches.
 */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  const cost = getConfig().bcryptCost
  // One debug line per compare (never what was compared): how many guesses a burst really got
  // to try, which the per-account limit keeps at five (throttle.ts).
  log('debug', 'password.compare')
  const argon2 = hash === undefined ? undefined : parseArgon2Hash(hash)
  // argon2 has no 72-byte limit: an imported user whose password is longer still proves it (and
  // keeps the argon2 hash, as bcrypt cannot take it; see canRehashToBcrypt).
  if (argon2?.params) return password.length > 0 && verifyArgon2(password, argon2.params)
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
    await compare('x', await dummyHash(cost))
    return false
  }
  if (!hash || !isBcryptHash(hash)) {
    // An unknown user, or a stored string that is no hash we verify: the same work, no match.
    if (hash) log('error', 'passwords.unknown_hash_format', { detail: argon2?.problem ?? 'neither bcrypt nor argon2' })
    await compare(password, await dummyHash(cost))
    return false
  }
  return compare(password, hash)
}

async function verifyArgon2(password: string, params: Argon2Params): Promise<boolean> {
  const actual = (await run({ op: 'argon2', password, params })) as Uint8Array
  // Constant-time, so the time of a wrong guess says nothing about how much of the hash it matched.
  return actual.length === params.expected.length && timingSafeEqual(actual, params.expected)
}

/** A hash made at a lower cost than configured, or not by bcrypt, is replaced on the next successful login. */
export function needsRehash(hash: string): boolean {
  const cost = Number(/^\$2[aby]\$(\d{2})\$/.exec(hash)?.[1])
  return !Number.isFinite(cost) || cost < getConfig().bcryptCost
}

/** bcrypt reads 72 bytes: a longer password (possible under argon2) cannot be moved to bcrypt whole. */
export function canRehashToBcrypt(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') <= PASSWORD_MAX_BYTES
}

export function isBcryptHash(value: string): boolean {
  return /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/.test(value)
}

// --- argon2 (PHC string format) -------------------------------------------------------------

export type Argon2Type = 'argon2id' | 'argon2i' | 'argon2d'

export interface Argon2Params {
  type: Argon2Type
  memoryKiB: number
  iterations: number
  parallelism: number
  salt: Uint8Array
  /** The stored output; its length is the output length to compute. */
  expected: Uint8Array
}

// Bounds on what we agree to verify. They keep one login from taking the instance's memory or
// minutes of CPU, and are far above what password libraries write (passlib 1.7.4: m=102400 KiB,
// t=2, p=8; argon2-cffi: m=65536, t=3, p=4; RFC 9106's first recommendation, m=2 GiB, t=1, is
// beyond them and refused at import). Salt and output follow RFC 9106 (salt of 8 bytes or more).
export const ARGON2_LIMITS = { maxMemoryKiB: 1024 * 1024, maxIterations: 32, maxParallelism: 64, minSaltBytes: 8, maxSaltBytes: 64, minHashBytes: 4, maxHashBytes: 128 } as const

const PHC_ARGON2 = /^\$(argon2id|argon2i|argon2d)\$(?:v=(\d+)\$)?([^$]*)\$([^$]*)\$([^$]*)$/

/** PHC's B64: standard alphabet, no padding; decoded only when it is the canonical encoding. */
function decodeB64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+$/.test(text) || text.length % 4 === 1) return undefined
  const bytes = Buffer.from(text, 'base64')
  return bytes.toString('base64').replace(/=+$/, '') === text ? new Uint8Array(bytes) : undefined
}

/**
 * Reads an argon2 PHC string: `params` when we can verify it, else `problem` (why not; never
 * quoting the salt or hash) when it is argon2-shaped, and neither for any other string.
 */
export function parseArgon2Hash(value: string): { params?: Argon2Params; problem?: string } {
  const m = PHC_ARGON2.exec(value)
  if (!m) return {}
  const [, type, version, paramText, saltText, hashText] = m as unknown as [string, Argon2Type, string | undefined, string, string, string]
  const L = ARGON2_LIMITS
  // hash-wasm implements version 0x13 (19), what every library has written since 2016; a string
  // without v= is version 0x10 (16).
  if (version !== '19') return { problem: `${type} version ${version ?? '16 (no v=)'} is not supported (only v=19)` }
  const pm = /^m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,10})$/.exec(paramText)
  if (!pm) return { problem: `${type} parameters must be m=..,t=..,p=.. (no keyid or data)` }
  const [memoryKiB, iterations, parallelism] = [Number(pm[1]), Number(pm[2]), Number(pm[3])]
  if (parallelism < 1 || parallelism > L.maxParallelism) return { problem: `${type} p=${parallelism} is outside 1-${L.maxParallelism}` }
  if (memoryKiB < 8 * parallelism || memoryKiB > L.maxMemoryKiB) return { problem: `${type} m=${memoryKiB} is outside ${8 * parallelism}-${L.maxMemoryKiB} KiB` }
  if (iterations < 1 || iterations > L.maxIterations) return { problem: `${type} t=${iterations} is outside 1-${L.maxIterations}` }
  const salt = decodeB64(saltText)
  if (!salt || salt.length < L.minSaltBytes || salt.length > L.maxSaltBytes) return { problem: `${type} salt must be ${L.minSaltBytes}-${L.maxSaltBytes} bytes of unpadded base64` }
  const expected = decodeB64(hashText)
  if (!expected || expected.length < L.minHashBytes || expected.length > L.maxHashBytes) return { problem: `${type} output must be ${L.minHashBytes}-${L.maxHashBytes} bytes of unpadded base64` }
  return { params: { type, memoryKiB, iterations, parallelism, salt, expected } }
}

/** What scheme a stored hash is, for logs and the audit trail (never the hash itself). */
export function hashScheme(value: string): 'bcrypt' | Argon2Type | 'unknown' {
  if (isBcryptHash(value)) return 'bcrypt'
  return parseArgon2Hash(value).params?.type ?? 'unknown'
}

/**
 * Why a hash cannot be imported, or undefined when it can: bcrypt ($2a$/$2b$/$2y$) and argon2
 * (id, i, d; v=19) within ARGON2_LIMITS. The reason names a scheme, never the hash's content.
 */
export function importableHashProblem(value: unknown): string | undefined {
  const accepted = 'accepted: bcrypt ($2a$/$2b$/$2y$) and argon2id/argon2i/argon2d (PHC, v=19)'
  if (typeof value !== 'string') return `must be a string (${accepted})`
  if (isBcryptHash(value)) return undefined
  const argon2 = parseArgon2Hash(value)
  if (argon2.params) return undefined
  if (argon2.problem) return argon2.problem
  if (/^\$2[aby]\$/.test(value)) return 'is not a well-formed bcrypt hash (cost 04-31, 53 characters of salt and hash)'
  // A PHC identifier (`$pbkdf2-sha256$...`) or crypt(3)'s `$6$` is a scheme name, safe to
  // repeat; anything else is not.
  const scheme = /^\$([a-z0-9-]{1,32})\$/.exec(value)?.[1]
  if (!scheme) return `is not a hash this service can verify (${accepted})`
  return `${/^\d+$/.test(scheme) ? `crypt $${scheme}$` : scheme} hashes are not supported (${accepted})`
}
