// The connection budget: 8 function instances (8 runner processes, each with its own client, as
// 8 Vercel instances have) under load against one database, which counts its connections
// (serverStatus). Each instance may hold MONGODB_MAX_POOL_SIZE pooled connections plus one
// monitoring connection per server (polling mode; one server here): the database must never
// see more than 8 x (pool + 1), and once the load stops, the pooled connections must close after
// MONGODB_MAX_IDLE_TIME_MS. LOAD_PROFILE=full runs longer and harder; the default is CI's.
// Runner only: built, every function is an instance of its own and the prebuilt host keeps a
// client of its own, so 8 hosts are some 24 instances, not 8 (the same lib/db.ts either way).
import { randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startDbProcess, type DbProcess } from '../helpers/db-process.js'
import { ADMIN, login, onPrebuilt, startService, type Service } from '../helpers/service.js'

interface Profile {
  /** Concurrent requests kept in flight against each instance. */
  concurrency: number
  loadMs: number
}
const PROFILES: Record<string, Profile> = {
  ci: { concurrency: 12, loadMs: 3_000 },
  full: { concurrency: 40, loadMs: 20_000 },
}
const profileName = process.env.LOAD_PROFILE ?? 'ci'
const profile: Profile = PROFILES[profileName] ?? fail(`LOAD_PROFILE must be one of ${Object.keys(PROFILES).join(', ')}, not ${profileName}`)
function fail(message: string): never {
  throw new Error(message)
}

const INSTANCES = 8
const POOL = 4
// Per server, in polling mode (lib/db.ts): the monitor's one connection.
const MONITORING = 1
const IDLE_MS = 1_500
// How long the pools may take to notice idle connections after IDLE_MS (the driver checks
// its pool in the background), on a loaded machine.
const SETTLE_MS = 30_000

let db: DbProcess | undefined
let probe: MongoClient
const services: Service[] = []

/** Connections the database has open, not counting the probe's own. */
let probeOwn = 0
async function connections(): Promise<number> {
  const status = await probe.db('admin').command({ serverStatus: 1 })
  return (status.connections as { current: number }).current - probeOwn
}

beforeAll(async () => {
  if (onPrebuilt) return
  db = await startDbProcess({ memory: true })
  // The probe itself: one pooled and one monitoring connection, counted before anything else.
  probe = await MongoClient.connect(db.uri, { maxPoolSize: 1, serverMonitoringMode: 'poll' })
  probeOwn = await connections()
  const dbName = `conn_${Date.now().toString(36)}`
  const env = {
    MONGODB_URI: db.uri,
    MONGODB_DB: dbName,
    MONGODB_MAX_POOL_SIZE: String(POOL),
    MONGODB_MAX_IDLE_TIME_MS: String(IDLE_MS),
    LOG_LEVEL: 'warn',
    BCRYPT_COST: '4',
    // One deployment: every instance verifies the same tokens.
    JWT_SECRET: randomBytes(32).toString('base64url'),
  }
  // One after another: eight cold tsx processes at once starve a 2-core machine.
  for (let i = 0; i < INSTANCES; i++) services.push(await startService(env))
}, 300_000)

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()))
  await probe?.close()
  await db?.stop()
})

/** Keeps `concurrency` requests in flight against one instance until `until`; the statuses seen. */
async function drive(svc: Service, token: string, until: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>()
  let turn = 0
  const worker = async () => {
    while (Date.now() < until) {
      // Health sends one uncoalesced ping per request, users/me a session read: both hold a
      // pooled connection while in flight.
      const res = (turn++ % 2 === 0) ? await svc.fetch('/api/health') : await svc.call('GET', '/api/users/me', { token })
      await res.arrayBuffer()
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    }
  }
  await Promise.all(Array.from({ length: profile.concurrency }, worker))
  return statuses
}

it.skipIf(onPrebuilt)(`keeps ${INSTANCES} instances within ${INSTANCES} x (pool + monitoring) and falls back when idle`, async () => {
  const token = (await login(services[0]!, ADMIN.username, ADMIN.password)).access_token
  const budget = INSTANCES * (POOL + MONITORING)
  const before = await connections()

  let peak = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await connections())
      await new Promise((r) => setTimeout(r, 50))
    }
  })()
  const until = Date.now() + profile.loadMs
  const statuses = await Promise.all(services.map((s) => drive(s, token, until)))
  sampling = false
  await sampler
  const afterLoad = await connections()

  // Idle: the pooled connections close; the monitors stay (one per instance).
  const stopped = Date.now()
  const deadline = stopped + IDLE_MS + SETTLE_MS
  let idle = afterLoad
  while (idle > INSTANCES * MONITORING && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250))
    idle = await connections()
  }

  const answered = statuses.reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0)
  const ok = statuses.reduce((n, m) => n + (m.get(200) ?? 0), 0)
  console.log(
    `connections: ${INSTANCES} instances, pool ${POOL} + ${MONITORING} monitoring each (budget ${budget}); ` +
      `before load ${before}, peak under load ${peak}, right after ${afterLoad}, ${Date.now() - stopped} ms after it (idle time ${IDLE_MS} ms) ${idle}; ` +
      `${answered} requests at ${profile.concurrency} per instance, ${ok} answered 200`,
  )
  expect(ok).toBe(answered)
  // The load really used the pools: more than the monitors alone.
  expect(peak).toBeGreaterThan(INSTANCES * MONITORING)
  expect(peak).toBeLessThanOrEqual(budget)
  expect(idle).toBeLessThanOrEqual(INSTANCES * MONITORING)
}, 240_000)
