// Owns server-side cursors: batching results into firstBatch/nextBatch under the 16 MiB reply cap,
// getMore/killCursors bookkeeping and idle cursor expiry.
import { BSON, Long } from 'bson'
import { MongoServerError } from './errors.js'
import type { Doc } from './values.js'

const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 64 * 1024
const DEFAULT_FIRST_BATCH = 101
/** mongod's cursorTimeoutMillis default. */
const IDLE_TIMEOUT_MS = 10 * 60 * 1000

interface OpenCursor {
  ns: string
  docs: Doc[]
  pos: number
  lastUsed: number
}

export class CursorManager {
  private readonly open = new Map<number, OpenCursor>()
  private nextId = Math.floor(Math.random() * 2 ** 40) + 1

  /** Builds the {cursor:{firstBatch,id,ns}} reply; keeps a cursor only if results remain. */
  first(ns: string, docs: Doc[], batchSize: number | undefined, singleBatch = false): Doc {
    const batch = takeBatch(docs, 0, batchSize ?? DEFAULT_FIRST_BATCH)
    let id = 0
    if (!singleBatch && batch.length < docs.length) {
      id = this.nextId++
      this.open.set(id, { ns, docs, pos: batch.length, lastUsed: Date.now() })
    }
    return { cursor: { firstBatch: batch, id: Long.fromNumber(id), ns }, ok: 1 }
  }

  more(id: number, ns: string, batchSize: number | undefined): Doc {
    const cur = this.open.get(id)
    if (!cur) throw new MongoServerError('CursorNotFound', `cursor id ${id} not found`)
    if (cur.ns !== ns)
      throw new MongoServerError('Unauthorized', `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cur.ns}`)
    const batch = takeBatch(cur.docs, cur.pos, batchSize && batchSize > 0 ? batchSize : Infinity)
    cur.pos += batch.length
    cur.lastUsed = Date.now()
    let outId = id
    if (cur.pos >= cur.docs.length) {
      this.open.delete(id)
      outId = 0
    }
    return { cursor: { nextBatch: batch, id: Long.fromNumber(outId), ns }, ok: 1 }
  }

  kill(ids: number[]): { killed: number[]; notFound: number[] } {
    const killed: number[] = []
    const notFound: number[] = []
    for (const id of ids) (this.open.delete(id) ? killed : notFound).push(id)
    return { killed, notFound }
  }

  sweep(now = Date.now()): void {
    for (const [id, c] of this.open) if (now - c.lastUsed > IDLE_TIMEOUT_MS) this.open.delete(id)
  }

  get size(): number {
    return this.open.size
  }
}

function takeBatch(docs: Doc[], from: number, max: number): Doc[] {
  const out: Doc[] = []
  let bytes = 0
  for (let i = from; i < docs.length && out.length < max; i++) {
    const size = BSON.calculateObjectSize(docs[i]!)
    // Always return at least one document so a cursor makes progress.
    if (out.length > 0 && bytes + size > MAX_BATCH_BYTES) break
    bytes += size
    out.push(docs[i]!)
  }
  return out
}
