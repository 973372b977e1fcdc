// Owns durability in data-dir mode: the PID lock file, the checksummed write-ahead journal with
// group commit (fsync before acknowledgment), snapshot + journal recovery, and compaction.
//
// Files in the data directory:
//   mongod.lock    PID of the owning process
//   snapshot.bson  full state as of journal generation G (written to .tmp, fsynced, renamed)
//   journal.bin    header {gen: G} then one record per acknowledged write command
// A record is [u32 payload length][u32 crc32(payload)][payload = concatenated BSON documents].
// The journal is replayed only when its generation equals the snapshot's, so a crash between the
// snapshot rename and the journal reset can never apply the same changes twice.
import fs from 'node:fs'
import path from 'node:path'
import { crc32 } from 'node:zlib'
import { promisify } from 'node:util'
import { BSON } from 'bson'
import type { Engine, Op } from './engine.js'
import { Collection, type IndexSpec } from './collection.js'
import { DESERIALIZE_OPTIONS } from './wire.js'
import type { Doc } from './values.js'

const LOCK = 'mongod.lock'
const SNAPSHOT = 'snapshot.bson'
const JOURNAL = 'journal.bin'
const HEADER_BYTES = 8
/** Above this the journal is folded into a new snapshot. */
const COMPACT_AT_BYTES = 64 * 1024 * 1024
const SNAPSHOT_DOCS_PER_RECORD = 1000

const write = promisify(fs.write)
const fdatasync = promisify(fs.fdatasync)

/** Directories locked by this process, so a second server in the same process is refused too. */
const heldLocks = new Set<string>()

export class DataDirLockedError extends Error {}

function frame(docs: Doc[]): Buffer {
  const parts = docs.map((d) => BSON.serialize(d, { checkKeys: false }))
  const payload = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  const head = Buffer.allocUnsafe(HEADER_BYTES)
  head.writeUInt32LE(payload.length, 0)
  head.writeUInt32LE(crc32(payload), 4)
  return Buffer.concat([head, payload])
}

function unframe(payload: Buffer): Doc[] {
  const docs: Doc[] = []
  let off = 0
  while (off < payload.length) {
    const len = payload.readInt32LE(off)
    docs.push(BSON.deserialize(payload.subarray(off, off + len), DESERIALIZE_OPTIONS) as Doc)
    off += len
  }
  return docs
}

/** Valid records from the start of a file; stops at the first torn or corrupt one. */
function readRecords(buf: Buffer): { records: Doc[][]; validBytes: number } {
  const records: Doc[][] = []
  let off = 0
  while (off + HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32LE(off)
    const sum = buf.readUInt32LE(off + 4)
    const end = off + HEADER_BYTES + len
    if (len < 5 || end > buf.length) break
    const payload = buf.subarray(off + HEADER_BYTES, end)
    if (crc32(payload) !== sum) break
    try {
      records.push(unframe(payload))
    } catch {
      break
    }
    off = end
  }
  return { records, validBytes: off }
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

function writeFileDurably(file: string, chunks: Iterable<Buffer>): void {
  const tmp = file + '.tmp'
  const fd = fs.openSync(tmp, 'w')
  try {
    for (const c of chunks) {
      let off = 0
      while (off < c.length) off += fs.writeSync(fd, c, off)
    }
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
  fsyncDir(path.dirname(file))
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function acquireLock(dir: string, label: string): string {
  const file = path.join(dir, LOCK)
  const key = path.resolve(file)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx')
      fs.writeSync(fd, String(process.pid))
      fs.fsyncSync(fd)
      fs.closeSync(fd)
      heldLocks.add(key)
      return file
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let pid = NaN
    try {
      pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10)
    } catch {
      continue
    }
    const ours = pid === process.pid
    if (Number.isInteger(pid) && pid > 0 && ((ours && heldLocks.has(key)) || (!ours && isAlive(pid))))
      throw new DataDirLockedError(`data directory ${label} is in use by process ${pid}`)
    // The owner is gone (crash or kill -9): take the stale lock over.
    fs.rmSync(file, { force: true })
  }
  throw new DataDirLockedError(`could not acquire the lock on data directory ${label}`)
}

interface Pending {
  buf: Buffer
  resolve: () => void
  reject: (err: Error) => void
}

export class Storage {
  private pending: Pending[] = []
  private flushing: Promise<void> | undefined
  private closed = false

  private constructor(
    private readonly dir: string,
    private readonly engine: Engine,
    private readonly lockFile: string,
    private fd: number,
    private gen: number,
    private journalBytes: number,
  ) {}

  static async open(dir: string, engine: Engine): Promise<Storage> {
    fs.mkdirSync(dir, { recursive: true })
    const lockFile = acquireLock(dir, dir)
    try {
      for (const f of [SNAPSHOT, JOURNAL]) fs.rmSync(path.join(dir, f + '.tmp'), { force: true })
      const gen = loadSnapshot(path.join(dir, SNAPSHOT), engine)
      const journalPath = path.join(dir, JOURNAL)
      let journalBytes = 0
      let reset = true
      if (fs.existsSync(journalPath)) {
        const { records, validBytes } = readRecords(fs.readFileSync(journalPath))
        const header = records[0]?.[0]
        if (header && header.gen === gen) {
          replay(engine, records.slice(1))
          // Drop a torn tail now, so that new records are not appended behind garbage.
          fs.truncateSync(journalPath, validBytes)
          journalBytes = validBytes
          reset = false
        } else if (header && typeof header.gen === 'number' && header.gen > gen) {
          throw new Error(`journal generation ${header.gen} is newer than snapshot generation ${gen} in ${dir}; refusing to start`)
        }
      }
      if (reset) {
        const head = frame([{ gen }])
        writeFileDurably(journalPath, [head])
        journalBytes = head.length
      }
      const fd = fs.openSync(journalPath, 'a')
      const storage = new Storage(dir, engine, lockFile, fd, gen, journalBytes)
      engine.persist = (ops) => storage.commit(ops)
      return storage
    } catch (err) {
      fs.rmSync(lockFile, { force: true })
      heldLocks.delete(path.resolve(lockFile))
      throw err
    }
  }

  /** Queues one write command's operations; resolves after they are fsynced (group commit). */
  commit(ops: Op[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('storage is closed'))
    const buf = frame(ops as unknown as Doc[])
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ buf, resolve, reject })
      this.flushing ??= this.flushLoop()
    })
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0)
        try {
          if (this.journalBytes >= COMPACT_AT_BYTES) {
            // Everything in `batch` is already applied in memory, so the snapshot covers it.
            this.compact()
          } else {
            const data = batch.length === 1 ? batch[0]!.buf : Buffer.concat(batch.map((p) => p.buf))
            let off = 0
            while (off < data.length) off += (await write(this.fd, data, off, data.length - off, null)).bytesWritten
            await fdatasync(this.fd)
            this.journalBytes += data.length
          }
          for (const p of batch) p.resolve()
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err))
          console.error(`[embedded-mongo] journal write failed: ${e.message}`)
          for (const p of batch) p.reject(e)
        }
      }
    } finally {
      this.flushing = undefined
    }
  }

  /** Writes the whole state as a new snapshot generation, then starts an empty journal for it. */
  compact(): void {
    const next = this.gen + 1
    writeFileDurably(path.join(this.dir, SNAPSHOT), snapshotChunks(this.engine, next))
    const head = frame([{ gen: next }])
    writeFileDurably(path.join(this.dir, JOURNAL), [head])
    fs.closeSync(this.fd)
    this.fd = fs.openSync(path.join(this.dir, JOURNAL), 'a')
    this.gen = next
    this.journalBytes = head.length
  }

  /** Flushes pending writes, folds the journal into a snapshot and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return
    while (this.flushing) await this.flushing
    this.closed = true
    this.engine.persist = undefined
    try {
      if (this.journalBytes > HEADER_BYTES + 16) this.compact()
    } finally {
      fs.closeSync(this.fd)
      fs.rmSync(this.lockFile, { force: true })
      heldLocks.delete(path.resolve(this.lockFile))
    }
  }
}

function* snapshotChunks(engine: Engine, gen: number): Generator<Buffer> {
  yield frame([{ t: 'h', v: 1, gen }])
  let collections = 0
  for (const coll of engine.allCollections()) {
    collections++
    yield frame([{ t: 'c', ns: coll.ns, opts: coll.options, uuid: coll.uuid, indexes: coll.indexSpecs().filter((s) => s.name !== '_id_') }])
    let chunk: Doc[] = [{ t: 'd', ns: coll.ns }]
    for (const doc of coll.docs.values()) {
      chunk.push(doc)
      if (chunk.length > SNAPSHOT_DOCS_PER_RECORD) {
        yield frame(chunk)
        chunk = [{ t: 'd', ns: coll.ns }]
      }
    }
    if (chunk.length > 1) yield frame(chunk)
  }
  yield frame([{ t: 'e', collections }])
}

/** Loads snapshot.bson into the engine and returns its generation (0 when there is none). */
function loadSnapshot(file: string, engine: Engine): number {
  if (!fs.existsSync(file)) return 0
  const buf = fs.readFileSync(file)
  const { records, validBytes } = readRecords(buf)
  const head = records[0]?.[0]
  const last = records[records.length - 1]?.[0]
  // The snapshot is renamed into place only when complete, so damage here is real corruption.
  if (!head || head.t !== 'h' || !last || last.t !== 'e' || validBytes !== buf.length)
    throw new Error(`snapshot ${file} is corrupt; restore it from a backup or move it away to start empty`)
  const touched: Collection[] = []
  for (const rec of records.slice(1, -1)) {
    const meta = rec[0]!
    const [db, name] = splitNamespace(String(meta.ns))
    if (meta.t === 'c') {
      engine.apply({ o: 'cc', ns: String(meta.ns), opts: (meta.opts as Doc) ?? {}, uuid: String(meta.uuid) })
      const coll = engine.collection(db, name)!
      for (const spec of (meta.indexes as IndexSpec[]) ?? []) coll.addIndex(spec, false)
      coll.beginBulk()
      touched.push(coll)
    } else if (meta.t === 'd') {
      const coll = engine.collection(db, name)!
      for (let i = 1; i < rec.length; i++) coll.put(rec[i]!)
    }
  }
  for (const c of touched) c.endBulk()
  return Number(head.gen)
}

function splitNamespace(ns: string): [string, string] {
  const i = ns.indexOf('.')
  return [ns.slice(0, i), ns.slice(i + 1)]
}

function replay(engine: Engine, records: Doc[][]): void {
  const colls = engine.allCollections()
  for (const c of colls) c.beginBulk()
  for (const ops of records) for (const op of ops) engine.apply(op as unknown as Op)
  for (const c of engine.allCollections()) c.endBulk()
}
