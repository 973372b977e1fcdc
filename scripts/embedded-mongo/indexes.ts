// One index of a collection: its key entries, hash maps for equality and sorted arrays for
// ordered scans, and the unique/sparse/partial/TTL semantics mongod gives it.
import { Query } from 'mingo'
import { canonicalKey, compareValues, hasPath, pathValues, type Doc } from './values.js'
import { queryOptions } from './mingo.js'

export interface IndexSpec {
  v: number
  key: Record<string, unknown>
  name: string
  unique?: boolean
  sparse?: boolean
  partialFilterExpression?: Doc
  expireAfterSeconds?: number
  [k: string]: unknown
}

export interface KeyEntry {
  k: string
  vals: unknown[]
}

export interface SortedEntry {
  v: unknown
  doc: Doc
}

/** Options that make two index specs different (name and key are compared separately). */
const OPTION_FIELDS = ['unique', 'sparse', 'partialFilterExpression', 'expireAfterSeconds', 'collation'] as const

/** Unmerged changes tolerated before the ordered view is rebuilt (amortizes O(n) merges). */
const MERGE_AT = 2048

export class Index {
  readonly spec: IndexSpec
  readonly fields: string[]
  readonly unique: boolean
  readonly sparse: boolean
  readonly partial: Query | undefined
  readonly map = new Map<string, Set<Doc>>()
  multikey = false
  /**
   * Single-field, non-partial, non-sparse, non-multikey indexes also keep key order, for
   * sort+limit and range scans. Writes go to small side buffers that are merged into the
   * sorted array lazily, so an insert costs O(1) instead of an O(n) array splice.
   */
  private ordered: boolean
  private base: SortedEntry[] = []
  private added: SortedEntry[] = []
  private removed = new Set<Doc>()
  private bulk = false

  constructor(spec: IndexSpec) {
    this.spec = spec
    this.fields = Object.keys(spec.key)
    this.unique = spec.unique === true
    this.sparse = spec.sparse === true
    this.partial = spec.partialFilterExpression ? new Query(spec.partialFilterExpression, queryOptions()) : undefined
    this.ordered = this.fields.length === 1 && !this.partial && !this.sparse
  }

  get name(): string {
    return this.spec.name
  }

  /** The index keys of a document, or null when the document is not in this index (sparse/partial). */
  entries(doc: Doc): KeyEntry[] | null {
    if (this.partial && !this.partial.test(doc)) return null
    if (this.sparse && !this.fields.some((f) => hasPath(doc, f))) return null
    if (this.fields.length === 1) {
      const vals = pathValues(doc, this.fields[0]!)
      if (vals.length === 1) return [{ k: canonicalKey(vals[0]), vals }]
      this.markMultikey()
      const seen = new Map<string, KeyEntry>()
      for (const v of vals) {
        const k = canonicalKey(v)
        if (!seen.has(k)) seen.set(k, { k, vals: [v] })
      }
      return [...seen.values()]
    }
    let combos: KeyEntry[] = [{ k: '', vals: [] }]
    for (const f of this.fields) {
      const vals = pathValues(doc, f)
      if (vals.length > 1) this.markMultikey()
      const next: KeyEntry[] = []
      for (const c of combos) for (const v of vals) next.push({ k: c.k + '|' + canonicalKey(v), vals: [...c.vals, v] })
      combos = next
    }
    const seen = new Map<string, KeyEntry>()
    for (const c of combos) if (!seen.has(c.k)) seen.set(c.k, c)
    return [...seen.values()]
  }

  private markMultikey(): void {
    this.multikey = true
    // Sorting by an array field is not a plain key order, so ordered scans stop using this index.
    this.ordered = false
    this.base = []
    this.added = []
    this.removed.clear()
  }

  /** First conflicting key for a unique index, ignoring `self` (the document being replaced). */
  conflict(entries: KeyEntry[] | null, self?: Doc): KeyEntry | undefined {
    if (!this.unique || !entries) return undefined
    for (const e of entries) {
      const set = this.map.get(e.k)
      if (!set) continue
      for (const d of set) if (d !== self) return e
    }
    return undefined
  }

  add(doc: Doc, entries: KeyEntry[] | null): void {
    if (!entries) return
    for (const e of entries) {
      let set = this.map.get(e.k)
      if (!set) this.map.set(e.k, (set = new Set()))
      set.add(doc)
    }
    if (this.ordered && !this.bulk) {
      if (this.removed.has(doc)) this.merge()
      this.added.push({ v: entries[0]!.vals[0], doc })
      if (this.added.length >= MERGE_AT) this.merge()
    }
  }

  remove(doc: Doc, entries: KeyEntry[] | null): void {
    if (!entries) return
    for (const e of entries) {
      const set = this.map.get(e.k)
      if (!set) continue
      set.delete(doc)
      if (set.size === 0) this.map.delete(e.k)
    }
    if (this.ordered && !this.bulk) {
      this.removed.add(doc)
      if (this.removed.size >= MERGE_AT) this.merge()
    }
  }

  private merge(): void {
    if (this.added.length === 0 && this.removed.size === 0) return
    const removed = this.removed
    const keep = (e: SortedEntry) => !removed.has(e.doc)
    const base = removed.size ? this.base.filter(keep) : this.base
    const added = (removed.size ? this.added.filter(keep) : this.added).sort((a, b) => compareValues(a.v, b.v))
    const out: SortedEntry[] = new Array(base.length + added.length)
    let i = 0
    let j = 0
    let k = 0
    // Older entries first among equal keys, so ties keep arrival order.
    while (i < base.length && j < added.length) out[k++] = compareValues(added[j]!.v, base[i]!.v) < 0 ? added[j++]! : base[i++]!
    while (i < base.length) out[k++] = base[i++]!
    while (j < added.length) out[k++] = added[j++]!
    this.base = out
    this.added = []
    this.removed = new Set()
  }

  /** The index in key order, or null when this index cannot serve ordered scans. */
  sortedView(): SortedEntry[] | null {
    if (!this.ordered) return null
    this.merge()
    return this.base
  }

  lowerBound(v: unknown): number {
    const arr = this.base
    let lo = 0
    let hi = arr.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareValues(arr[mid]!.v, v) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  upperBound(v: unknown): number {
    const arr = this.base
    let lo = 0
    let hi = arr.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareValues(arr[mid]!.v, v) <= 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  beginBulk(): void {
    this.bulk = true
  }

  /** Rebuilds the ordered view in one sort after a bulk load. */
  endBulk(docs: Iterable<Doc>): void {
    this.bulk = false
    if (!this.ordered) return
    const arr: SortedEntry[] = []
    for (const d of docs) {
      const e = this.entries(d)
      if (!this.ordered) return
      if (e) arr.push({ v: e[0]!.vals[0], doc: d })
    }
    arr.sort((a, b) => compareValues(a.v, b.v))
    this.base = arr
    this.added = []
    this.removed = new Set()
  }

  sameOptions(other: IndexSpec): boolean {
    return OPTION_FIELDS.every((f) => canonicalKey(this.spec[f]) === canonicalKey(other[f]))
  }
}
