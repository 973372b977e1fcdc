// The request wrapper every function uses: request id, security and CORS headers, method
// dispatch (405 + Allow), the request context, Server-Timing, one log line per request, the
// audit write after the answer, and every throw sent to the one error writer in problem.ts.
// Handlers hold no try/catch and write no error response.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { waitUntil } from '@vercel/functions'
import { writeAudit } from '../audit.js'
import { runRequest, type RequestContext } from '../context.js'
import { describeError, log } from '../log.js'
import { methodNotAllowed, toProblem, writeProblem } from '../problem.js'
import type { Method, RouteSpec } from '../routes.js'
import { applyCors, clientIp, SECURITY_HEADERS, timeHeaders } from './headers.js'

export type Request = IncomingMessage & { query?: Record<string, string | string[] | undefined> }
export type Response = ServerResponse
export type Handler = (req: Request, res: Response) => Promise<void> | void

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

interface RouteOptions {
  /** Replaces the default Content-Security-Policy (the docs page needs scripts). */
  csp?: string
}

/**
 * Wraps a route's handlers, one per method its description (lib/routes.ts) names, into one
 * Vercel function; the description also names the route in the log line.
 */
export function route<R extends RouteSpec>(spec: R, handlers: { [M in keyof R['methods']]: Handler }, options: RouteOptions = {}) {
  const byMethod = handlers as Partial<Record<Method, Handler>>
  const methods = Object.keys(byMethod) as Method[]
  // The log names the route as Vercel's files do: /api/users/[username].
  const name = spec.path.replace(/\{(\w+)\}/g, '[$1]')
  if (methods.includes('GET')) methods.push('HEAD' as Method)
  const allow = [...methods, 'OPTIONS'].join(', ')

  return async function handler(req: Request, res: Response): Promise<void> {
    const t0 = performance.now()
    const header = req.headers['x-request-id']
    const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID()
    const ctx: RequestContext = {
      requestId,
      ip: clientIp(req),
      userAgent: String(req.headers['user-agent'] ?? '').slice(0, 200),
      route: name,
      events: [],
      fields: {},
      db: { ms: 0, roundTrips: 0 },
    }
    timeHeaders(res, ctx.db)
    res.setHeader('x-request-id', requestId)
    for (const [k, val] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, val)
    if (options.csp) res.setHeader('Content-Security-Policy', options.csp)

    const result = runRequest(ctx, async () => {
      applyCors(req, res, [...methods, 'OPTIONS'])
      const method = (req.method ?? 'GET').toUpperCase()
      if (method === 'OPTIONS') {
        res.statusCode = 204
        res.setHeader('Allow', allow)
        res.end()
        return
      }
      const fn = byMethod[method as Method] ?? (method === 'HEAD' ? byMethod.GET : undefined)
      if (!fn) throw methodNotAllowed(method, allow)
      await fn(req, res)
    })
    res.on('finish', () => logRequest(req, res, ctx, t0))
    try {
      await result
    } catch (err) {
      const problem = toProblem(err)
      if (problem.status >= 500) log('error', 'request.error', { request_id: requestId, ...describeError(problem.cause ?? err) })
      writeProblem(res, problem)
    }
    // The audit write happens after the answer (kept alive on Vercel by waitUntil), off the
    // request's path: a login stays at three round trips.
    if (ctx.events.length > 0) waitUntil(writeAudit(ctx))
  }
}

function logRequest(req: Request, res: Response, ctx: RequestContext, t0: number) {
  const metrics = ctx.db
  const status = res.statusCode
  const event = ctx.events.map((e) => e.event).join(',') || 'request'
  log(status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info', event, {
    request_id: ctx.requestId,
    method: req.method,
    route: ctx.route,
    status,
    duration_ms: Math.round((performance.now() - t0) * 100) / 100,
    db_ms: Math.round(metrics.ms * 100) / 100,
    db_round_trips: metrics.roundTrips,
    user_id: ctx.userId,
    ip: ctx.ip,
    ...ctx.fields,
  })
}
