// A small pool of worker threads that run bcrypt for the seed script. bcryptjs is pure
// JavaScript: on the main thread it would use one core however many the machine has, so
// each worker takes one hash (or compare) at a time from a shared queue.
//
// The worker is inline source (`eval: true`) rather than a .ts file: under Node 20, tsx's
// `--import` hooks do not reach a worker's entry module (a `.ts` worker fails with
// ERR_UNKNOWN_FILE_EXTENSION), and plain CommonJS needs no loader at all. bcryptjs is resolved
// here and handed over by path, so the worker finds the same copy whatever the cwd.
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const bcrypt = require(workerData.bcryptPath)
parentPort.on('message', (job) => {
  try {
    const result = job.op === 'hash' ? bcrypt.hashSync(job.password, job.cost) : bcrypt.compareSync(job.password, job.hash)
    parentPort.postMessage({ id: job.id, result })
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) })
  }
})
`

type Job = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string }

interface Pending {
  job: Job & { id: number }
  resolve: (value: string | boolean) => void
  reject: (err: Error) => void
}

interface Slot {
  worker: Worker
  busy?: Pending
}

export interface Hasher {
  hash(password: string, cost: number): Promise<string>
  compare(password: string, hash: string): Promise<boolean>
  close(): Promise<void>
}

export class HashPool implements Hasher {
  readonly size: number
  private readonly slots: Slot[] = []
  private readonly queue: Pending[] = []
  private readonly bcryptPath = createRequire(import.meta.url).resolve('bcryptjs')
  private nextId = 1
  private closed = false

  constructor(size = availableParallelism()) {
    this.size = Math.max(1, Math.min(size, availableParallelism()))
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn())
  }

  hash(password: string, cost: number): Promise<string> {
    return this.submit({ op: 'hash', password, cost }) as Promise<string>
  }

  compare(password: string, hash: string): Promise<boolean> {
    return this.submit({ op: 'compare', password, hash }) as Promise<boolean>
  }

  /** Jobs waiting for a worker (not counting those running). */
  get waiting(): number {
    return this.queue.length
  }

  async close(): Promise<void> {
    this.closed = true
    for (const p of this.queue.splice(0)) p.reject(new Error('hash pool closed'))
    await Promise.all(this.slots.map((s) => s.worker.terminate()))
  }

  private submit(job: Job): Promise<string | boolean> {
    if (this.closed) return Promise.reject(new Error('hash pool closed'))
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, id: this.nextId++ }, resolve, reject })
      this.dispatch()
    })
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue
      const next = this.queue.shift()
      if (!next) return
      slot.busy = next
      // A running job keeps the process alive; an idle worker must not (see spawn).
      slot.worker.ref()
      slot.worker.postMessage(next.job)
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath: this.bcryptPath } })
    const slot: Slot = { worker }
    worker.on('message', (msg: { id: number; result?: string | boolean; error?: string }) => {
      const done = slot.busy
      slot.busy = undefined
      if (done && done.job.id === msg.id) {
        if (msg.error !== undefined) done.reject(new Error(msg.error))
        else done.resolve(msg.result!)
      }
      worker.unref()
      this.dispatch()
    })
    // A crashed worker fails only its own job; a fresh one takes its place.
    worker.on('error', (err) => {
      slot.busy?.reject(err)
      slot.busy = undefined
      if (this.closed) return
      const index = this.slots.indexOf(slot)
      if (index >= 0) this.slots[index] = this.spawn()
      this.dispatch()
    })
    // Idle workers must not keep the process alive once the work is done.
    worker.unref()
    return slot
  }
}
