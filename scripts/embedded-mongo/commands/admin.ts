// Administration and introspection: hello, indexes, collections, databases, statistics, build
// information and parameters, in the reply shapes drivers and tools expect from mongod 7.
import { BSON, Long, UUID } from 'bson'
import { MongoServerError } from '../errors.js'
import type { Collection, IndexSpec } from '../collection.js'
import { canonicalKey, isPlainObject, type Doc } from '../values.js'
import { type Ctx, MAX_BSON, MAX_MESSAGE, MAX_WRITE_BATCH, SERVER_VERSION, collName, compileQuery, durably, optArray, optBool, optNumber, optObject, toNumber, typeError } from './context.js'

export function hello(ctx: Ctx): Doc {
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

function defaultIndexName(key: Doc): string {
  return Object.entries(key).map(([k, v]) => `${k}_${String(v)}`).join('_')
}

function renderSpec(spec: Doc): string {
  return BSON.EJSON.stringify(spec, { relaxed: true })
}

export async function createIndexes(ctx: Ctx): Promise<Doc> {
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

export function listIndexes(ctx: Ctx): Doc {
  const name = collName(ctx)
  const coll = ctx.state.engine.collection(ctx.db, name)
  if (!coll) throw new MongoServerError('NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`)
  const cursorOpt = optObject(ctx, 'cursor') ?? {}
  return ctx.state.cursors.first(`${ctx.db}.${name}`, coll.indexSpecs().map((s) => ({ ...s })), optNumber(ctx, 'batchSize', cursorOpt))
}

export async function dropIndexes(ctx: Ctx): Promise<Doc> {
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

export async function drop(ctx: Ctx): Promise<Doc> {
  const name = collName(ctx)
  const engine = ctx.state.engine
  return durably(engine, (ops) => {
    const coll = engine.dropCollection(ctx.db, name, ops)
    if (!coll) return { ok: 1 }
    return { nIndexesWas: coll.indexes.size, ns: coll.ns, ok: 1 }
  })
}

export async function dropDatabase(ctx: Ctx): Promise<Doc> {
  const engine = ctx.state.engine
  return durably(engine, (ops) => {
    engine.dropDatabase(ctx.db, ops)
    return { ok: 1 }
  })
}

export async function create(ctx: Ctx): Promise<Doc> {
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

export function listCollections(ctx: Ctx): Doc {
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

export function listDatabases(ctx: Ctx): Doc {
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

export function dbStats(ctx: Ctx): Doc {
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

export function collStats(ctx: Ctx): Doc {
  const name = collName(ctx)
  const coll = ctx.state.engine.collection(ctx.db, name)
  if (!coll) throw new MongoServerError('NamespaceNotFound', `Collection [${ctx.db}.${name}] not found.`)
  const size = collSize(coll)
  const indexSizes: Doc = {}
  for (const n of coll.indexes.keys()) indexSizes[n] = 0
  return { ns: coll.ns, size, count: coll.docs.size, avgObjSize: coll.docs.size ? size / coll.docs.size : 0, storageSize: size, nindexes: coll.indexes.size, indexSizes, totalIndexSize: 0, ok: 1 }
}

export function serverStatus(ctx: Ctx): Doc {
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

export function buildInfo(): Doc {
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

export function getParameter(ctx: Ctx): Doc {
  const all = ctx.cmd.getParameter === '*' || (isPlainObject(ctx.cmd.getParameter) && ctx.cmd.getParameter.allParameters === true)
  const out: Doc = {}
  for (const [k, v] of Object.entries(PARAMETERS)) if (all || ctx.cmd[k] !== undefined) out[k] = v
  if (Object.keys(out).length === 0) throw new MongoServerError('InvalidOptions', 'no option found to get')
  out.ok = 1
  return out
}
