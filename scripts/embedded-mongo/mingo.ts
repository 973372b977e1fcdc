// Owns how mingo is configured: strict MongoDB semantics, no server-side JavaScript, and
// collection resolution for $lookup/$unionWith/$graphLookup.
import { ProcessingMode, Query } from 'mingo'
import type { Options } from 'mingo/types'
import { canonicalKey, pathValues, type Doc } from './values.js'

const base: Partial<Options> = {
  idKey: '_id',
  useStrictMode: true,
  // A dev database should not run client-supplied JavaScript ($where, $function, $accumulator).
  scriptEnabled: false,
}

export function queryOptions(): Partial<Options> {
  return base
}

export function aggregateOptions(resolve: (name: string) => Doc[]): Partial<Options> {
  // Stages like $set/$unwind mutate their input under CLONE_OFF; stored documents must stay untouched.
  return { ...base, processingMode: ProcessingMode.CLONE_INPUT, collectionResolver: resolve }
}

/** Anything that can decide whether a document matches a filter. */
export interface Matcher {
  test(doc: Doc): boolean
}

function isFastEqualityValue(v: unknown): boolean {
  if (typeof v === 'string' || typeof v === 'boolean') return true
  if (typeof v === 'number') return !Number.isNaN(v)
  if (v instanceof Date) return true
  const t = v !== null && typeof v === 'object' ? (v as { _bsontype?: string })._bsontype : undefined
  return t === 'ObjectId' || t === 'Long' || t === 'Binary'
}

/**
 * Compiles a filter. Plain `{field: scalar}` filters (the login/lookup hot path) get a direct
 * matcher with mongod's equality semantics (array elements match, 1 == 1.0 == Long(1));
 * everything else goes to mingo, whose query compilation costs tens of microseconds.
 */
export function compileFilter(filter: Doc): Matcher {
  const entries = Object.entries(filter)
  if (entries.length === 0) return { test: () => true }
  const fast = entries.every(([k, v]) => !k.startsWith('$') && !/(^|\.)\d+(\.|$)/.test(k) && isFastEqualityValue(v))
  if (!fast) return new Query(filter, queryOptions())
  const preds = entries.map(([k, v]) => ({ path: k, key: canonicalKey(v) }))
  return {
    test(doc: Doc): boolean {
      for (const p of preds) {
        if (!pathValues(doc, p.path).some((x) => x !== undefined && canonicalKey(x) === p.key)) return false
      }
      return true
    },
  }
}
