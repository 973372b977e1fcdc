// What every command shares: the server state a command runs against, its context, the limits
// mongod 7 reports, and the argument helpers that answer bad arguments as mongod does.
import { Query } from 'mingo'
import { Long, ObjectId } from 'bson'
import { MongoServerError, toServerError } from '../errors.js'
import { compileFilter, queryOptions, type Matcher } from '../mingo.js'
import { CursorManager } from '../cursors.js'
import type { Engine, Op } from '../engine.js'
import { isPlainObject, type Doc } from '../values.js'

export const SERVER_VERSION = '7.0.0'

export const MAX_BSON = 16 * 1024 * 1024

export const MAX_MESSAGE = 48_000_000

export const MAX_WRITE_BATCH = 100_000

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

export interface Ctx {
  state: ServerState
  conn: ConnectionInfo
  db: string
  cmd: Doc
  name: string
}

export type Handler = (ctx: Ctx) => Doc | Promise<Doc>

// ---- argument helpers -------------------------------------------------------------------------

export function bsonTypeName(v: unknown): string {
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

export function typeError(ctx: Ctx, field: string, value: unknown, expected: string): MongoServerError {
  return new MongoServerError(
    'TypeMismatch',
    `BSON field '${ctx.name}.${field}' is the wrong type '${bsonTypeName(value)}', expected type '${expected}'`,
  )
}

export function optObject(ctx: Ctx, field: string): Doc | undefined {
  const v = ctx.cmd[field]
  if (v === undefined || v === null) return undefined
  if (!isPlainObject(v)) throw typeError(ctx, field, v, 'object')
  return v
}

export function optArray(ctx: Ctx, field: string): unknown[] | undefined {
  const v = ctx.cmd[field]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v)) throw typeError(ctx, field, v, 'array')
  return v
}

export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (v instanceof Long) return v.toNumber()
  if (v !== null && typeof v === 'object' && '_bsontype' in v) {
    const n = Number(String(v))
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}

export function optNumber(ctx: Ctx, field: string, from: Doc = ctx.cmd): number | undefined {
  const v = from[field]
  if (v === undefined || v === null) return undefined
  const n = toNumber(v)
  if (n === undefined) throw typeError(ctx, field, v, 'long')
  return n
}

export function optBool(v: unknown): boolean {
  return v === true || (typeof v === 'number' && v !== 0)
}

/** The collection argument (`{find: "users"}`), validated like mongod validates namespaces. */
export function collName(ctx: Ctx): string {
  const v = ctx.cmd[ctx.name]
  if (typeof v !== 'string') throw new MongoServerError('InvalidNamespace', `collection name has invalid type ${bsonTypeName(v)}`)
  if (v === '' || v.includes('\0') || v.startsWith('.') || v.includes('$'))
    throw new MongoServerError('InvalidNamespace', `Invalid namespace specified '${ctx.db}.${v}'`)
  return v
}

export function compileQuery(filter: Doc): Matcher {
  try {
    return compileFilter(filter)
  } catch (err) {
    throw toServerError(err)
  }
}

/** Applies a find projection; the filter is needed for positional (`field.$`) projections. */
export function project(docs: Doc[], filter: Doc, projection: Doc | undefined): Doc[] {
  if (!projection || Object.keys(projection).length === 0) return docs
  try {
    return new Query(filter, queryOptions()).find<Doc>(docs, projection).all()
  } catch (err) {
    throw toServerError(err)
  }
}

export function isOperatorUpdate(u: Doc): boolean {
  const keys = Object.keys(u)
  return keys.length > 0 && keys[0]!.startsWith('$')
}

export function withIdFirst(doc: Doc): Doc {
  if (doc._id === undefined) return { _id: new ObjectId(), ...doc }
  if (Object.keys(doc)[0] === '_id') return doc
  const { _id, ...rest } = doc
  return { _id, ...rest }
}

/** Runs a mutation synchronously, then waits for durability of whatever it managed to change. */
export async function durably<T>(engine: Engine, fn: (ops: Op[]) => T): Promise<T> {
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

export function writeError(err: unknown, index: number): Doc {
  return toServerError(err).toWriteError(index)
}

// ---- command implementations ------------------------------------------------------------------

export function resolver(ctx: Ctx): (name: string) => Doc[] {
  return (name: string) => {
    const coll = ctx.state.engine.collection(ctx.db, name)
    return coll ? [...coll.docs.values()] : []
  }
}
