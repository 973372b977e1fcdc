// Load generation for the benchmarks: autocannon as a library against the local runner, with
// every answer's `Server-Timing` read back so each figure comes with the database round trips
// and database time the service itself reported. Also the small statistics the report needs.
import autocannon from 'autocannon'

export interface Figures {
  connections: number
  requests: number
  durationS: number
  rps: number
  p50Ms: number
  p99Ms: number
  meanMs: number
  /** Answers outside 2xx, and connection errors: a figure with either is suspect. */
  non2xx: number
  errors: number
  statuses: Record<string, number>
  /** From `Server-Timing: db;dur=X;desc="N round trip(s)"` of every answer. */
  roundTrips: { median: number; max: number; mean: number; histogram: Record<string, number> }
  dbMs: { median: number; p99: number }
}

export interface LoadOptions {
  url: string
  path: string
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  connections: number
  /** Seconds; ignored when `amount` is given. */
  durationS?: number
  /** Total requests, for finite pools of single-use credentials. */
  amount?: number
  /** Builds each request (a fresh token from a pool); called before every request. */
  next?: () => { headers?: Record<string, string>; body?: string }
  /** Sees every answer (a rotated refresh token back into the pool). */
  onAnswer?: (status: number, body: string) => void
}

const TIMING = /db;dur=([\d.]+);desc="(\d+) round trips?"/

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export const median = (values: number[]): number => percentile(values, 50)

function headerValue(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  if (!headers) return undefined
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return String(v)
  return undefined
}

export async function load(opts: LoadOptions): Promise<Figures> {
  const trips: number[] = []
  const dbMs: number[] = []
  const base = { method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, body: opts.body }
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.durationS ?? 5 }),
    // A bcrypt-bound login at cost 12 under load can take seconds; count it, do not time it out.
    timeout: 30,
    requests: [
      {
        ...base,
        ...(opts.next
          ? {
              setupRequest: (req: autocannon.Request) => {
                const extra = opts.next!()
                return { ...req, headers: { ...req.headers, ...extra.headers }, body: extra.body ?? req.body }
              },
            }
          : {}),
        onResponse: (status: number, body: string, _context: object, headers?: Record<string, unknown>) => {
          const m = TIMING.exec(headerValue(headers, 'server-timing') ?? '')
          if (m) {
            dbMs.push(Number(m[1]))
            trips.push(Number(m[2]))
          }
          opts.onAnswer?.(status, body)
        },
      },
    ],
  })
  const statuses: Record<string, number> = {}
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0
  const histogram: Record<string, number> = {}
  for (const t of trips) histogram[t] = (histogram[t] ?? 0) + 1
  const requests = result.requests.total
  return {
    connections: opts.connections,
    requests,
    durationS: result.duration,
    rps: requests / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    meanMs: result.latency.mean,
    non2xx: result.non2xx,
    errors: result.errors,
    statuses,
    roundTrips: {
      median: median(trips),
      max: trips.reduce((a, b) => Math.max(a, b), trips.length ? 0 : NaN),
      mean: trips.length ? trips.reduce((a, b) => a + b, 0) / trips.length : NaN,
      histogram,
    },
    dbMs: { median: median(dbMs), p99: percentile(dbMs, 99) },
  }
}
