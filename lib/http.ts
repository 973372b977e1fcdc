// The request wrapper every function uses: request id, security and CORS headers, method
// dispatch (405 + Allow), body reading with a size limit and content types (413/415), input
// validation (400 + errors[]), Server-Timing, one log line per request, and every throw sent to
// the one error writer in problem.ts. Handlers hold no try/catch and write no error response.
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import * as v from 'valibot'
import { getConfig } from './config.js'
import { waitUntil } from '@vercel/functions'
import { withDbMetrics, type DbMetrics } from './db.js'
import { writeAudit, type AuditEvent, type EventName } from './audit.js'
import { describeError, log } from './log.js'
import { Problem, badRequest, toProblem, writeProblem, PROBLEM, type FieldError } from './problem.js'
import { BODY_LIMIT_BYTES, type BodySpec, type Method, type OperationSpec, type RouteSpec } from './routes.js'

export type Request = IncomingMessage & { query?: Record<string, string | string[] | undefined> }
export type Response = ServerResponse
export type Handler = (req: Request, res: Response) => Promise<void> | void

/** What the log line and the audit trail know of the request in flight. */
export interface RequestContext {
  requestId: string
  ip: string
  userAgent: string
  route: string
  userId?: string
  username?: string
  /** What happened, in order: named in the log line and written to the audit trail. */
  events: AuditEvent[]
  fields: Record<string, unknown>
  /** The request's database time and round trips, for Server-Timing and the log line. */
  db: DbMetrics
}

const context = new AsyncLocalStorage<RequestContext>()

export function currentRequest(): RequestContext | undefined {
  return context.getStore()
}

/** Records what happened (`login.success`, `token.reuse`, ...) for the log line and the audit trail. */
export function recordEvent(event: EventName, extra: Omit<AuditEvent, 'event'> = {}): void {
  const ctx = context.getStore()
  if (!ctx) return
  ctx.events.push({ event, ...extra })
}

/** Records the events a domain module returned, in its order. */
export function recordEvents(events: readonly AuditEvent[]): void {
  for (const { event, ...extra } of events) recordEvent(event, extra)
}

export function setCaller(userId: string, username: string): void {
  const ctx = context.getStore()
  if (ctx) {
    ctx.userId = userId
    ctx.username = username
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The client address: Vercel (and the local runner) put the real one first in x-forwarded-for. */
export function clientIp(req: IncomingMessage): string {
  const forwarded = req.headers['x-forwarded-for']
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim()
  return first || req.socket?.remoteAddress || 'unknown'
}

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
}

function applyCors(req: IncomingMessage, res: ServerResponse, methods: string[]): boolean {
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

interface RouteOptions {
  /** Replaces the default Content-Security-Policy (the docs page needs scripts). */
  csp?: string
}

/**
 * Wraps a route's handlers, one per method its description (lib/routes.ts) names, into one
 * Vercel function. The function carries the description (`.spec`) for the OpenAPI document.
 */
export function route<R extends RouteSpec>(spec: R, handlers: { [M in keyof R['methods']]: Handler }, options: RouteOptions = {}) {
  const byMethod = handlers as Partial<Record<Method, Handler>>
  const methods = Object.keys(byMethod) as Method[]
  // The log names the route as Vercel's files do: /api/users/[username].
  const name = spec.path.replace(/\{(\w+)\}/g, '[$1]')
  if (methods.includes('GET')) methods.push('HEAD' as Method)
  const allow = [...methods, 'OPTIONS'].join(', ')

  return Object.assign(async function handler(req: Request, res: Response): Promise<void> {
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

    const result = withDbMetrics(ctx.db, () =>
      context.run(ctx, async () => {
        applyCors(req, res, [...methods, 'OPTIONS'])
        const method = (req.method ?? 'GET').toUpperCase()
        if (method === 'OPTIONS') {
          res.statusCode = 204
          res.setHeader('Allow', allow)
          res.end()
          return
        }
        const fn = byMethod[method as Method] ?? (method === 'HEAD' ? byMethod.GET : undefined)
        if (!fn) {
          throw new Problem(405, 'Method not allowed', {
            type: PROBLEM.methodNotAllowed,
            detail: `${method} is not served here; use ${allow}`,
            headers: { Allow: allow },
          })
        }
        await fn(req, res)
      }),
    )
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
  }, { spec })
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

/**
 * Writes Server-Timing from `metrics` at the last moment the headers can change: Node sends them
 * through writeHead (called by end(), write() and flushHeaders() when the handler did not), so
 * every answer carries the count as it stands then: JSON, problem, page or file, synchronous
 * handler or not. A query after that moment shows in the log line only.
 */
function timeHeaders(res: Response, metrics: DbMetrics): void {
  const writeHead = res.writeHead
  res.writeHead = function (this: Response, ...args: unknown[]) {
    if (!this.headersSent) {
      const trips = `${metrics.roundTrips} round ${metrics.roundTrips === 1 ? 'trip' : 'trips'}`
      this.setHeader('Server-Timing', `db;dur=${metrics.ms.toFixed(2)};desc="${trips}"`)
    }
    return (writeHead as (...a: unknown[]) => Response).apply(this, args)
  } as Response['writeHead']
}

/** Writes a JSON answer (or an empty one for 204). */
export function send(res: Response, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  for (const [k, val] of Object.entries(headers)) res.setHeader(k, val)
  if (!res.hasHeader('Cache-Control')) res.setHeader('Cache-Control', 'no-store')
  res.statusCode = status
  if (status === 204 || body === undefined) {
    res.end()
    return
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.end(JSON.stringify(body))
}

export type Body = { kind: 'json'; value: unknown } | { kind: 'form'; value: Record<string, string> } | { kind: 'empty'; value: undefined }

function readRaw(req: Request): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const tooLarge = () =>
      new Problem(413, 'Payload too large', { type: PROBLEM.tooLarge, detail: `The body must be at most ${BODY_LIMIT_BYTES} bytes` })
    // Event listeners rather than async iteration: Vercel's helpers replay a buffered body
    // through 'data'/'end' listeners.
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > BODY_LIMIT_BYTES) {
        done = true
        reject(tooLarge())
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks))
      done = true
    })
    req.on('error', (err) => {
      if (!done) reject(err)
      done = true
    })
  })
}

/** Reads a JSON or form body (413 beyond the limit, 415 for other types, 400 for broken JSON). */
export async function readBody(req: Request): Promise<Body> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > BODY_LIMIT_BYTES) {
    throw new Problem(413, 'Payload too large', { type: PROBLEM.tooLarge, detail: `The body must be at most ${BODY_LIMIT_BYTES} bytes` })
  }
  const raw = await readRaw(req)
  if (raw.length === 0) return { kind: 'empty', value: undefined }
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/json' || /^application\/[a-z.+-]+\+json$/.test(type)) {
    try {
      return { kind: 'json', value: JSON.parse(raw.toString('utf8')) }
    } catch {
      throw badRequest('The body is not valid JSON', undefined, 'invalid_request')
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const params = new URLSearchParams(raw.toString('utf8'))
    const value: Record<string, string> = Object.create(null)
    for (const [k, val] of params) {
      if (k in value) throw badRequest(`The field ${k} is given more than once`, [{ path: k, message: 'given more than once' }], 'invalid_request')
      value[k] = val
    }
    return { kind: 'form', value: { ...value } }
  }
  throw new Problem(415, 'Unsupported media type', {
    type: PROBLEM.unsupportedMediaType,
    detail: 'Send application/json or application/x-www-form-urlencoded',
    headers: { 'Accept-Post': 'application/json, application/x-www-form-urlencoded' },
  })
}

type Output<S> = S extends v.GenericSchema ? v.InferOutput<S> : never
/** What a body of this description parses to: the JSON schema's output, or the form schema's. */
export type InputOf<B extends BodySpec> = Output<B['json']> | Output<B['form']>

/**
 * Validates a body read by readBody against the operation's description: a form body with its
 * form schema (415 where the route takes none), anything else with its JSON schema, an empty
 * body as `{}`. A refusal carries the OAuth error the description names.
 */
export function parseBody<O extends { body: BodySpec }>(op: O, body: Body): InputOf<O['body']> {
  const { json, form, oauthError } = op.body
  if (body.kind === 'form') {
    if (!form) throw new Problem(415, 'Unsupported media type', { type: PROBLEM.unsupportedMediaType, detail: 'Send application/json' })
    return parse(form, body.value, oauthError) as InputOf<O['body']>
  }
  return parse(json ?? v.strictObject({}), body.value ?? {}, oauthError) as InputOf<O['body']>
}

/** Reads and validates the body the operation describes (400, 413, 415). */
export async function readInput<O extends { body: BodySpec }>(req: Request, op: O): Promise<InputOf<O['body']>> {
  return parseBody(op, await readBody(req))
}

/** Validates the query string against the operation's query schema (400 + errors[]). */
export function readQuery<Q extends NonNullable<OperationSpec['query']>>(req: Request, op: { query: Q }): v.InferOutput<Q> {
  return parse(op.query, queryOf(req))
}

/** Validates input against a schema; 400 with one entry in errors[] per problem. */
export function parse<S extends v.GenericSchema>(schema: S, input: unknown, oauthError?: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input, { abortPipeEarly: true })
  if (result.success) return result.output
  const errors: FieldError[] = result.issues.map((issue) => ({
    path: v.getDotPath(issue) ?? '',
    message: issue.message,
  }))
  throw badRequest(
    errors.length === 1 ? `${errors[0]!.path || 'body'}: ${errors[0]!.message}` : 'The request has invalid fields',
    errors,
    oauthError,
  )
}

/** A single query or path parameter as a string (arrays and absence give undefined). */
export function param(req: Request, name: string): string | undefined {
  const value = req.query?.[name] ?? new URL(req.url ?? '/', 'http://x').searchParams.get(name) ?? undefined
  return typeof value === 'string' ? value : undefined
}

/** The query string as a plain object (repeated keys refused by the schema as arrays). */
export function queryOf(req: Request, exclude: string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const params = new URL(req.url ?? '/', 'http://x').searchParams
  for (const key of new Set(params.keys())) {
    if (exclude.includes(key)) continue
    const all = params.getAll(key)
    out[key] = all.length === 1 ? all[0]! : all
  }
  return out
}
