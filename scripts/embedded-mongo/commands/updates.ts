// Update semantics shared by update and findAndModify: operator and replacement updates, and the
// document an upsert inserts (equality fields of the query, then the update).
import { Aggregator, update as mingoUpdate } from 'mingo'
import { MongoServerError, toServerError } from '../errors.js'
import { aggregateOptions, queryOptions } from '../mingo.js'
import { validateId } from '../collection.js'
import { canonicalKey, deepClone, isPlainObject, type Doc } from '../values.js'
import { bsonTypeName, isOperatorUpdate, withIdFirst } from './context.js'

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
export function applyUpdate(old: Doc, u: unknown, q: Doc, arrayFilters: Doc[] | undefined, inserting: boolean, resolve: (n: string) => Doc[]): Doc | null {
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

export function upsertDocument(q: Doc, u: unknown, arrayFilters: Doc[] | undefined, resolve: (n: string) => Doc[]): Doc {
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
