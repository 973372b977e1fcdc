// Benchmarks the embedded MongoDB-compatible server through the official driver: indexed equality
// lookups at 1k vs 100k documents (should be flat with a hash index) and insert throughput in
// memory and on disk. `npm run bench:db` prints a table; runDbBench() returns the figures.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { MongoClient, type Collection, type Document } from 'mongodb'
import { startEmbeddedMongo } from '../scripts/embedded-mongo/index.js'

const LOOKUPS = 2000
const WARMUP = 500

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

function userDoc(i: number): Document {
  return { email: `user${i}@example.com`, name: `User ${i}`, roles: ['user'], passwordHash: 'x'.repeat(60), createdAt: new Date() }
}

async function fill(coll: Collection, n: number, batch = 1000): Promise<number> {
  const t0 = performance.now()
  for (let i = 0; i < n; i += batch) {
    await coll.insertMany(Array.from({ length: Math.min(batch, n - i) }, (_, j) => userDoc(i + j)), { ordered: false })
  }
  return n / ((performance.now() - t0) / 1000)
}

async function lookups(coll: Collection, n: number): Promise<{ median: number; p99: number }> {
  const pick = () => `user${Math.floor(Math.random() * n)}@example.com`
  for (let i = 0; i < WARMUP; i++) await coll.findOne({ email: pick() })
  const times: number[] = []
  for (let i = 0; i < LOOKUPS; i++) {
    const email = pick()
    const t0 = performance.now()
    const doc = await coll.findOne({ email })
    times.push(performance.now() - t0)
    if (!doc) throw new Error(`lookup of ${email} found nothing`)
  }
  times.sort((a, b) => a - b)
  return { median: percentile(times, 50) * 1000, p99: percentile(times, 99) * 1000 }
}

async function singleInserts(coll: Collection, n: number, concurrency: number): Promise<number> {
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await coll.insertOne(userDoc(1_000_000 + next++))
    }),
  )
  return n / ((performance.now() - t0) / 1000)
}

export async function runDbBench(): Promise<Record<string, number>> {
  const out: Record<string, number> = {}

  const mem = await startEmbeddedMongo({ memory: true, port: 0 })
  const memClient = await MongoClient.connect(mem.uri)
  try {
    const db = memClient.db('bench')
    const small = db.collection('users_1k')
    const large = db.collection('users_100k')
    await small.createIndex({ email: 1 }, { unique: true })
    await large.createIndex({ email: 1 }, { unique: true })
    await fill(small, 1_000)
    out.memInsertManyDocsPerSec = await fill(large, 100_000)
    const s = await lookups(small, 1_000)
    const l = await lookups(large, 100_000)
    out.lookup1kMedianUs = s.median
    out.lookup1kP99Us = s.p99
    out.lookup100kMedianUs = l.median
    out.lookup100kP99Us = l.p99
    out.lookupRatio100kTo1k = l.median / s.median
    out.memSingleInsertOpsPerSec = await singleInserts(db.collection('single'), 2_000, 1)
    out.memSingleInsertConc16OpsPerSec = await singleInserts(db.collection('single16'), 3_000, 16)
  } finally {
    await memClient.close()
    await mem.stop()
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-db-'))
  const disk = await startEmbeddedMongo({ dataDir: dir, port: 0 })
  const diskClient = await MongoClient.connect(disk.uri)
  try {
    const db = diskClient.db('bench')
    await db.collection('users').createIndex({ email: 1 }, { unique: true })
    out.diskInsertManyDocsPerSec = await fill(db.collection('users'), 20_000)
    out.diskSingleInsertOpsPerSec = await singleInserts(db.collection('single'), 500, 1)
    out.diskSingleInsertConc16OpsPerSec = await singleInserts(db.collection('single16'), 2_000, 16)
  } finally {
    await diskClient.close()
    await disk.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  return out
}

function printTable(r: Record<string, number>): void {
  const f = (n: number | undefined, digits = 0) => (n === undefined ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }))
  const rows: [string, string][] = [
    ['findOne({email}) unique index, 1k docs: median / p99', `${f(r.lookup1kMedianUs)} µs / ${f(r.lookup1kP99Us)} µs`],
    ['findOne({email}) unique index, 100k docs: median / p99', `${f(r.lookup100kMedianUs)} µs / ${f(r.lookup100kP99Us)} µs`],
    ['lookup median ratio 100k / 1k (target <= 1.5)', `${f(r.lookupRatio100kTo1k, 2)}x`],
    ['insertMany (batches of 1000), memory', `${f(r.memInsertManyDocsPerSec)} docs/s`],
    ['insertOne sequential, memory', `${f(r.memSingleInsertOpsPerSec)} ops/s`],
    ['insertOne 16 concurrent, memory', `${f(r.memSingleInsertConc16OpsPerSec)} ops/s`],
    ['insertMany (batches of 1000), disk (fsync per batch)', `${f(r.diskInsertManyDocsPerSec)} docs/s`],
    ['insertOne sequential, disk (fsync each)', `${f(r.diskSingleInsertOpsPerSec)} ops/s`],
    ['insertOne 16 concurrent, disk (group commit)', `${f(r.diskSingleInsertConc16OpsPerSec)} ops/s`],
  ]
  const w = Math.max(...rows.map(([k]) => k.length))
  console.log('\nEmbedded MongoDB benchmark (through the official driver)\n')
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`)
  console.log()
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const t0 = performance.now()
  runDbBench().then(
    (r) => {
      printTable(r)
      console.log(`  (took ${((performance.now() - t0) / 1000).toFixed(1)} s)`)
    },
    (err: unknown) => {
      console.error(err)
      process.exit(1)
    },
  )
}
