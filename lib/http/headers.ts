// The headers every answer carries: security headers, CORS for the configured origins, the
// client's address as Vercel forwards it, and Server-Timing written as the headers go out.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { getConfig } from '../config.js'
import type { DbMetrics } from '../context.js'

/** The client address: Vercel (and the local runner) put the real one first in x-forwarded-for. */
export function clientIp(req: IncomingMessage): string {
  const forwarded = req.headers['x-forwarded-for']
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim()
  return first || req.socket?.remoteAddress || 'unknown'
}

export const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
}

export function applyCors(req: IncomingMessage, res: ServerResponse, methods: string[]): boolean {
  const origin = req.headers.origin
  let allowed: string[] = []
  try {
    allowed = getConfig().corsOrigins
  } catch {
    // A broken configuration allows no origin; the handler reports the error itself.
  }
  if (!origin || !(allowed.includes(origin) || allowed.includes('*'))) return false
  res.setHeader('Access-Control-Allow-Origin', allowed.includes('*') ? '*' : origin)
  res.setHeader('Vary', 'Origin')
  res.setHeader('Access-Control-Expose-Headers', 'Location, Retry-After, WWW-Authenticate, x-request-id, Server-Timing')
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', methods.join(', '))
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, x-request-id')
    res.setHeader('Access-Control-Max-Age', '600')
  }
  return true
}

/**
 * Writes Server-Timing from `metrics` at the last moment the headers can change: Node sends them
 * through writeHead (called by end(), write() and flushHeaders() when the handler did not), so
 * every answer carries the count as it stands then: JSON, problem, page or file, synchronous
 * handler or not. A query after that moment shows in the log line only.
 */
export function timeHeaders(res: ServerResponse, metrics: DbMetrics): void {
  const writeHead = res.writeHead
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (!this.headersSent) {
      const trips = `${metrics.roundTrips} round ${metrics.roundTrips === 1 ? 'trip' : 'trips'}`
      this.setHeader('Server-Timing', `db;dur=${metrics.ms.toFixed(2)};desc="${trips}"`)
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args)
  } as ServerResponse['writeHead']
}
