// Benchmark of the seed script's import rate against what bcrypt allows on this machine. The
// import is hash-bound by design, so the ceiling is one hash per core per hash time:
// target = cores / hash_time. The script runs as a user runs it (a child process) on a
// generated CSV, against an in-memory embedded database; a ratio of 0.8 or more says the
// worker pool keeps every core busy and batching hides the database round trips.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import bcrypt from 'bcryptjs'
import { startEmbeddedMongo } from '../scripts/embedded-mongo/index.js'

export interface SeedBenchResult {
  rowsPerSecond: number
  bcryptMsAtCost10: number
  cores: number
  target: number
  ratio: number
}

const COST = 10
const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Times of one bcryptjs hash at `cost` on the main thread, in ms. */
function hashTimes(cost: number, samples = 5): number[] {
  const times: number[] = []
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now()
    bcrypt.hashSync(`bench-password-${i}`, cost)
    times.push(performance.now() - t0)
  }
  return times
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length / 2
  return sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function csvOf(rows: number): string {
  const lines = ['username,email,password,role']
  for (let i = 0; i < rows; i++) {
    // Random passwords: nothing common, nothing containing the username.
    lines.push(`bench${i},bench${i}@example.com,Pw-${randomBytes(9).toString('base64url')},user`)
  }
  return lines.join('\n') + '\n'
}

interface SeedJson {
  created: number
  failed: number
  elapsed_ms: number
}

function runSeed(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/seed/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, DOTENV_CONFIG_QUIET: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

export async function runSeedBench(rows = Number(process.env.SEED_BENCH_ROWS ?? 10_000)): Promise<SeedBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'seed-bench-'))
  const db = await startEmbeddedMongo({ memory: true, port: 0 })
  try {
    const file = join(dir, 'users.csv')
    await writeFile(file, csvOf(rows))
    // The machine may be shared: hash time is sampled before and after the import and the
    // median of all samples taken, so the target reflects the conditions the import ran under.
    const before = hashTimes(COST)
    const t0 = performance.now()
    const result = await runSeed(['--file', file, '--cost', String(COST), '--json'], { MONGODB_URI: db.uri, MONGODB_DB: 'seed_bench' })
    const wallMs = performance.now() - t0
    const after = hashTimes(COST)
    if (result.code !== 0) throw new Error(`seed exited with ${result.code}:\n${result.stderr}\n${result.stdout}`)
    const summary = JSON.parse(result.stdout) as SeedJson
    if (summary.created !== rows) throw new Error(`expected ${rows} users created, got ${summary.created}`)

    const cores = availableParallelism() // the script's default pool size
    const bcryptMsAtCost10 = median([...before, ...after])
    const rowsPerSecond = rows / (summary.elapsed_ms / 1000)
    const target = cores / (bcryptMsAtCost10 / 1000)
    const ratio = rowsPerSecond / target

    const table = [
      ['rows', String(rows)],
      ['bcrypt cost', String(COST)],
      ['hash time, median (before / after import)', `${bcryptMsAtCost10.toFixed(1)} ms (${median(before).toFixed(1)} / ${median(after).toFixed(1)})`],
      ['cores used (hash workers)', String(cores)],
      ['target = cores / hash time', `${target.toFixed(1)} rows/s`],
      ['import rate (script timer)', `${rowsPerSecond.toFixed(1)} rows/s`],
      ['import rate (wall clock, incl. start-up)', `${(rows / (wallMs / 1000)).toFixed(1)} rows/s`],
      ['ratio (must be >= 0.8)', `${ratio.toFixed(2)} ${ratio >= 0.8 ? 'ok' : 'LOW'}`],
    ]
    const width = Math.max(...table.map(([k]) => k!.length))
    process.stdout.write(table.map(([k, val]) => `${k!.padEnd(width)}  ${val}`).join('\n') + '\n')
    return { rowsPerSecond, bcryptMsAtCost10, cores, target, ratio }
  } finally {
    await db.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runSeedBench().then(
    (r) => process.exit(r.ratio >= 0.8 ? 0 : 1),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
      process.exit(1)
    },
  )
}
