// Reads and writes: find with its cursors (getMore, killCursors), and the write paths (insert,
// update, delete, findAndModify) with ordered/unordered semantics and mongod's reply shapes.
import { Long } from 'bson'
import { MongoServerError, toServerError } from '../errors.js'
import { isPlainObject, type Doc } from '../values.js'
import { type Ctx, MAX_WRITE_BATCH, bsonTypeName, collName, compileQuery, durably, isOperatorUpdate, optArray, optBool, optNumber, optObject, project, resolver, toNumber, typeError, withIdFirst, writeError } from './context.js'
import { applyUpdate, upsertDocument } from './updates.js'

export function find(ctx: Ctx): Doc {
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

export function getMore(ctx: Ctx): Doc {
  const raw = ctx.cmd.getMore
  const id = toNumber(raw)
  if (id === undefined || !(typeof raw === 'number' || raw instanceof Long))
    throw typeError(ctx, 'getMore', raw, 'long')
  const coll = ctx.cmd.collection
  if (typeof coll !== 'string') throw typeError(ctx, 'collection', coll, 'string')
  return ctx.state.cursors.more(id, `${ctx.db}.${coll}`, optNumber(ctx, 'batchSize'))
}

export function killCursors(ctx: Ctx): Doc {
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

export async function insert(ctx: Ctx): Promise<Doc> {
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

export async function updateCmd(ctx: Ctx): Promise<Doc> {
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

export async function deleteCmd(ctx: Ctx): Promise<Doc> {
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

export async function findAndModify(ctx: Ctx): Promise<Doc> {
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
