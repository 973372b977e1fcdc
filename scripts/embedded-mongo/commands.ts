// Owns command dispatch: argument validation, the reply shapes mongod 7 uses for each command,
// and the write paths (insert/update/delete/findAndModify) with ordered/unordered semantics.
import { Aggregator, Query, update as mingoUpdate } from 'mingo'
import { BSON, Long, ObjectId, UUID } from 'bson'
import { MongoServerError, toServerError } from './errors.js'
import { aggregateOptions, compileFilter, queryOptions, type Matcher } from './mingo.js'
import { validateId, type Collection, type IndexSpec } from './collection.js'
import { CursorManager } from './cursors.js'
import type { Engine, Op } from './engine.js'
import { canonicalKey, deepClone, isPlainObject, pathValues, type Doc } from './values.js'

export const SERVER_VERSION = '7.0.0'
const MAX_BSON = 16 * 1024 * 1024
const MAX_MESSAGE = 48_000_000
const MAX_WRITE_BATCH = 100_000

export interface ConnectionInfo {
  id: number
  remote: string
}

export interface ServerState {
  engine: Engine
  cursors: CursorManager
  startedAt: number
  connections: () => number
  totalConnections: () => number
}

interface Ctx {
  state: ServerState
  conn: ConnectionInfo
  db: string
  cmd: Doc
  name: string
}

type Handler = (ctx: Ctx) => Doc | Promise<Doc>

// ---- argument helpers -------------------------------------------------------------------------

function bsonTypeName(v: unknown): string {
  if (v === null) return 'null'
  if (v === undefined) return 'missing'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'string') return 'string'
  if (typeof v === 'boolean') return 'bool'
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double'
  if (v instanceof Date) return 'date'
  if (isPlainObject(v)) return 'object'
  return (v as { _bsontype?: string })._bsontype?.toLowerCase() ?? 'unknown'
}

function typeError(ctx: Ctx, field: string, value: unknown, expected: string): MongoServerError {
  return new MongoServerError(
    'TypeMismatch',
    `BSON field '${ctx.name}.${field}' is the wrong type '${bsonTypeName(value)}', expected type '${expected}'`,
  )
}

function optObject(ctx: Ctx, field: string): Doc | undefined {
  const v = ctx.cmd[field]
  if (v === undefined || v === null) return undefined
  if (!isPlainObject(v)) throw typeError(ctx, field, v, 'object')
  return v
}

function optArray(ctx: Ctx, field: string): unknown[] | undefined {
  const v = ctx.cmd[field]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v)) throw typeError(ctx, field, v, 'array')
  return v
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (v instanceof Long) return v.toNumber()
  if (v !== null && typeof v === 'object' && '_bsontype' in v) {
    const n = Number(String(v))
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}

function optNumber(ctx: Ctx, field: string, from: Doc = ctx.cmd): number | undefined {
  const v = from[field]
  if (v === undefined || v === null) return undefined
  const n = toNumber(v)
  if (n === undefined) throw typeError(ctx, field, v, 'long')
  return n
}

function optBool(v: unknown): boolean {
  return v === true || (typeof v === 'number' && v !== 0)
}

/** The collection argument (`{find: "users"}`), validated like mongod validates namespaces. */
function collName(ctx: Ctx): string {
  const v = ctx.cmd[ctx.name]
  if (typeof v !== 'string') throw new MongoServerError('InvalidNamespace', `collection name has invalid type ${bsonTypeName(v)}`)
  if (v === '' || v.includes('\0') || v.startsWith('.') || v.includes('$'))
    throw new MongoServerError('InvalidNamespace', `Invalid namespace specified '${ctx.db}.${v}'`)
  return v
}

function compileQuery(filter: Doc): Matcher {
  try {
    return compileFilter(filter)
  } catch (err) {
    throw toServerError(err)
  }
}

/** Applies a find projection; the filter is needed for positional (`field.$`) projections. */
function project(docs: Doc[], filter: Doc, projection: Doc | undefined): Doc[] {
  if (!projection || Object.keys(projection).length === 0) return docs
  try {
    return new Query(filter, queryOptions()).find<Doc>(docs, projection).all()
  } catch (err) {
    throw toServerError(err)
  }
}

function isOperatorUpdate(u: Doc): boolean {
  const keys = Object.keys(u)
  return keys.length > 0 && keys[0]!.startsWith('$')
}

function withIdFirst(doc: Doc): Doc {
  if (doc._id === undefined) return { _id: new ObjectId(), ...doc }
  if (Object.keys(doc)[0] === '_id') return doc
  const { _id, ...rest } = doc
  return { _id, ...rest }
}

/** Runs a mutation synchronously, then waits for durability of whatever it managed to change. */
async function durably<T>(engine: Engine, fn: (ops: Op[]) => T): Promise<T> {
  const ops: Op[] = []
  let result: T | undefined
  let error: unknown
  try {
    result = fn(ops)
  } catch (err) {
    error = err
  }
  try {
    await engine.commit(ops)
  } catch (err) {
    // The change is applied in memory but not durable; the client must not take it as acknowledged.
    throw new MongoServerError('InternalError', `journal write failed: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (error !== undefined) throw error
  return result as T
}

function writeError(err: unknown, index: number): Doc {
  return toServerError(err).toWriteError(index)
}

// ---- update semantics -------------------------------------------------------------------------

/** Fields pinned by equality in an upsert's query, which seed the inserted document. */
function equalitySeed(q: Doc, out: Doc = {}): Doc {
  for (const [k, v] of Object.entries(q)) {
    if (k === '$and' && Array.isArray(v)) {
      for (const sub of v) if (isPlainObject(sub)) equalitySeed(sub, out)
      continue
    }
    if (k.startsWith('$')) continue
    if (isPlainObject(v) && Object.keys(v).some((x) => x.startsWith('$'))) {
      if ('$eq' in v) out[k] = v.$eq
      continue
    }
    out[k] = v
  }
  return out
}

/**
 * The new version of `old` after update `u`, or null when nothing changes.
 * `old` is never mutated (stored documents are copy-on-write).
 */
function applyUpdate(old: Doc, u: unknown, q: Doc, arrayFilters: Doc[] | undefined, inserting: boolean, resolve: (n: string) => Doc[]): Doc | null {
  let next: Doc
  if (Array.isArray(u)) {
    try {
      next = new Aggregator(u as Doc[], aggregateOptions(resolve)).run<Doc>([old])[0] ?? {}
    } catch (err) {
      throw toServerError(err)
    }
  } else if (isPlainObject(u) && isOperatorUpdate(u)) {
    const mod: Doc = {}
    for (const [op, spec] of Object.entries(u)) {
      if (!op.startsWith('$'))
        throw new MongoServerError('FailedToParse', `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`)
      if (!isPlainObject(spec))
        throw new MongoServerError('FailedToParse', `Modifiers operate on fields but we found type ${bsonTypeName(spec)} instead. For example: {$mod: {<field>: ...}} not {${op}: ${bsonTypeName(spec)}}`)
      if (op === '$setOnInsert') {
        if (inserting) mod.$set = { ...(mod.$set as Doc | undefined), ...spec }
        continue
      }
      if (op === '$set' && mod.$set) mod.$set = { ...(mod.$set as Doc), ...spec }
      else mod[op] = spec
    }
    next = deepClone(old)
    if (Object.keys(mod).length > 0) {
      try {
        mingoUpdate(next, mod as never, arrayFilters, inserting ? undefined : (q as never), { cloneMode: 'deep', queryOptions: queryOptions() })
      } catch (err) {
        throw toServerError(err)
      }
    }
  } else if (isPlainObject(u)) {
    for (const k of Object.keys(u))
      if (k.startsWith('$')) throw new MongoServerError('FailedToParse', `The dollar ($) prefixed field '${k}' in '${k}' is not allowed in the context of an update's replacement document.`)
    next = { _id: old._id, ...u }
    if (u._id !== undefined) next._id = u._id
  } else {
    throw new MongoServerError('FailedToParse', 'Update argument must be either an object or an array')
  }
  if (!inserting && canonicalKey(next._id) !== canonicalKey(old._id)) {
    throw new MongoServerError('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'")
  }
  if (!inserting && canonicalKey(next) === canonicalKey(old)) return null
  return withIdFirst(next)
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.')
  let cur = doc
  for (let i = 0; i < parts.length - 1; i++) {
    const next = cur[parts[i]!]
    if (!isPlainObject(next)) cur[parts[i]!] = {}
    cur = cur[parts[i]!] as Doc
  }
  cur[parts[parts.length - 1]!] = value
}

function upsertDocument(q: Doc, u: unknown, arrayFilters: Doc[] | undefined, resolve: (n: string) => Doc[]): Doc {
  const seed: Doc = {}
  for (const [path, value] of Object.entries(equalitySeed(q))) setPath(seed, path, deepClone(value))
  let doc: Doc
  if (isPlainObject(u) && !isOperatorUpdate(u)) {
    doc = { ...u }
    if (doc._id === undefined && seed._id !== undefined) doc._id = seed._id
  } else {
    doc = applyUpdate(seed, u, q, arrayFilters, true, resolve) ?? seed
  }
  doc = withIdFirst(doc)
  validateId(doc._id)
  return doc
}

// ---- command implementations ------------------------------------------------------------------

function resolver(ctx: Ctx): (name: string) => Doc[] {
  return (name: string) => {
    const coll = ctx.state.engine.collection(ctx.db, name)
    return coll ? [...coll.docs.values()] : []
  }
}

function hello(ctx: Ctx): Doc {
  const legacy = ctx.name.toLowerCase() === 'ismaster'
  const doc: Doc = {}
  if (ctx.cmd.helloOk === true) doc.helloOk = true
  if (legacy) doc.ismaster = true
  else doc.isWritablePrimary = true
  Object.assign(doc, {
    maxBsonObjectSize: MAX_BSON,
    maxMessageSizeBytes: MAX_MESSAGE,
    maxWriteBatchSize: MAX_WRITE_BATCH,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.conn.id,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
    ok: 1,
  })
  return doc
}

function find(ctx: Ctx): Doc {
  const name = collName(ctx)
  const filter = optObject(ctx, 'filter') ?? {}
  const projection = optObject(ctx, 'projection')
  const sort = optObject(ctx, 'sort')
  const skip = optNumber(ctx, 'skip') ?? 0
  let limit = optNumber(ctx, 'limit') ?? 0
  const batchSize = optNumber(ctx, 'batchSize')
  let singleBatch = optBool(ctx.cmd.singleBatch)
  if (skip < 0) throw new MongoServerError('BadValue', 'skip value must be non-negative, but received: ' + skip)
  if (batchSize !== undefined && batchSize < 0) throw new MongoServerError('BadValue', 'batchSize value must be non-negative, but received: ' + batchSize)
  if (limit < 0) {
    limit = -limit
    singleBatch = true
  }
  const ns = `${ctx.db}.${name}`
  const coll = ctx.state.engine.collection(ctx.db, name)
  const query = compileQuery(filter)
  let docs: Doc[] = []
  if (coll) {
    try {
      docs = coll.scan(filter, query, { sort: sort && Object.keys(sort).length ? sort : undefined, skip, limit })
    } catch (err) {
      throw toServerError(err)
    }
  }
  docs = project(docs, filter, projection)
  let first = batchSize
  if (limit > 0 && (first === undefined || first > limit)) first = limit
  return ctx.state.cursors.first(ns, docs, first, singleBatch)
}

function getMore(ctx: Ctx): Doc {
  const raw = ctx.cmd.getMore
  const id = toNumber(raw)
  if (id === undefined || !(typeof raw === 'number' || raw instanceof Long))
    throw typeError(ctx, 'getMore', raw, 'long')
  const coll = ctx.cmd.collection
  if (typeof coll !== 'string') throw typeError(ctx, 'collection', coll, 'string')
  return ctx.state.cursors.more(id, `${ctx.db}.${coll}`, optNumber(ctx, 'batchSize'))
}

function killCursors(ctx: Ctx): Doc {
  collName(ctx)
  const ids = (optArray(ctx, 'cursors') ?? []).map((v) => toNumber(v) ?? -1)
  const { killed, notFound } = ctx.state.cursors.kill(ids)
  return {
    cursorsKilled: killed.map((i) => Long.fromNumber(i)),
    cursorsNotFound: notFound.map((i) => Long.fromNumber(i)),
    cursorsAlive: [],
    cursorsUnknown: [],
    ok: 1,
  }
}

async function insert(ctx: Ctx): Promise<Doc> {
  const name = collName(ctx)
  const documents = optArray(ctx, 'documents')
  if (!documents) throw new MongoServerError('FailedToParse', "BSON field 'insert.documents' is missing but a required field")
  if (documents.length > MAX_WRITE_BATCH) throw new MongoServerError('InvalidLength', `Write batch sizes must be between 1 and ${MAX_WRITE_BATCH}. Got ${documents.length} operations.`)
  const ordered = ctx.cmd.ordered !== false
  const engine = ctx.state.engine
  return durably(engine, (ops) => {
    const coll = engine.ensureCollection(ctx.db, name, ops)
    const writeErrors: Doc[] = []
    let n = 0
    for (let i = 0; i < documents.length; i++) {
      const raw = documents[i]
      try {
        if (!isPlainObject(raw)) throw new MongoServerError('TypeMismatch', 'documents must be objects')
        const doc = withIdFirst(raw)
        coll.insert(doc)
        ops.push({ o: 'put', ns: coll.ns, d: doc })
        n++
      } catch (err) {
        writeErrors.push(writeError(err, i))
        if (ordered) break
      }
    }
    const reply: Doc = { n, ok: 1 }
    if (writeErrors.length) reply.writeErrors = writeErrors
    return reply
  })
}

async function updateCmd(ctx: Ctx): Promise<Doc> {
  const name = collName(ctx)
  const updates = optArray(ctx, 'updates')
  if (!updates) throw new MongoServerError('FailedToParse', "BSON field 'update.updates' is missing but a required field")
  const ordered = ctx.cmd.ordered !== false
  const engine = ctx.state.engine
  const resolve = resolver(ctx)
  return durably(engine, (ops) => {
    const writeErrors: Doc[] = []
    const upserted: Doc[] = []
    let n = 0
    let nModified = 0
    for (let i = 0; i < updates.length; i++) {
      const stmt = updates[i]
      try {
        if (!isPlainObject(stmt)) throw new MongoServerError('TypeMismatch', 'update statements must be objects')
        const q = stmt.q ?? {}
        if (!isPlainObject(q)) throw new MongoServerError('TypeMismatch', `BSON field 'update.updates.q' is the wrong type '${bsonTypeName(q)}', expected type 'object'`)
        const u = stmt.u
        if (u === undefined) throw new MongoServerError('FailedToParse', "BSON field 'update.updates.u' is missing but a required field")
        const multi = optBool(stmt.multi)
        const upsert = optBool(stmt.upsert)
        const arrayFilters = stmt.arrayFilters as Doc[] | undefined
        if (multi && isPlainObject(u) && !isOperatorUpdate(u) && !Array.isArray(u))
          throw new MongoServerError('FailedToParse', 'multi update is not supported for replacement-style update')
        const query = compileQuery(q)
        const existing = engine.collection(ctx.db, name)
        const matched = existing ? existing.scan(q, query, multi ? {} : { limit: 1, sort: isPlainObject(stmt.sort) ? stmt.sort : undefined }) : []
        if (matched.length === 0) {
          if (upsert) {
            const doc = upsertDocument(q, u, arrayFilters, resolve)
            const coll = engine.ensureCollection(ctx.db, name, ops)
            coll.insert(doc)
            ops.push({ o: 'put', ns: coll.ns, d: doc })
            n++
            upserted.push({ index: i, _id: doc._id })
          }
          continue
        }
        const coll = existing!
        for (const old of matched) {
          const next = applyUpdate(old, u, q, arrayFilters, false, resolve)
          n++
          if (!next) continue
          coll.replace(old, next)
          ops.push({ o: 'put', ns: coll.ns, d: next })
          nModified++
        }
      } catch (err) {
        writeErrors.push(writeError(err, i))
        if (ordered) break
      }
    }
    const reply: Doc = { n, nModified }
    if (upserted.length) reply.upserted = upserted
    if (writeErrors.length) reply.writeErrors = writeErrors
    reply.ok = 1
    return reply
  })
}

async function deleteCmd(ctx: Ctx): Promise<Doc> {
  const name = collName(ctx)
  const deletes = optArray(ctx, 'deletes')
  if (!deletes) throw new MongoServerError('FailedToParse', "BSON field 'delete.deletes' is missing but a required field")
  const ordered = ctx.cmd.ordered !== false
  const engine = ctx.state.engine
  return durably(engine, (ops) => {
    const writeErrors: Doc[] = []
    let n = 0
    for (let i = 0; i < deletes.length; i++) {
      const stmt = deletes[i]
      try {
        if (!isPlainObject(stmt)) throw new MongoServerError('TypeMismatch', 'delete statements must be objects')
        const q = stmt.q ?? {}
        if (!isPlainObject(q)) throw new MongoServerError('TypeMismatch', `BSON field 'delete.deletes.q' is the wrong type '${bsonTypeName(q)}', expected type 'object'`)
        const limit = toNumber(stmt.limit) ?? 0
        if (limit !== 0 && limit !== 1) throw new MongoServerError('FailedToParse', `The limit field in delete objects must be 0 or 1. Got ${limit}`)
        const coll = engine.collection(ctx.db, name)
        if (!coll) continue
        const query = compileQuery(q)
        for (const doc of coll.scan(q, query, limit === 1 ? { limit: 1 } : {})) {
          coll.remove(doc)
          ops.push({ o: 'del', ns: coll.ns, id: doc._id })
          n++
        }
      } catch (err) {
        writeErrors.push(writeError(err, i))
        if (ordered) break
      }
    }
    const reply: Doc = { n, ok: 1 }
    if (writeErrors.length) reply.writeErrors = writeErrors
    return reply
  })
}

async function findAndModify(ctx: Ctx): Promise<Doc> {
  const name = collName(ctx)
  const q = optObject(ctx, 'query') ?? {}
  const sort = optObject(ctx, 'sort')
  const fields = optObject(ctx, 'fields') ?? optObject(ctx, 'projection')
  const remove = optBool(ctx.cmd.remove)
  const u = ctx.cmd.update
  const returnNew = optBool(ctx.cmd.new)
  const upsert = optBool(ctx.cmd.upsert)
  const arrayFilters = optArray(ctx, 'arrayFilters') as Doc[] | undefined
  if (remove && u !== undefined) throw new MongoServerError('FailedToParse', 'Cannot specify both an update and remove=true')
  if (!remove && u === undefined) throw new MongoServerError('FailedToParse', 'Either an update or remove=true must be specified')
  if (remove && upsert) throw new MongoServerError('FailedToParse', 'Cannot specify both upsert=true and remove=true')
  if (remove && returnNew) throw new MongoServerError('FailedToParse', 'Cannot specify both new=true and remove=true; \'remove\' always returns the deleted document')
  const engine = ctx.state.engine
  const query = compileQuery(q)
  const resolve = resolver(ctx)
  const shape = (d: Doc | null): Doc | null => (d ? (project([d], {}, fields)[0] ?? null) : null)
  return durably(engine, (ops) => {
    const existing = engine.collection(ctx.db, name)
    const target = existing ? existing.scan(q, query, { sort: sort && Object.keys(sort).length ? sort : undefined, limit: 1 })[0] : undefined
    if (remove) {
      if (!target || !existing) return { lastErrorObject: { n: 0 }, value: null, ok: 1 }
      existing.remove(target)
      ops.push({ o: 'del', ns: existing.ns, id: target._id })
      return { lastErrorObject: { n: 1 }, value: shape(target), ok: 1 }
    }
    if (!target) {
      if (!upsert) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 }
      const doc = upsertDocument(q, u, arrayFilters, resolve)
      const coll = engine.ensureCollection(ctx.db, name, ops)
      coll.insert(doc)
      ops.push({ o: 'put', ns: coll.ns, d: doc })
      return { lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id }, value: returnNew ? shape(doc) : null, ok: 1 }
    }
    const coll = existing!
    const next = applyUpdate(target, u, q, arrayFilters, false, resolve)
    if (next) {
      coll.replace(target, next)
      ops.push({ o: 'put', ns: coll.ns, d: next })
    }
    return { lastErrorObject: { n: 1, updatedExisting: true }, value: shape(returnNew ? (next ?? target) : target), ok: 1 }
  })
}

function aggregate(ctx: Ctx): Doc {
  const target = ctx.cmd.aggregate
  const pipeline = optArray(ctx, 'pipeline')
  if (!pipeline) throw new MongoServerError('FailedToParse', "BSON field 'aggregate.pipeline' is missing but a required field")
  if (ctx.cmd.explain) throw new MongoServerError('NotImplemented', 'explain is not supported by the embedded server')
  const cursorOpt = optObject(ctx, 'cursor')
  if (!cursorOpt) throw new MongoServerError('FailedToParse', "The 'cursor' option is required, except for aggregate with the explain argument")
  for (const stage of pipeline) {
    if (!isPlainObject(stage)) throw new MongoServerError('TypeMismatch', 'Each element of the \'pipeline\' array must be an object')
    const op = Object.keys(stage)[0]
    if (op === '$out' || op === '$merge') throw new MongoServerError('NotImplemented', `${op} is not supported by the embedded server`)
  }
  let source: Doc[] = []
  let ns: string
  if (target === 1) {
    ns = `${ctx.db}.$cmd.aggregate`
  } else {
    const name = collName(ctx)
    ns = `${ctx.db}.${name}`
    const coll = ctx.state.engine.collection(ctx.db, name)
    if (coll) {
      const first = pipeline[0] as Doc | undefined
      const match = first && isPlainObject(first.$match) ? first.$match : undefined
      source = (match && coll.equalityCandidates(match)) ?? [...coll.docs.values()]
    }
  }
  let docs: Doc[]
  try {
    docs = runPipeline(ctx, pipeline as Doc[], source)
  } catch (err) {
    throw toServerError(err)
  }
  return ctx.state.cursors.first(ns, docs, optNumber(ctx, 'batchSize', cursorOpt))
}

/**
 * Runs a pipeline stage group by stage group. An equality `$lookup` (localField/foreignField)
 * gets only the foreign documents whose field matches one of the local values, found through
 * the foreign collection's index, as mongod uses the index there; otherwise mingo would hash
 * the whole foreign collection for every call, making each lookup cost O(collection).
 */
function runPipeline(ctx: Ctx, pipeline: Doc[], source: Doc[]): Doc[] {
  const everything = resolver(ctx)
  let docs = source
  let segment: Doc[] = []
  const flush = (resolve: (name: string) => Doc[]) => {
    if (segment.length > 0) docs = new Aggregator(segment, aggregateOptions(resolve)).run<Doc>(docs)
    segment = []
  }
  for (const stage of pipeline) {
    const lookup = stage.$lookup
    if (
      isPlainObject(lookup) &&
      typeof lookup.from === 'string' &&
      typeof lookup.localField === 'string' &&
      typeof lookup.foreignField === 'string' &&
      lookup.pipeline === undefined
    ) {
      flush(everything)
      const narrowed = lookupCandidates(ctx, lookup.from, lookup.localField, lookup.foreignField, docs)
      const from = lookup.from
      segment = [stage]
      flush(narrowed ? (name) => (name === from ? narrowed : everything(name)) : everything)
    } else {
      segment.push(stage)
    }
  }
  flush(everything)
  return docs
}

/** The foreign documents an equality $lookup can match, or null when an index can't say. */
function lookupCandidates(ctx: Ctx, from: string, localField: string, foreignField: string, docs: Doc[]): Doc[] | null {
  const coll = ctx.state.engine.collection(ctx.db, from)
  if (!coll) return []
  const values: unknown[] = []
  for (const doc of docs) {
    const found = pathValues(doc, localField).flatMap((v) => (Array.isArray(v) ? v : [v]))
    // A missing or null local value matches foreign documents lacking the field: let mingo scan.
    if (found.length === 0 || found.some((v) => v === null || v === undefined)) return null
    values.push(...found)
  }
  if (values.length === 0) return []
  return coll.equalityCandidates({ [foreignField]: { $in: values } })
}

function count(ctx: Ctx): Doc {
  const name = collName(ctx)
  const q = optObject(ctx, 'query') ?? {}
  const skip = optNumber(ctx, 'skip') ?? 0
  const limit = Math.abs(optNumber(ctx, 'limit') ?? 0)
  const coll = ctx.state.engine.collection(ctx.db, name)
  if (!coll) return { n: 0, ok: 1 }
  const n = coll.scan(q, compileQuery(q), { skip, limit }).length
  return { n, ok: 1 }
}

function distinct(ctx: Ctx): Doc {
  const name = collName(ctx)
  const key = ctx.cmd.key
  if (typeof key !== 'string') throw typeError(ctx, 'key', key, 'string')
  const q = optObject(ctx, 'query') ?? {}
  const coll = ctx.state.engine.collection(ctx.db, name)
  const seen = new Map<string, unknown>()
  if (coll) {
    for (const doc of coll.scan(q, compileQuery(q))) {
      for (const v of pathValues(doc, key)) if (v !== undefined) {
        const k = canonicalKey(v)
        if (!seen.has(k)) seen.set(k, v)
      }
    }
  }
  return { values: [...seen.values()], ok: 1 }
}

function defaultIndexName(key: Doc): string {
  return Object.entries(key).map(([k, v]) => `${k}_${String(v)}`).join('_')
}

function renderSpec(spec: Doc): string {
  return BSON.EJSON.stringify(spec, { relaxed: true })
}

async function createIndexes(ctx: Ctx): Promise<Doc> {
  const name = collName(ctx)
  const indexes = optArray(ctx, 'indexes')
  if (!indexes || indexes.length === 0) throw new MongoServerError('BadValue', 'Must specify at least one index to create')
  const specs: IndexSpec[] = indexes.map((raw) => {
    if (!isPlainObject(raw)) throw new MongoServerError('TypeMismatch', 'index specification must be an object')
    const key = raw.key
    if (!isPlainObject(key) || Object.keys(key).length === 0) throw new MongoServerError('CannotCreateIndex', "Error in specification { } :: caused by :: The 'key' field must be a non-empty object")
    for (const [f, dir] of Object.entries(key)) {
      const n = toNumber(dir)
      if (n === undefined ? typeof dir !== 'string' : n === 0)
        throw new MongoServerError('CannotCreateIndex', `Error in specification ${renderSpec(raw)} :: caused by :: Values in the index key pattern can only be numbers or strings, and non-zero; bad value for ${f}`)
    }
    const spec: IndexSpec = { v: 2, key, name: typeof raw.name === 'string' ? raw.name : defaultIndexName(key) }
    if (raw.unique !== undefined && optBool(raw.unique)) spec.unique = true
    if (raw.sparse !== undefined && optBool(raw.sparse)) spec.sparse = true
    if (raw.partialFilterExpression !== undefined) {
      if (!isPlainObject(raw.partialFilterExpression)) throw new MongoServerError('TypeMismatch', 'partialFilterExpression must be an object')
      compileQuery(raw.partialFilterExpression)
      spec.partialFilterExpression = raw.partialFilterExpression
    }
    if (raw.expireAfterSeconds !== undefined) {
      const ttl = toNumber(raw.expireAfterSeconds)
      if (ttl === undefined || ttl < 0) throw new MongoServerError('CannotCreateIndex', `TTL index 'expireAfterSeconds' option must be a non-negative number`)
      if (Object.keys(key).length !== 1) throw new MongoServerError('CannotCreateIndex', 'TTL indexes are single-field indexes, compound indexes do not support TTL')
      spec.expireAfterSeconds = Math.trunc(ttl)
    }
    if (isPlainObject(raw.collation)) spec.collation = raw.collation
    if (spec.name === '_id_' && canonicalKey(key) !== canonicalKey({ _id: 1 }))
      throw new MongoServerError('BadValue', 'The index name \'_id_\' is reserved for the _id index')
    return spec
  })
  const engine = ctx.state.engine
  return durably(engine, (ops) => {
    const existed = engine.collection(ctx.db, name) !== undefined
    const coll = engine.ensureCollection(ctx.db, name, ops)
    const before = coll.indexes.size
    for (const spec of specs) {
      const sameName = coll.indexes.get(spec.name)
      if (sameName) {
        if (canonicalKey(sameName.spec.key) === canonicalKey(spec.key) && sameName.sameOptions(spec)) continue
        if (canonicalKey(sameName.spec.key) === canonicalKey({ _id: 1 }) && spec.name === '_id_' && !spec.unique && !spec.sparse) continue
        throw new MongoServerError(
          'IndexKeySpecsConflict',
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${renderSpec(spec)}, existing index: ${renderSpec(sameName.spec)}`,
        )
      }
      const sameKey = coll.findIndexByKey(spec.key)
      if (sameKey) {
        if (sameKey.sameOptions(spec)) throw new MongoServerError('IndexOptionsConflict', `Index already exists with a different name: ${sameKey.name}`)
        throw new MongoServerError('IndexOptionsConflict', `An equivalent index already exists with a different name and options. Requested index: ${renderSpec(spec)}, existing index: ${renderSpec(sameKey.spec)}`)
      }
      coll.addIndex(spec)
      ops.push({ o: 'ci', ns: coll.ns, spec })
    }
    const after = coll.indexes.size
    const reply: Doc = { numIndexesBefore: before, numIndexesAfter: after }
    if (before === after) reply.note = 'all indexes already exist'
    if (!existed) reply.createdCollectionAutomatically = true
    else reply.createdCollectionAutomatically = false
    reply.ok = 1
    return reply
  })
}

function listIndexes(ctx: Ctx): Doc {
  const name = collName(ctx)
  const coll = ctx.state.engine.collection(ctx.db, name)
  if (!coll) throw new MongoServerError('NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`)
  const cursorOpt = optObject(ctx, 'cursor') ?? {}
  return ctx.state.cursors.first(`${ctx.db}.${name}`, coll.indexSpecs().map((s) => ({ ...s })), optNumber(ctx, 'batchSize', cursorOpt))
}

async function dropIndexes(ctx: Ctx): Promise<Doc> {
  const name = collName(ctx)
  const engine = ctx.state.engine
  const coll = engine.collection(ctx.db, name)
  if (!coll) throw new MongoServerError('NamespaceNotFound', `ns not found ${ctx.db}.${name}`)
  const which = ctx.cmd.index
  const nIndexesWas = coll.indexes.size
  let names: string[]
  if (which === '*') names = [...coll.indexes.keys()].filter((n) => n !== '_id_')
  else if (typeof which === 'string') names = [which]
  else if (Array.isArray(which)) names = which.map(String)
  else if (isPlainObject(which)) {
    const ix = coll.findIndexByKey(which)
    if (!ix) throw new MongoServerError('IndexNotFound', `can't find index with key: ${renderSpec(which)}`)
    names = [ix.name]
  } else throw typeError(ctx, 'index', which, 'string')
  for (const n of names) {
    if (n === '_id_') throw new MongoServerError('InvalidOptions', 'cannot drop _id index')
    if (!coll.indexes.has(n)) throw new MongoServerError('IndexNotFound', `index not found with name [${n}]`)
  }
  return durably(engine, (ops) => {
    for (const n of names) {
      coll.dropIndex(n)
      ops.push({ o: 'di', ns: coll.ns, name: n })
    }
    return { nIndexesWas, ok: 1 }
  })
}

async function drop(ctx: Ctx): Promise<Doc> {
  const name = collName(ctx)
  const engine = ctx.state.engine
  return durably(engine, (ops) => {
    const coll = engine.dropCollection(ctx.db, name, ops)
    if (!coll) return { ok: 1 }
    return { nIndexesWas: coll.indexes.size, ns: coll.ns, ok: 1 }
  })
}

async function dropDatabase(ctx: Ctx): Promise<Doc> {
  const engine = ctx.state.engine
  return durably(engine, (ops) => {
    engine.dropDatabase(ctx.db, ops)
    return { ok: 1 }
  })
}

async function create(ctx: Ctx): Promise<Doc> {
  const name = collName(ctx)
  const engine = ctx.state.engine
  const { create: _c, $db: _d, lsid: _l, writeConcern: _w, comment: _cm, apiVersion: _a, apiStrict: _as, apiDeprecationErrors: _ad, $readPreference: _r, ...options } = ctx.cmd
  for (const unsupported of ['capped', 'timeseries', 'viewOn', 'clusteredIndex'])
    if (options[unsupported] !== undefined && options[unsupported] !== false)
      throw new MongoServerError('NotImplemented', `create option '${unsupported}' is not supported by the embedded server`)
  const existing = engine.collection(ctx.db, name)
  if (existing) {
    if (canonicalKey(existing.options) === canonicalKey(options)) return { ok: 1 }
    throw new MongoServerError('NamespaceExists', `Collection ${ctx.db}.${name} already exists.`)
  }
  return durably(engine, (ops) => {
    engine.ensureCollection(ctx.db, name, ops, options)
    return { ok: 1 }
  })
}

function listCollections(ctx: Ctx): Doc {
  const filter = optObject(ctx, 'filter') ?? {}
  const nameOnly = optBool(ctx.cmd.nameOnly)
  const colls = ctx.state.engine.dbs.get(ctx.db)
  const all: Doc[] = []
  for (const c of colls?.values() ?? []) {
    all.push(
      nameOnly
        ? { name: c.name, type: 'collection' }
        : {
            name: c.name,
            type: 'collection',
            options: { ...c.options },
            info: { readOnly: false, uuid: new UUID(c.uuid) },
            idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
          },
    )
  }
  const query = compileQuery(filter)
  const cursorOpt = optObject(ctx, 'cursor') ?? {}
  return ctx.state.cursors.first(`${ctx.db}.$cmd.listCollections`, all.filter((d) => query.test(d)), optNumber(ctx, 'batchSize', cursorOpt))
}

function collSize(c: Collection): number {
  let size = 0
  for (const d of c.docs.values()) size += BSON.calculateObjectSize(d)
  return size
}

function listDatabases(ctx: Ctx): Doc {
  const filter = optObject(ctx, 'filter') ?? {}
  const nameOnly = optBool(ctx.cmd.nameOnly)
  const query = compileQuery(filter)
  const dbs: Doc[] = []
  let total = 0
  for (const [name, colls] of ctx.state.engine.dbs) {
    let size = 0
    if (!nameOnly) for (const c of colls.values()) size += collSize(c)
    total += size
    const entry: Doc = nameOnly ? { name } : { name, sizeOnDisk: size, empty: size === 0 }
    if (query.test(entry)) dbs.push(entry)
  }
  if (nameOnly) return { databases: dbs, ok: 1 }
  return { databases: dbs, totalSize: total, totalSizeMb: Math.floor(total / 1024 / 1024), ok: 1 }
}

function dbStats(ctx: Ctx): Doc {
  const colls = [...(ctx.state.engine.dbs.get(ctx.db)?.values() ?? [])]
  let objects = 0
  let dataSize = 0
  let indexes = 0
  for (const c of colls) {
    objects += c.docs.size
    dataSize += collSize(c)
    indexes += c.indexes.size
  }
  return { db: ctx.db, collections: colls.length, views: 0, objects, avgObjSize: objects ? dataSize / objects : 0, dataSize, storageSize: dataSize, indexes, indexSize: 0, totalSize: dataSize, scaleFactor: 1, ok: 1 }
}

function collStats(ctx: Ctx): Doc {
  const name = collName(ctx)
  const coll = ctx.state.engine.collection(ctx.db, name)
  if (!coll) throw new MongoServerError('NamespaceNotFound', `Collection [${ctx.db}.${name}] not found.`)
  const size = collSize(coll)
  const indexSizes: Doc = {}
  for (const n of coll.indexes.keys()) indexSizes[n] = 0
  return { ns: coll.ns, size, count: coll.docs.size, avgObjSize: coll.docs.size ? size / coll.docs.size : 0, storageSize: size, nindexes: coll.indexes.size, indexSizes, totalIndexSize: 0, ok: 1 }
}

function serverStatus(ctx: Ctx): Doc {
  const now = Date.now()
  return {
    host: 'embedded',
    version: SERVER_VERSION,
    process: 'mongod',
    pid: Long.fromNumber(process.pid),
    uptime: Math.floor((now - ctx.state.startedAt) / 1000),
    uptimeMillis: Long.fromNumber(now - ctx.state.startedAt),
    localTime: new Date(now),
    connections: { current: ctx.state.connections(), available: 1000, totalCreated: ctx.state.totalConnections() },
    metrics: { cursor: { open: { total: ctx.state.cursors.size } } },
    ok: 1,
  }
}

function buildInfo(): Doc {
  return {
    version: SERVER_VERSION,
    gitVersion: 'embedded',
    versionArray: [7, 0, 0, 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: MAX_BSON,
    javascriptEngine: 'none',
    storageEngines: ['embedded'],
    modules: [],
    ok: 1,
  }
}

const PARAMETERS: Doc = {
  featureCompatibilityVersion: { version: '7.0' },
  authenticationMechanisms: [],
  requireApiVersion: false,
  internalQueryFrameworkControl: 'forceClassicEngine',
}

function getParameter(ctx: Ctx): Doc {
  const all = ctx.cmd.getParameter === '*' || (isPlainObject(ctx.cmd.getParameter) && ctx.cmd.getParameter.allParameters === true)
  const out: Doc = {}
  for (const [k, v] of Object.entries(PARAMETERS)) if (all || ctx.cmd[k] !== undefined) out[k] = v
  if (Object.keys(out).length === 0) throw new MongoServerError('InvalidOptions', 'no option found to get')
  out.ok = 1
  return out
}

function noTransactions(): never {
  throw new MongoServerError('IllegalOperation', 'Transaction numbers are only allowed on a replica set member or mongos')
}

const HANDLERS: Record<string, Handler> = {
  hello,
  isMaster: hello,
  ismaster: hello,
  ping: () => ({ ok: 1 }),
  buildInfo,
  buildinfo: buildInfo,
  getParameter,
  getCmdLineOpts: () => ({ argv: ['embedded-mongo'], parsed: {}, ok: 1 }),
  hostInfo: () => ({ system: { currentTime: new Date(), hostname: 'embedded', cpuAddrSize: 64, numCores: 1 }, os: { type: process.platform }, extra: {}, ok: 1 }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
  whatsmyuri: (ctx) => ({ you: ctx.conn.remote, ok: 1 }),
  serverStatus,
  dbStats,
  dbstats: dbStats,
  collStats,
  insert,
  update: updateCmd,
  delete: deleteCmd,
  find,
  getMore,
  killCursors,
  findAndModify,
  findandmodify: findAndModify,
  aggregate,
  count,
  distinct,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
  drop,
  dropDatabase,
  create,
  listCollections,
  listDatabases,
  endSessions: () => ({ ok: 1 }),
  killSessions: () => ({ ok: 1 }),
  killAllSessions: () => ({ ok: 1 }),
  refreshSessions: () => ({ ok: 1 }),
  startSession: () => ({ id: { id: new UUID() }, timeoutMinutes: 30, ok: 1 }),
  commitTransaction: noTransactions,
  abortTransaction: noTransactions,
}

/** Runs one command and always returns a reply document; errors become {ok:0,...}. */
export async function runCommand(state: ServerState, conn: ConnectionInfo, cmd: Doc, legacyNs?: string): Promise<Doc> {
  const name = Object.keys(cmd)[0]
  if (!name) return new MongoServerError('FailedToParse', 'empty command object').toDocument()
  const db = typeof cmd.$db === 'string' ? cmd.$db : legacyNs ? legacyNs.split('.')[0]! : 'admin'
  const handler = Object.hasOwn(HANDLERS, name) ? HANDLERS[name] : undefined
  if (!handler) return new MongoServerError('CommandNotFound', `no such command: '${name}'`).toDocument()
  try {
    if (cmd.txnNumber !== undefined || cmd.startTransaction !== undefined || cmd.autocommit !== undefined) noTransactions()
    if (db === '' || db.includes('.') || db.includes('$') || db.includes('/') || db.includes(' '))
      throw new MongoServerError('InvalidNamespace', `Invalid database name: '${db}'`)
    return await handler({ state, conn, db, cmd, name })
  } catch (err) {
    return toServerError(err).toDocument()
  }
}
