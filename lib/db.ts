// Database access: one MongoClient per function instance, cached on globalThis so warm
// invocations and hot reloads reuse its pool; the service's indexes ensured once per instance;
// and per-request accounting of database time and round trips (for Server-Timing and the
// benchmarks). It knows only a URI: it never imports local tooling, and never throws at import.
import type { Role } from './schemas.js'
import type { Aal, Amr } from './tokens.js'
import { createRequire } from 'node:module'
// Types only at the top: the driver itself is loaded on first use (driver()), so a function
// pays for it only when a request needs the database, not at cold start.
import type { Collection, Db, Document, MongoClient, ObjectId } from 'mongodb'
import { attachDatabasePool } from '@vercel/functions'
import { getConfig } from './config.js'
import { countingInto, currentDbMetrics, type DbMetrics } from './context.js'
import { describeError, log } from './log.js'
import { isUnavailable } from './problem.js'

export interface UserDoc {
  _id: ObjectId
  username: string
  email: string
  password_hash: string
  role: Role
  disabled: boolean
  created_at: Date
  updated_at: Date
  /** Changes with the password, role or disabling (credentials.ts); absent on older users (0). */
  cred_version?: number
  /** Whether `email` is proven (a verification link, a completed reset, an admin); absent: false. */
  email_verified?: boolean
  /** The address a user asked to change to, until a link mailed to it is confirmed (null: none). */
  pending_email?: string | null
  /** Moves with every change of email or pending_email; a verification link records it (absent: 0). */
  email_version?: number
  /** Second factors (lib/mfa/); absent on a user who never enrolled. */
  mfa?: MfaDoc
}

export interface MfaDoc {
  /** Active TOTP: the secret sealed with AES-256-GCM (lib/mfa/secrets.ts) and the last step accepted. */
  totp?: { secret: string; activated_at: Date; last_step: number }
  /** An enrolment waiting for its first code; a new enrolment replaces it. */
  pending_totp?: { secret: string; created_at: Date }
  /** Keyed hashes of the unused recovery codes. */
  recovery_codes?: string[]
}

export interface SessionDoc {
  _id: string
  user_id: ObjectId
  /** Copied from the user so a refresh needs no second read; a role change ends the session. */
  username: string
  role: Role
  refresh_hash: string
  /** Hashes rotated away recently: presented within the reuse interval they get a fresh pair. */
  recent: { hash: string; at: Date }[]
  created_at: Date
  last_used_at: Date
  expires_at: Date
  user_agent: string
  ip: string
  /** The user's credential version when the session started; absent on older sessions (0). */
  cred_version?: number
  /** How the session was authenticated (RFC 8176, NIST SP 800-63B); absent on older sessions: ["pwd"], aal1. */
  amr?: Amr[]
  aal?: Aal
}

export interface CounterDoc {
  _id: string
  count: number
  expires_at: Date
}

export interface AuditDoc {
  _id?: ObjectId
  event: string
  at: Date
  actor_id?: string
  actor?: string
  user_id?: string
  user?: string
  request_id?: string
  ip?: string
  detail?: Record<string, unknown>
  expires_at: Date
}

export interface ResetDoc {
  _id: string
  user_id: ObjectId
  /** The address the link was issued for, and the credential version then: a change of either kills it. */
  email: string
  cred_version: number
  expires_at: Date
  created_at: Date
}

export interface VerificationDoc {
  /** SHA-256 of the token. */
  _id: string
  user_id: ObjectId
  /** The address the link proves: the user's email, or the pending one it would become. */
  email: string
  /** True when `email` is a pending address the link makes the account's own. */
  change: boolean
  /** The user's email and credential versions at issue: a change of either kills the link. */
  email_version: number
  cred_version: number
  expires_at: Date
  created_at: Date
}

export { currentDbMetrics, type DbMetrics }

type Driver = typeof import('mongodb')

interface Cache {
  driver?: Driver
  client?: Promise<MongoClient>
  ready?: Promise<Db>
  key?: string
  /** The last reading of the required indexes (missingIndexes). */
  indexCheck?: { at: number; missing: Promise<string[]> }
}

// globalThis survives module reloads in the local runner and warm starts on Vercel.
const cache = ((globalThis as { __authDb?: Cache }).__authDb ??= {})

// Replies arrive in the socket's async context, not the request's: remember whose command it was.
const started = new Map<number, { t0: number; m: DbMetrics }>()

/**
 * Runs fn, one query sent on behalf of several requests (see coalesce.ts), and bills its round
 * trips and time to each of them, as each had to wait for all of it.
 */
export async function onBehalfOf<T>(participants: (DbMetrics | undefined)[], fn: () => Promise<T>): Promise<T> {
  const shared: DbMetrics = { ms: 0, roundTrips: 0 }
  try {
    return await countingInto(shared, fn)
  } finally {
    for (const p of new Set(participants)) {
      if (!p) continue
      p.ms += shared.ms
      p.roundTrips += shared.roundTrips
    }
  }
}

const require = createRequire(import.meta.url)
// A name the file trace cannot follow, so node_modules/mongodb does not ship beside the bundle.
const requirePackage = (name: string): unknown => require(name)

/**
 * The mongodb driver: the one-file bundle `npm run build` makes (scripts/bundle-driver.ts; a
 * cold start compiles one file instead of resolving some 200), or the package itself when
 * there is none (the sources, run by tests and the local runner). Loaded synchronously on first
 * use, so a route that answers without the database never loads it.
 */
export function driver(): Driver {
  if (cache.driver) return cache.driver
  try {
    cache.driver = require('./vendor/mongodb.cjs') as Driver
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code !== 'MODULE_NOT_FOUND' || !e.message.includes('mongodb.cjs')) throw err
    cache.driver = requirePackage('mongodb') as Driver
  }
  return cache.driver
}

/** A new ObjectId, or the one `hex` spells (24 hex digits). */
export function objectId(hex?: string): ObjectId {
  return new (driver().ObjectId)(hex)
}

async function connect(): Promise<MongoClient> {
  const config = getConfig()
  const { MongoClient } = driver()
  const client = new MongoClient(config.mongoUri, {
    // Serverless: few connections per instance (README, "Connections"), closed soon when idle,
    // and a quick answer (503, not a hang) when the database cannot be reached.
    maxPoolSize: config.maxPoolSize,
    minPoolSize: 0,
    maxIdleTimeMS: config.maxIdleTimeMs,
    // Polling monitors each server over one connection; the default (streaming, on a server
    // that supports it) holds a second one per server open for the round-trip timer.
    serverMonitoringMode: 'poll',
    serverSelectionTimeoutMS: config.dbTimeoutMs,
    connectTimeoutMS: config.dbTimeoutMs,
    socketTimeoutMS: 15_000,
    appName: 'vercel-mongo-auth',
    monitorCommands: true,
  })
  client.on('commandStarted', (e) => {
    const m = currentDbMetrics()
    if (m) started.set(e.requestId, { t0: performance.now(), m })
  })
  const finish = (e: { requestId: number }) => {
    const entry = started.get(e.requestId)
    if (!entry) return
    started.delete(e.requestId)
    entry.m.roundTrips += 1
    entry.m.ms += performance.now() - entry.t0
  }
  client.on('commandSucceeded', finish)
  client.on('commandFailed', finish)
  // Pool events at debug level: how many connections an instance really opens.
  client.on('connectionCreated', (e) => log('debug', 'db.connection_created', { connection_id: e.connectionId }))
  client.on('connectionClosed', (e) => log('debug', 'db.connection_closed', { connection_id: e.connectionId, reason: e.reason }))
  log('debug', 'db.client_created', { max_pool_size: config.maxPoolSize, max_idle_time_ms: config.maxIdleTimeMs })
  // On Vercel's Fluid compute, lets the platform close idle pool connections before suspending.
  attachDatabasePool(client)
  return client
}

/** The database, connected and indexed on first use in this instance. */
export function getDb(): Promise<Db> {
  const config = getConfig()
  const key = `${config.mongoUri}\n${config.mongoDb}`
  if (cache.ready && cache.key === key) return cache.ready
  cache.client ??= connect()
  cache.key = key
  const client = cache.client
  const ready = (async () => {
    const connected = await client
    // Connect explicitly: when the driver connects on its own for the first operation and that
    // fails (database down at cold start), it closes the client for good and every later
    // operation gets "Topology is closed"; a failed connect() can be tried again.
    await connected.connect()
    const db = connected.db(config.mongoDb)
    await ensureIndexes(db)
    return db
  })()
  // A failed start (database down) is not cached: the next request tries again.
  ready.catch(() => {
    if (cache.ready === ready) cache.ready = undefined
  })
  cache.ready = ready
  return ready
}

/** The instance's client (for local tools that close it when they are done). */
export function getClient(): Promise<MongoClient> {
  cache.client ??= connect()
  return cache.client
}

type IndexSpec = { key: Record<string, 1 | -1>; name: string; unique?: true; expireAfterSeconds?: number }

/**
 * The indexes the service relies on, by collection: uniqueness that settles races (username,
 * email), TTLs that expire sessions, counters, audit entries and reset links, and the indexes
 * behind the list and audit queries. Created on each instance's first use of the database;
 * /api/health reports any of them missing (a database seeded or restored by hand may lack them).
 */
export const REQUIRED_INDEXES: Record<string, IndexSpec[]> = {
  users: [
    { key: { username: 1 }, name: 'username_unique', unique: true },
    { key: { email: 1 }, name: 'email_unique', unique: true },
    { key: { role: 1, username: 1 }, name: 'role_username' },
  ],
  sessions: [
    { key: { user_id: 1 }, name: 'user_id' },
    { key: { expires_at: 1 }, name: 'expires_ttl', expireAfterSeconds: 0 },
  ],
  counters: [{ key: { expires_at: 1 }, name: 'expires_ttl', expireAfterSeconds: 0 }],
  audit: [
    { key: { expires_at: 1 }, name: 'expires_ttl', expireAfterSeconds: 0 },
    { key: { user: 1, _id: -1 }, name: 'user_recent' },
    { key: { actor: 1, _id: -1 }, name: 'actor_recent' },
    { key: { event: 1, _id: -1 }, name: 'event_recent' },
  ],
  password_resets: [
    { key: { expires_at: 1 }, name: 'expires_ttl', expireAfterSeconds: 0 },
    { key: { user_id: 1 }, name: 'user_id' },
  ],
  email_verifications: [
    { key: { expires_at: 1 }, name: 'expires_ttl', expireAfterSeconds: 0 },
    { key: { user_id: 1 }, name: 'user_id' },
  ],
}

/**
 * Creates the required indexes. One the database refuses (an index of another name or other
 * options on the same key, duplicates under a unique key) is logged as `db.index_failed` and
 * left missing, for /api/health to report, and the service keeps serving; a database that
 * cannot be reached fails the start, to be tried again on the next request.
 */
async function ensureIndexes(db: Db): Promise<void> {
  const refusals: unknown[] = []
  const create = async (collection: string, specs: IndexSpec[]): Promise<void> => {
    try {
      await db.collection(collection).createIndexes(specs)
    } catch (err) {
      if (isUnavailable(err)) throw err
      // The batch was refused as a whole: one at a time, so only the refused ones stay missing.
      if (specs.length > 1) {
        await Promise.all(specs.map((spec) => create(collection, [spec])))
        return
      }
      refusals.push(err)
      log('error', 'db.index_failed', { collection, index: specs[0]!.name, ...describeError(err) })
    }
  }
  await Promise.all(Object.entries(REQUIRED_INDEXES).map(([collection, specs]) => create(collection, specs)))
  // Created as asked, all of them exist: no need to list them until the next periodic check.
  cache.indexCheck = { at: Date.now(), missing: refusals.length === 0 ? Promise.resolve([]) : listMissingIndexes(db) }
}

// A minute between checks keeps /api/health at one round trip almost always.
const INDEX_CHECK_INTERVAL_MS = 60_000

/** `collection.index` for every required index the database does not have. */
async function listMissingIndexes(db: Db): Promise<string[]> {
  const found = await Promise.all(
    Object.keys(REQUIRED_INDEXES).map((collection) =>
      db
        .collection(collection)
        .listIndexes()
        .toArray()
        .catch((err: { codeName?: string }) => {
          // No collection yet means none of its indexes.
          if (err.codeName === 'NamespaceNotFound') return []
          throw err
        }),
    ),
  )
  const missing: string[] = []
  for (const [i, [collection, specs]] of Object.entries(REQUIRED_INDEXES).entries()) {
    const existing = found[i]!
    for (const spec of specs) if (!existing.some((ix) => sameIndex(ix, spec))) missing.push(`${collection}.${spec.name}`)
  }
  return missing
}

// The same key in the same order and the options the service relies on; the name may differ
// (an index made by hand under another name serves as well).
function sameIndex(ix: Document, spec: IndexSpec): boolean {
  if (JSON.stringify(ix.key) !== JSON.stringify(spec.key)) return false
  if (spec.unique && ix.unique !== true) return false
  return spec.expireAfterSeconds === undefined || ix.expireAfterSeconds === spec.expireAfterSeconds
}

/**
 * The required indexes the database lacks, read again at most once a minute per instance (the
 * answer in between is the last one read).
 */
export async function missingIndexes(): Promise<string[]> {
  const db = await getDb()
  let check = cache.indexCheck
  if (!check || Date.now() - check.at >= INDEX_CHECK_INTERVAL_MS) {
    const fresh = { at: Date.now(), missing: listMissingIndexes(db) }
    cache.indexCheck = check = fresh
    // A failed read is not remembered: the next call reads again.
    fresh.missing.catch(() => {
      if (cache.indexCheck === fresh) cache.indexCheck = undefined
    })
  }
  return check.missing
}

export interface Collections {
  users: Collection<UserDoc>
  sessions: Collection<SessionDoc>
  /**
   * Per-account login attempts (throttle.ts). They share the sessions collection (ids
   * `login:...`, never a session id; no user_id, so no session query meets them) so that a
   * successful login inserts its session and clears its account's count in one update command.
   */
  attempts: Collection<CounterDoc>
  counters: Collection<CounterDoc>
  audit: Collection<AuditDoc>
  resets: Collection<ResetDoc>
  verifications: Collection<VerificationDoc>
}

export async function collections(): Promise<Collections> {
  const db = await getDb()
  return {
    users: db.collection<UserDoc>('users'),
    sessions: db.collection<SessionDoc>('sessions'),
    attempts: db.collection<CounterDoc>('sessions'),
    counters: db.collection<CounterDoc>('counters'),
    audit: db.collection<AuditDoc>('audit'),
    resets: db.collection<ResetDoc>('password_resets'),
    verifications: db.collection<VerificationDoc>('email_verifications'),
  }
}

/** A cheap round trip that proves the database answers (for /api/health). */
export async function pingDb(): Promise<void> {
  const db = await getDb()
  await db.command({ ping: 1 } as Document)
}
