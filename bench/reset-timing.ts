// `npm run bench -- --with-reset`, or alone: `node --import tsx bench/reset-timing.ts [--pairs N]`.
// Does POST /api/auth/password-reset tell existing accounts from unknown ones by its timing?
// Sends interleaved pairs (one request for an existing account, one for an unknown address, the
// order alternating pair by pair) to the local runner on the embedded database, and prints the
// median and p90 of the whole request time and of the database time the service reports in
// Server-Timing, for each kind, and their ratio (issue 15 asks for at most 1.1). It reports; it
// asserts nothing (a shared machine is noisy), and no test times anything.
//
// Every request is sent from a loopback address of its own group of 20 pairs (the runner takes
// the client address from the socket, like Vercel), so the per-address limit (50 per 15 minutes)
// never answers 429; each account and each unknown address is asked once, so the per-account
// limit never does either. A short pause after each answer lets the work a request does after
// its answer (the audit write, the mail) finish before the next one starts, as it would between
// an attacker's probes.
import { randomBytes } from 'node:crypto'
import { Agent, request } from 'node:http'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { MongoClient, ObjectId } from 'mongodb'
import type { UserDoc } from '../lib/db.js'
import { median, percentile } from './load.js'
import { makeBenchRoot, startDatabase, startRunner } from './service.js'

export interface Side {
  /** whole request, as the client saw it */
  totalMs: { median: number; p90: number }
  /** database time the service reported in Server-Timing */
  dbMs: { median: number; p90: number }
  roundTrips: number[]
  statuses: Record<string, number>
}

export interface ResetTimingFigures {
  pairs: number
  existing: Side
  unknown: Side
  /** existing / unknown; 1 means no difference */
  ratio: { totalMedian: number; totalP90: number; dbMedian: number; dbP90: number }
}

const PAIRS_PER_ADDRESS = 20
const WARMUP_PAIRS = 20
const PAUSE_MS = 5

interface Sample {
  status: number
  totalMs: number
  dbMs: number
  roundTrips: number
}

function post(url: string, agent: Agent, body: unknown): Promise<Sample> {
  const payload = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      res.resume()
      res.on('end', () => {
        const totalMs = performance.now() - t0
        const m = /db;dur=([\d.]+);desc="(\d+) round trips?"/.exec(String(res.headers['server-timing'] ?? ''))
        resolve({ status: res.statusCode ?? 0, totalMs, dbMs: m ? Number(m[1]) : NaN, roundTrips: m ? Number(m[2]) : NaN })
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

function side(samples: Sample[]): Side {
  const total = samples.map((s) => s.totalMs)
  const db = samples.map((s) => s.dbMs)
  const statuses: Record<string, number> = {}
  for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1
  return {
    totalMs: { median: median(total), p90: percentile(total, 90) },
    dbMs: { median: median(db), p90: percentile(db, 90) },
    roundTrips: [...new Set(samples.map((s) => s.roundTrips))].sort(),
    statuses,
  }
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms))

export async function runResetTimingBench(pairs = 200): Promise<ResetTimingFigures> {
  const step = (message: string) => process.stderr.write(`bench reset-timing: ${message}\n`)
  const env: Record<string, string> = {
    MONGODB_DB: 'bench_reset',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    BCRYPT_COST: '4',
    // No log line per request, and the local stand-in outbox (a warn line) stays quiet too.
    LOG_LEVEL: 'error',
    ADMIN_USERNAME: 'bench-admin',
    ADMIN_PASSWORD: `Adm-${randomBytes(12).toString('base64url')}`,
  }
  step('starting the embedded database and the local runner')
  const database = await startDatabase()
  env.MONGODB_URI = database.uri
  const runner = await startRunner(makeBenchRoot(), env)
  const client = await MongoClient.connect(database.uri)
  try {
    const total = pairs + WARMUP_PAIRS
    const now = new Date()
    // Accounts as the API stores them (a bcrypt-shaped hash; none of them ever logs in).
    const hash = `$2b$04$${'a'.repeat(53)}`
    const docs: UserDoc[] = Array.from({ length: total }, (_, i) => ({
      _id: new ObjectId(),
      username: `reset-${i}`,
      email: `reset-${i}@bench.example`,
      password_hash: hash,
      role: 'user',
      disabled: false,
      created_at: now,
      updated_at: now,
      cred_version: 0,
    }))
    await client.db(env.MONGODB_DB).collection<UserDoc>('users').insertMany(docs)
    step(`${total} accounts inserted; ${WARMUP_PAIRS} warm-up pairs, then ${pairs} measured`)

    const url = `${runner.url}/api/auth/password-reset`
    const existing: Sample[] = []
    const unknown: Sample[] = []
    let agent: Agent | undefined
    for (let i = 0; i < total; i++) {
      if (i % PAIRS_PER_ADDRESS === 0) {
        agent?.destroy()
        agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: `127.0.0.${2 + i / PAIRS_PER_ADDRESS}` })
      }
      const known = () => post(url, agent!, { email: docs[i]!.email })
      const nobody = () => post(url, agent!, { email: `nobody-${i}-${randomBytes(3).toString('hex')}@bench.example` })
      // Alternating which goes first, so neither kind always follows the other's after-work.
      const [first, second] = i % 2 === 0 ? [known, nobody] : [nobody, known]
      const a = await first()
      await pause(PAUSE_MS)
      const b = await second()
      await pause(PAUSE_MS)
      if (i < WARMUP_PAIRS) continue
      const [k, u] = i % 2 === 0 ? [a, b] : [b, a]
      existing.push(k)
      unknown.push(u)
    }
    agent?.destroy()
    const e = side(existing)
    const u = side(unknown)
    return {
      pairs,
      existing: e,
      unknown: u,
      ratio: {
        totalMedian: e.totalMs.median / u.totalMs.median,
        totalP90: e.totalMs.p90 / u.totalMs.p90,
        dbMedian: e.dbMs.median / u.dbMs.median,
        dbP90: e.dbMs.p90 / u.dbMs.p90,
      },
    }
  } finally {
    await client.close()
    await runner.child.stop()
    await database.child.stop()
  }
}

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-')

export function formatResetTiming(f: ResetTimingFigures): string {
  const row = (name: string, s: Side) =>
    `| ${name.padEnd(8)} | ${fmt(s.totalMs.median).padStart(9)} | ${fmt(s.totalMs.p90).padStart(9)} | ${fmt(s.dbMs.median).padStart(9)} | ${fmt(s.dbMs.p90).padStart(9)} | ${s.roundTrips.join(',').padStart(11)} | ${JSON.stringify(s.statuses)} |`
  const within = (r: number) => (Math.max(r, 1 / r) <= 1.1 ? 'yes' : 'NO')
  return [
    `Reset requests, existing vs unknown account: ${f.pairs} interleaved pairs (issue 15: ratio within 1.1)`,
    '| account  | total p50 | total p90 |    db p50 |    db p90 | round trips | statuses |',
    '|----------|----------:|----------:|----------:|----------:|------------:|----------|',
    row('existing', f.existing),
    row('unknown', f.unknown),
    '',
    `ratio existing/unknown: total p50 ${fmt(f.ratio.totalMedian)} (${within(f.ratio.totalMedian)}), total p90 ${fmt(f.ratio.totalP90)} (${within(f.ratio.totalP90)}), ` +
      `db p50 ${fmt(f.ratio.dbMedian)} (${within(f.ratio.dbMedian)}), db p90 ${fmt(f.ratio.dbP90)} (${within(f.ratio.dbP90)})`,
  ].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { pairs: { type: 'string', default: '200' } }, strict: true })
  const pairs = Number(values.pairs)
  if (!Number.isInteger(pairs) || pairs < 10) {
    process.stderr.write('bench reset-timing: --pairs must be a whole number of at least 10\n')
    process.exit(2)
  }
  runResetTimingBench(pairs).then(
    (figures) => {
      process.stdout.write(formatResetTiming(figures) + '\n')
      process.exit(0)
    },
    (err: unknown) => {
      process.stderr.write(`bench reset-timing: ${(err as Error).stack ?? String(err)}\n`)
      process.exit(1)
    },
  )
}
