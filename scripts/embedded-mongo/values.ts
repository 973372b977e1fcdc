// Owns value-level helpers over deserialized BSON: deep clone, canonical index keys,
// dotted-path reads, BSON ordering and mongod-style value rendering for error messages.

export type Doc = Record<string, unknown>

interface BsonLike {
  _bsontype: string
}

function bsonType(v: unknown): string | undefined {
  if (v !== null && typeof v === 'object' && '_bsontype' in v) return (v as BsonLike)._bsontype
  return undefined
}

export function isPlainObject(v: unknown): v is Doc {
  if (v === null || typeof v !== 'object') return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** Stored documents are never mutated in place (copy-on-write), so updates work on a deep clone. */
export function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepClone) as T
  if (v instanceof Date) return new Date(v.getTime()) as T
  if (isPlainObject(v)) {
    const out: Doc = {}
    for (const k of Object.keys(v)) out[k] = deepClone(v[k])
    return out as T
  }
  // BSON value classes (ObjectId, Binary, Long, ...) are treated as immutable.
  return v
}

function numberKey(n: number): string {
  return 'n' + (Number.isNaN(n) ? 'NaN' : String(n))
}

/**
 * A string that is equal for values mongod treats as equal in an index (1, 1.0 and Long(1) alike;
 * null and missing alike) and different otherwise. Strings and keys are length-prefixed so that
 * concatenated compound keys cannot collide.
 */
export function canonicalKey(v: unknown): string {
  if (v === undefined || v === null) return 'N'
  switch (typeof v) {
    case 'number':
      return numberKey(v)
    case 'string':
      return 's' + v.length + ':' + v
    case 'boolean':
      return v ? 'b1' : 'b0'
    case 'bigint':
      return 'n' + v.toString()
    default:
      break
  }
  if (v instanceof Date) return 'd' + v.getTime()
  if (Array.isArray(v)) return '[' + v.map(canonicalKey).join(',') + ']'
  if (v instanceof RegExp) return 'r' + v.source + '/' + v.flags
  const t = bsonType(v)
  if (t) {
    const any = v as unknown as { toString(): string; toHexString?: () => string; toNumber?: () => number }
    switch (t) {
      case 'ObjectId':
        return 'o' + any.toHexString!()
      case 'Long': {
        const n = any.toNumber!()
        return Number.isSafeInteger(n) ? numberKey(n) : 'n' + any.toString()
      }
      case 'Int32':
      case 'Double':
        return numberKey(Number((v as unknown as { value: number }).value))
      case 'Decimal128': {
        const s = any.toString()
        const n = Number(s)
        return Number.isFinite(n) && String(n) === s ? numberKey(n) : 'n' + s
      }
      case 'Binary': {
        const b = v as unknown as { sub_type: number; toString(enc: string): string }
        return 'x' + b.sub_type + ':' + b.toString('base64')
      }
      case 'MinKey':
        return 'min'
      case 'MaxKey':
        return 'max'
      case 'BSONRegExp': {
        const r = v as unknown as { pattern: string; options: string }
        return 'r' + r.pattern + '/' + r.options
      }
      default:
        return t + ':' + any.toString()
    }
  }
  if (isPlainObject(v)) {
    let out = '{'
    for (const k of Object.keys(v)) out += k.length + ':' + k + '=' + canonicalKey(v[k]) + ','
    return out + '}'
  }
  return 'z' + String(v)
}

/**
 * Values found at a dotted path, expanding arrays the way a multikey index does.
 * Returns [undefined] when the path is missing, so that callers index it as null.
 */
export function pathValues(doc: unknown, path: string): unknown[] {
  const out: unknown[] = []
  collect(doc, path.split('.'), 0, out)
  if (out.length === 0) out.push(undefined)
  return out
}

function collect(cur: unknown, parts: string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    if (Array.isArray(cur)) {
      if (cur.length === 0) out.push(undefined)
      else for (const el of cur) out.push(el)
    } else {
      out.push(cur)
    }
    return
  }
  if (cur === null || cur === undefined) return
  const part = parts[i]!
  if (Array.isArray(cur)) {
    if (/^\d+$/.test(part)) {
      collect(cur[Number(part)], parts, i + 1, out)
      return
    }
    for (const el of cur) if (el !== null && typeof el === 'object') collect((el as Doc)[part], parts, i + 1, out)
    return
  }
  if (typeof cur === 'object') {
    collect((cur as Doc)[part], parts, i + 1, out)
  }
}

/** Whether a dotted path exists in the document at all (used by sparse indexes). */
export function hasPath(doc: unknown, path: string): boolean {
  const vals: unknown[] = []
  collect(doc, path.split('.'), 0, vals)
  return vals.some((v) => v !== undefined)
}

/** A single value at a dotted path without array expansion (first match). */
export function getPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Doc)[part]
  }
  return cur
}

// mongod's cross-type order: MinKey < null < numbers < string < object < array < binData < ObjectId < bool < date < timestamp < regex < MaxKey
function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 1
  if (typeof v === 'number' || typeof v === 'bigint') return 2
  if (typeof v === 'string') return 3
  if (typeof v === 'boolean') return 8
  if (v instanceof Date) return 9
  if (Array.isArray(v)) return 5
  if (v instanceof RegExp) return 11
  const t = bsonType(v)
  switch (t) {
    case 'MinKey':
      return 0
    case 'Long':
    case 'Int32':
    case 'Double':
    case 'Decimal128':
      return 2
    case 'Binary':
      return 6
    case 'ObjectId':
      return 7
    case 'Timestamp':
      return 10
    case 'BSONRegExp':
      return 11
    case 'MaxKey':
      return 12
    default:
      return 4
  }
}

function toNum(v: unknown): number {
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  return Number((v as { toString(): string }).toString())
}

interface ObjectIdWords {
  i0: number
  i1: number
  i2: number
  i3: number
}

/** Total order over BSON values, as mongod sorts index keys. */
export function compareValues(a: unknown, b: unknown): number {
  // Fast paths for the common same-type keys.
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0
  const ra = typeRank(a)
  const rb = typeRank(b)
  if (ra !== rb) return ra < rb ? -1 : 1
  switch (ra) {
    case 1:
    case 0:
    case 12:
      return 0
    case 2: {
      const x = toNum(a)
      const y = toNum(b)
      return x < y ? -1 : x > y ? 1 : 0
    }
    case 3:
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0
    case 8:
      return a === b ? 0 : a ? 1 : -1
    case 9:
      return Math.sign((a as Date).getTime() - (b as Date).getTime())
    case 7: {
      // bson 7 keeps an ObjectId as four 24-bit words; comparing them avoids allocating bytes.
      const x = a as ObjectIdWords
      const y = b as ObjectIdWords
      if (typeof x.i0 === 'number' && typeof y.i0 === 'number')
        return x.i0 !== y.i0 ? (x.i0 < y.i0 ? -1 : 1) : x.i1 !== y.i1 ? (x.i1 < y.i1 ? -1 : 1) : x.i2 !== y.i2 ? (x.i2 < y.i2 ? -1 : 1) : x.i3 < y.i3 ? -1 : x.i3 > y.i3 ? 1 : 0
      return Buffer.compare((a as { id: Uint8Array }).id, (b as { id: Uint8Array }).id)
    }
    case 5: {
      const x = a as unknown[]
      const y = b as unknown[]
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareValues(x[i], y[i])
        if (c !== 0) return c
      }
      return Math.sign(x.length - y.length)
    }
    case 4: {
      if (!isPlainObject(a) || !isPlainObject(b)) return 0
      const ka = Object.keys(a)
      const kb = Object.keys(b)
      for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
        const c1 = compareValues(a[ka[i]!], b[kb[i]!])
        if (c1 !== 0) return c1
        if (ka[i]! !== kb[i]!) return ka[i]! < kb[i]! ? -1 : 1
      }
      return Math.sign(ka.length - kb.length)
    }
    default: {
      const x = canonicalKey(a)
      const y = canonicalKey(b)
      return x < y ? -1 : x > y ? 1 : 0
    }
  }
}

/** Renders a value the way mongod prints it in "dup key: { ... }" messages. */
export function renderValue(v: unknown): string {
  if (v === undefined || v === null) return 'null'
  if (typeof v === 'string') return '"' + v + '"'
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  if (v instanceof Date) return 'new Date(' + v.getTime() + ')'
  if (Array.isArray(v)) return '[ ' + v.map(renderValue).join(', ') + ' ]'
  const t = bsonType(v)
  if (t === 'ObjectId') return "ObjectId('" + (v as { toHexString(): string }).toHexString() + "')"
  if (t === 'Long') return (v as { toString(): string }).toString()
  if (t === 'Decimal128') return 'NumberDecimal("' + String(v) + '")'
  if (t === 'Binary') return 'BinData(' + (v as { sub_type: number }).sub_type + ', ' + (v as unknown as { toString(e: string): string }).toString('hex').toUpperCase() + ')'
  if (isPlainObject(v)) return renderObject(v)
  return String(v)
}

export function renderObject(o: Doc): string {
  const keys = Object.keys(o)
  if (keys.length === 0) return '{}'
  return '{ ' + keys.map((k) => k + ': ' + renderValue(o[k])).join(', ') + ' }'
}
