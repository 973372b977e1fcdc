// The request in flight, in one place: its id, client, route, caller, the events to audit and the
// database metrics, in one AsyncLocalStorage. The request wrapper (lib/http) makes and reads it;
// db.ts counts each command into the metrics of the request that sent it. Domain modules never
// touch it: they take what they need as arguments and return what happened.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { AuditEvent } from './audit.js'

export interface DbMetrics {
  ms: number
  roundTrips: number
}

/** What the log line, Server-Timing and the audit trail know of the request in flight. */
export interface RequestContext {
  requestId: string
  ip: string
  userAgent: string
  route: string
  userId?: string
  username?: string
  /** What happened, in order: named in the log line and written to the audit trail. */
  events: AuditEvent[]
  /** Extra fields for the log line. */
  fields: Record<string, unknown>
  /** The request's database time and round trips, for Server-Timing and the log line. */
  db: DbMetrics
}

/** The request, if any, and whose metrics a database command counts into (see db.ts onBehalfOf). */
interface Scope {
  request?: RequestContext
  db: DbMetrics
}

// Kept on globalThis with the database client: the local runner reloads lib/ after an edit, and
// the client's listeners (made by the first copy) must read the store every copy writes.
const KEY = Symbol.for('vercel-mongo-auth.request-context')
const holder = globalThis as typeof globalThis & { [KEY]?: AsyncLocalStorage<Scope> }
const store = (holder[KEY] ??= new AsyncLocalStorage<Scope>())

/** Runs fn as the request `ctx`: everything it awaits sees the context and counts into its metrics. */
export function runRequest<T>(ctx: RequestContext, fn: () => Promise<T>): Promise<T> {
  return store.run({ request: ctx, db: ctx.db }, fn)
}

export function currentRequest(): RequestContext | undefined {
  return store.getStore()?.request
}

/** The metrics the database commands sent now count into. */
export function currentDbMetrics(): DbMetrics | undefined {
  return store.getStore()?.db
}

/** Runs fn counting its database commands into `db` instead (one query shared by several requests). */
export function countingInto<T>(db: DbMetrics, fn: () => Promise<T>): Promise<T> {
  return store.run({ db }, fn)
}
