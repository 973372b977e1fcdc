// Aggregation and counting: aggregate (with $lookup and $unionWith over this server's
// collections), count and distinct.
import { Aggregator } from 'mingo'
import { MongoServerError, toServerError } from '../errors.js'
import { aggregateOptions } from '../mingo.js'
import { canonicalKey, isPlainObject, pathValues, type Doc } from '../values.js'
import { type Ctx, collName, compileQuery, optArray, optNumber, optObject, resolver, typeError } from './context.js'

export function aggregate(ctx: Ctx): Doc {
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

export function count(ctx: Ctx): Doc {
  const name = collName(ctx)
  const q = optObject(ctx, 'query') ?? {}
  const skip = optNumber(ctx, 'skip') ?? 0
  const limit = Math.abs(optNumber(ctx, 'limit') ?? 0)
  const coll = ctx.state.engine.collection(ctx.db, name)
  if (!coll) return { n: 0, ok: 1 }
  const n = coll.scan(q, compileQuery(q), { skip, limit }).length
  return { n, ok: 1 }
}

export function distinct(ctx: Ctx): Doc {
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
