// Owns one collection's documents and its indexes (indexes.ts), and the query planner that uses
// them: equality candidates from hash maps, ordered scans from sorted arrays.
import { Query } from 'mingo'
import { randomUUID } from 'node:crypto'
import { MongoServerError } from './errors.js'
import { canonicalKey, getPath, isPlainObject, renderObject, type Doc } from './values.js'
import { queryOptions, type Matcher } from './mingo.js'
import { Index, type IndexSpec, type KeyEntry, type SortedEntry } from './indexes.js'

export type { IndexSpec } from './indexes.js'

export interface ScanOptions {
  sort?: Doc
  skip?: number
  limit?: number
}

type EqMap = Map<string, unknown[]>

function usableEqValue(v: unknown): boolean {
  if (Array.isArray(v) || v instanceof RegExp) return false
  if (v !== null && typeof v === 'object' && (v as { _bsontype?: string })._bsontype === 'BSONRegExp') return false
  if (isPlainObject(v)) return !Object.keys(v).some((k) => k.startsWith('$'))
  return true
}

/** Top-level equality/$in predicates of a filter: each field maps to the values a match must have one of. */
function equalityPredicates(filter: Doc, out: EqMap = new Map()): EqMap {
  for (const [field, cond] of Object.entries(filter)) {
    if (field === '$and' && Array.isArray(cond)) {
      for (const sub of cond) if (isPlainObject(sub)) equalityPredicates(sub, out)
      continue
    }
    if (field.startsWith('$')) continue
    if (isPlainObject(cond) && Object.keys(cond).some((k) => k.startsWith('$'))) {
      if ('$eq' in cond && usableEqValue(cond.$eq)) out.set(field, [cond.$eq])
      else if ('$in' in cond && Array.isArray(cond.$in) && cond.$in.every(usableEqValue)) out.set(field, cond.$in)
      continue
    }
    if (usableEqValue(cond)) out.set(field, [cond])
  }
  return out
}

/** Range bounds of a single field: {$gt|$gte: low} starts an ordered scan past the bound. */
function rangeStart(filter: Doc, field: string): { v: unknown; inclusive: boolean } | undefined {
  const cond = filter[field]
  if (!isPlainObject(cond)) return undefined
  if ('$gte' in cond) return { v: cond.$gte, inclusive: true }
  if ('$gt' in cond) return { v: cond.$gt, inclusive: false }
  return undefined
}

function rangeEnd(filter: Doc, field: string): { v: unknown; inclusive: boolean } | undefined {
  const cond = filter[field]
  if (!isPlainObject(cond)) return undefined
  if ('$lte' in cond) return { v: cond.$lte, inclusive: true }
  if ('$lt' in cond) return { v: cond.$lt, inclusive: false }
  return undefined
}

export class Collection {
  readonly db: string
  readonly name: string
  readonly uuid: string
  options: Doc
  /** Primary store keyed by canonical _id; Map order is the natural (insertion) order. */
  readonly docs = new Map<string, Doc>()
  readonly indexes = new Map<string, Index>()

  constructor(db: string, name: string, options: Doc = {}, uuid?: string) {
    this.db = db
    this.name = name
    this.options = options
    this.uuid = uuid ?? randomUUID()
    this.indexes.set('_id_', new Index({ v: 2, key: { _id: 1 }, name: '_id_' }))
  }

  get ns(): string {
    return `${this.db}.${this.name}`
  }

  get idIndex(): Index {
    return this.indexes.get('_id_')!
  }

  private dupError(index: Index, entry: { vals: unknown[] }, prefix = ''): MongoServerError {
    const keyPattern = { ...index.spec.key }
    const keyValue: Doc = {}
    index.fields.forEach((f, i) => {
      const v = entry.vals[i]
      keyValue[f] = v === undefined ? null : v
    })
    return new MongoServerError(
      'DuplicateKey',
      `${prefix}E11000 duplicate key error collection: ${this.ns} index: ${index.name} dup key: ${renderObject(keyValue)}`,
      { keyPattern, keyValue },
    )
  }

  /** Index keys for every index, computed once per write; throws E11000 before anything is changed. */
  private checkedEntries(doc: Doc, self?: Doc): Map<Index, KeyEntry[] | null> {
    const all = new Map<Index, KeyEntry[] | null>()
    for (const index of this.indexes.values()) {
      const entries = index.entries(doc)
      const clash = index === this.idIndex ? this.idClash(doc, self) : index.conflict(entries, self)
      if (clash) throw this.dupError(index, clash)
      all.set(index, entries)
    }
    return all
  }

  private idClash(doc: Doc, self?: Doc): KeyEntry | undefined {
    const k = canonicalKey(doc._id)
    const existing = this.docs.get(k)
    if (existing && existing !== self) return { k, vals: [doc._id] }
    return undefined
  }

  /** Stores a new document (already carrying an _id); synchronous so check and write are atomic. */
  insert(doc: Doc): void {
    validateId(doc._id)
    const entries = this.checkedEntries(doc)
    this.docs.set(canonicalKey(doc._id), doc)
    for (const [index, e] of entries) index.add(doc, e)
  }

  /** Swaps a stored document for its new version (same _id). */
  replace(old: Doc, next: Doc): void {
    const entries = this.checkedEntries(next, old)
    for (const index of this.indexes.values()) index.remove(old, index.entries(old))
    this.docs.set(canonicalKey(next._id), next)
    for (const [index, e] of entries) index.add(next, e)
  }

  remove(doc: Doc): void {
    for (const index of this.indexes.values()) index.remove(doc, index.entries(doc))
    this.docs.delete(canonicalKey(doc._id))
  }

  /** Used by journal replay/snapshot load: the latest image of a document wins, no constraint checks. */
  put(doc: Doc): void {
    const old = this.docs.get(canonicalKey(doc._id))
    if (old) for (const index of this.indexes.values()) index.remove(old, index.entries(old))
    this.docs.set(canonicalKey(doc._id), doc)
    for (const index of this.indexes.values()) index.add(doc, index.entries(doc))
  }

  removeById(id: unknown): void {
    const old = this.docs.get(canonicalKey(id))
    if (old) this.remove(old)
  }

  beginBulk(): void {
    for (const index of this.indexes.values()) index.beginBulk()
  }

  endBulk(): void {
    for (const index of this.indexes.values()) index.endBulk(this.docs.values())
  }

  findIndexByKey(key: Doc): Index | undefined {
    const k = canonicalKey(key)
    for (const index of this.indexes.values()) if (canonicalKey(index.spec.key) === k) return index
    return undefined
  }

  /** Builds a new index over existing documents; unique violations abort the build (E11000). */
  addIndex(spec: IndexSpec, enforce = true): Index {
    const index = new Index(spec)
    index.beginBulk()
    for (const doc of this.docs.values()) {
      const entries = index.entries(doc)
      if (enforce) {
        const clash = index.conflict(entries)
        if (clash) throw this.dupError(index, clash, `Index build failed: ${this.uuid}: Collection ${this.ns} ( ${this.uuid} ) :: caused by :: `)
      }
      index.add(doc, entries)
    }
    index.endBulk(this.docs.values())
    this.indexes.set(spec.name, index)
    return index
  }

  dropIndex(name: string): void {
    this.indexes.delete(name)
  }

  /**
   * Matching documents in result order with skip/limit applied. Uses a hash index for equality/$in,
   * an ordered index for sort(+range)+limit, and falls back to a full scan.
   */
  scan(filter: Doc, query: Matcher, opts: ScanOptions = {}): Doc[] {
    const skip = opts.skip ?? 0
    const limit = opts.limit ?? 0
    const sortKeys = opts.sort ? Object.keys(opts.sort) : []
    const candidates = this.equalityCandidates(filter)
    if (!candidates && sortKeys.length === 1 && limit > 0) {
      const ordered = this.orderedScan(filter, query, sortKeys[0]!, opts.sort![sortKeys[0]!], skip + limit)
      if (ordered) return ordered.slice(skip)
    }
    const source = candidates ?? this.docs.values()
    const matched: Doc[] = []
    const early = sortKeys.length === 0 && limit > 0 ? skip + limit : Infinity
    for (const d of source) {
      if (query.test(d)) {
        matched.push(d)
        if (matched.length >= early) break
      }
    }
    if (sortKeys.length === 0) return matched.slice(skip, limit > 0 ? skip + limit : undefined)
    let cur = new Query({}, queryOptions()).find<Doc>(matched).sort(opts.sort!)
    if (skip) cur = cur.skip(skip)
    if (limit > 0) cur = cur.limit(limit)
    return cur.all()
  }

  /** Candidate documents from the best hash index covering equality predicates, or null to scan. */
  equalityCandidates(filter: Doc): Doc[] | null {
    const eq = equalityPredicates(filter)
    if (eq.size === 0) return null
    let best: { index: Index; keys: string[] } | undefined
    for (const index of this.indexes.values()) {
      if (index.partial) continue
      if (!index.fields.every((f) => eq.has(f))) continue
      // A sparse index lacks documents missing the field, which {f: null} must still find.
      if (index.sparse && index.fields.some((f) => eq.get(f)!.some((v) => v === null))) continue
      let keys = ['']
      for (const f of index.fields) {
        const next: string[] = []
        for (const prefix of keys) for (const v of eq.get(f)!) next.push(index.fields.length === 1 ? canonicalKey(v) : prefix + '|' + canonicalKey(v))
        keys = next
      }
      if (!best || keys.length < best.keys.length || (index.unique && !best.index.unique && keys.length === best.keys.length)) best = { index, keys }
      if (index === this.idIndex) break
    }
    if (!best) return null
    if (best.index === this.idIndex) {
      const out: Doc[] = []
      for (const k of new Set(best.keys)) {
        const d = this.docs.get(k)
        if (d) out.push(d)
      }
      return out
    }
    const seen = new Set<Doc>()
    for (const k of best.keys) {
      const set = best.index.map.get(k)
      if (set) for (const d of set) seen.add(d)
    }
    return [...seen]
  }

  private orderedScan(filter: Doc, query: Matcher, field: string, dir: unknown, want: number): Doc[] | null {
    let index: Index | undefined
    let arr: SortedEntry[] | null = null
    for (const ix of this.indexes.values()) {
      if (ix.fields[0] !== field || ix.fields.length !== 1) continue
      arr = ix.sortedView()
      if (arr) {
        index = ix
        break
      }
    }
    if (!index || !arr) return null
    const asc = Number(dir) !== -1
    const out: Doc[] = []
    const start = rangeStart(filter, field)
    const end = rangeEnd(filter, field)
    if (asc) {
      let i = start ? (start.inclusive ? index.lowerBound(start.v) : index.upperBound(start.v)) : 0
      const stop = end ? (end.inclusive ? index.upperBound(end.v) : index.lowerBound(end.v)) : arr.length
      for (; i < stop && out.length < want; i++) if (query.test(arr[i]!.doc)) out.push(arr[i]!.doc)
    } else {
      let i = (end ? (end.inclusive ? index.upperBound(end.v) : index.lowerBound(end.v)) : arr.length) - 1
      const stop = start ? (start.inclusive ? index.lowerBound(start.v) : index.upperBound(start.v)) : 0
      for (; i >= stop && out.length < want; i--) if (query.test(arr[i]!.doc)) out.push(arr[i]!.doc)
    }
    return out
  }

  /** Documents whose TTL has passed for any TTL index (earliest date of an array counts). */
  expired(now: number): Doc[] {
    const out = new Set<Doc>()
    for (const index of this.indexes.values()) {
      const ttl = index.spec.expireAfterSeconds
      if (typeof ttl !== 'number' || index.fields.length !== 1) continue
      const field = index.fields[0]!
      for (const doc of this.docs.values()) {
        const v = getPath(doc, field)
        const dates = (Array.isArray(v) ? v : [v]).filter((x): x is Date => x instanceof Date)
        if (dates.length === 0) continue
        const earliest = Math.min(...dates.map((d) => d.getTime()))
        if (earliest + ttl * 1000 <= now) out.add(doc)
      }
    }
    return [...out]
  }

  indexSpecs(): IndexSpec[] {
    return [...this.indexes.values()].map((i) => i.spec)
  }
}

export function validateId(id: unknown): void {
  if (Array.isArray(id)) throw new MongoServerError('BadValue', "can't use an array for _id")
  if (id === undefined) throw new MongoServerError('BadValue', 'document is missing _id')
  if (isPlainObject(id) && Object.keys(id).some((k) => k.startsWith('$')))
    throw new MongoServerError('BadValue', "_id fields may not contain '$'-prefixed fields")
}
