// Errors as RFC 9457 problem details. The one place that turns anything thrown into an HTTP
// answer: what the client sees (type, title, detail, errors, OAuth `error`) is kept apart
// from what only the log sees (`cause`). Driver messages and stacks never reach a client.
import type { ServerResponse } from 'node:http'
import { ConfigError } from './config.js'

/** Stable problem `type` URIs: one home for each, clients may switch on them. */
export const PROBLEM = {
  badRequest: 'urn:problem:bad-request',
  validation: 'urn:problem:validation',
  unauthorized: 'urn:problem:unauthorized',
  invalidGrant: 'urn:problem:invalid-grant',
  unsupportedGrantType: 'urn:problem:unsupported-grant-type',
  forbidden: 'urn:problem:forbidden',
  notFound: 'urn:problem:not-found',
  methodNotAllowed: 'urn:problem:method-not-allowed',
  conflict: 'urn:problem:conflict',
  lastAdmin: 'urn:problem:last-admin',
  tooLarge: 'urn:problem:payload-too-large',
  unsupportedMediaType: 'urn:problem:unsupported-media-type',
  tooManyRequests: 'urn:problem:too-many-requests',
  notImplemented: 'urn:problem:not-implemented',
  emailNotVerified: 'urn:problem:email-not-verified',
  mfaRequired: 'urn:problem:mfa-required',
  unavailable: 'urn:problem:service-unavailable',
  internal: 'urn:problem:internal',
} as const

/** OAuth 2.0 error codes (RFC 6749 5.2, RFC 6750 3.1). */
export const OAUTH = {
  invalidRequest: 'invalid_request',
  invalidGrant: 'invalid_grant',
  unsupportedGrantType: 'unsupported_grant_type',
  invalidToken: 'invalid_token',
  insufficientScope: 'insufficient_scope',
  // An extension code of this service: a correct password on an account whose email is not yet
  // verified, while REQUIRE_VERIFIED_EMAIL=true.
  emailNotVerified: 'email_not_verified',
  /** Auth0's code for a password grant that needs a second factor; also for an aal1 caller where aal2 is required. */
  mfaRequired: 'mfa_required',
} as const

export interface FieldError {
  path: string
  message: string
}

export interface ProblemInit {
  type?: string
  /** Always given: the OpenAPI document promises clients a `detail` on every problem. */
  detail: string
  errors?: FieldError[]
  /** OAuth error code, serialized as `error`. */
  oauthError?: string
  headers?: Record<string, string>
  /** RFC 9457 3.2 extension members, serialized beside the standard ones (e.g. `mfa_token`). */
  extensions?: Record<string, unknown>
  /** For the log only; never serialized. */
  cause?: unknown
}

export class Problem extends Error {
  override name = 'Problem'
  readonly status: number
  readonly title: string
  readonly type: string
  readonly detail: string
  readonly errors?: FieldError[]
  readonly oauthError?: string
  readonly headers: Record<string, string>
  readonly extensions?: Record<string, unknown>
  override readonly cause?: unknown

  constructor(status: number, title: string, init: ProblemInit) {
    super(title)
    this.status = status
    this.title = title
    this.type = init.type ?? PROBLEM.badRequest
    this.detail = init.detail
    this.errors = init.errors
    this.oauthError = init.oauthError
    this.headers = init.headers ?? {}
    this.extensions = init.extensions
    this.cause = init.cause
  }

  toJSON(): Record<string, unknown> {
    return {
      ...this.extensions,
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(this.oauthError !== undefined && { error: this.oauthError }),
      ...(this.errors !== undefined && { errors: this.errors }),
    }
  }
}

// Constructors for the answers the service gives again and again.
export const badRequest = (detail: string, errors?: FieldError[], oauthError?: string) =>
  new Problem(400, 'Bad request', { type: errors ? PROBLEM.validation : PROBLEM.badRequest, detail, errors, oauthError })

export const unauthorized = (detail = 'Authentication is required', tokenError = true) =>
  new Problem(401, 'Unauthorized', {
    type: PROBLEM.unauthorized,
    detail,
    // RFC 6750 3.1: no error code when the request carried no token at all.
    headers: { 'WWW-Authenticate': tokenError ? 'Bearer error="invalid_token"' : 'Bearer' },
    oauthError: tokenError ? OAUTH.invalidToken : undefined,
  })

export const forbidden = (detail = 'You are not allowed to do this') =>
  new Problem(403, 'Forbidden', { type: PROBLEM.forbidden, detail })

export const notFound = (detail = 'No such resource') => new Problem(404, 'Not found', { type: PROBLEM.notFound, detail })

export const methodNotAllowed = (method: string, allow: string) =>
  new Problem(405, 'Method not allowed', { type: PROBLEM.methodNotAllowed, detail: `${method} is not served here; use ${allow}`, headers: { Allow: allow } })

// The token routes (RFC 6749 5.2): a refused grant is 400 `invalid_grant`; bad credentials at
// login are 401 with the same code and `WWW-Authenticate: Bearer`, one body whatever was wrong.
export const invalidGrant = (detail: string) =>
  new Problem(400, 'Bad request', { type: PROBLEM.invalidGrant, detail, oauthError: OAUTH.invalidGrant })

export const badCredentials = () =>
  new Problem(401, 'Unauthorized', {
    type: PROBLEM.invalidGrant,
    detail: 'Incorrect username or password',
    oauthError: OAUTH.invalidGrant,
    headers: { 'WWW-Authenticate': 'Bearer' },
  })

export const unsupportedGrantType = (served: string) =>
  new Problem(400, 'Bad request', {
    type: PROBLEM.unsupportedGrantType,
    detail: `grant_type must be ${served} here`,
    oauthError: OAUTH.unsupportedGrantType,
    errors: [{ path: 'grant_type', message: `must be ${served}` }],
  })

/** 429 with Retry-After (RFC 6585 4); `invalid_request` for the token routes' clients. */
export const tooManyRequests = (detail: string, retryAfterSeconds: number) =>
  new Problem(429, 'Too many requests', {
    type: PROBLEM.tooManyRequests,
    detail,
    headers: { 'Retry-After': String(retryAfterSeconds) },
    oauthError: OAUTH.invalidRequest,
  })

/**
 * 403 `mfa_required` (Auth0's code): a login that needs a second factor, with the `mfa_token` and
 * methods as extension members; or a caller whose role needs one (MFA_REQUIRED_ROLES).
 */
export const mfaRequired = (detail: string, extensions?: Record<string, unknown>) =>
  new Problem(403, 'Forbidden', { type: PROBLEM.mfaRequired, detail, oauthError: OAUTH.mfaRequired, extensions })

/** 400 `invalid_grant` naming the field that was refused (a second-factor code on the token route). */
export const invalidGrantField = (path: string, message: string) =>
  new Problem(400, 'Bad request', { type: PROBLEM.invalidGrant, detail: `${path}: ${message}`, errors: [{ path, message }], oauthError: OAUTH.invalidGrant })

/** 501: the deployment is not configured for this. */
export const notImplemented = (detail: string) => new Problem(501, 'Not implemented', { type: PROBLEM.notImplemented, detail })

// REQUIRE_VERIFIED_EMAIL: a correct password on an account whose email is not verified yet.
export const emailNotVerified = () =>
  new Problem(403, 'Forbidden', {
    type: PROBLEM.emailNotVerified,
    detail: 'Confirm your email address first: open the link mailed to it (a completed password reset confirms it too)',
    oauthError: OAUTH.emailNotVerified,
  })

export const tooLarge = (limitBytes: number) =>
  new Problem(413, 'Payload too large', { type: PROBLEM.tooLarge, detail: `The body must be at most ${limitBytes} bytes` })

export const unsupportedMediaType = (detail: string, headers?: Record<string, string>) =>
  new Problem(415, 'Unsupported media type', { type: PROBLEM.unsupportedMediaType, detail, headers })

export const conflict = (detail: string, type: string = PROBLEM.conflict) => new Problem(409, 'Conflict', { type, detail })

export const unavailable = (cause?: unknown) =>
  new Problem(503, 'Service unavailable', {
    type: PROBLEM.unavailable,
    detail: 'The database cannot be reached; try again shortly',
    headers: { 'Retry-After': '5' },
    cause,
  })

// Driver errors that mean "the database is not there right now" (answered 503 + Retry-After).
// Matched by class name along the prototype chain, not instanceof: the local runner may load
// more than one copy of the driver, and subclasses (MongoPoolClearedError, ...) count too.
const UNAVAILABLE_CLASSES = new Set([
  'MongoNetworkError',
  'MongoSystemError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoServerClosedError',
  'MongoOperationTimeoutError',
  'MongoStalePrimaryError',
  'MongoUnexpectedServerResponseError',
  'DbTimeoutError',
])
// Server codes for shutdowns, elections and network trouble between servers.
const UNAVAILABLE_CODES = new Set([6, 7, 50, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436])
const UNAVAILABLE_LABELS = ['ResetPool', 'RetryableWriteError', 'SystemOverloadedError', 'NoWritesPerformed']

function classNames(err: object): string[] {
  const names: string[] = []
  for (let p: object | null = err; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const name = (p as { constructor?: { name?: string } }).constructor?.name
    if (name) names.push(name)
  }
  return names
}

/** Whether an error means the database could not be reached (503), not that it refused. */
export function isUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false
  const names = classNames(err)
  if (names.some((name) => UNAVAILABLE_CLASSES.has(name))) return true
  const e = err as { name?: string; code?: unknown; errorLabels?: unknown; writeErrors?: unknown[]; err?: unknown }
  // bulkWrite wraps a driver failure of the whole batch (a closed connection, no server) in a
  // MongoBulkWriteError that keeps the message and the error's own fields but not its class
  // (driver bulk/common.ts). No write error, no write-concern error and no server code: nothing
  // was refused, the database was away.
  if (names.includes('MongoBulkWriteError') && !e.writeErrors?.length && !e.err && e.code === undefined) return true
  if (e.name && UNAVAILABLE_CLASSES.has(e.name)) return true
  if (typeof e.code === 'number' && UNAVAILABLE_CODES.has(e.code)) return true
  return Array.isArray(e.errorLabels) && e.errorLabels.some((l) => UNAVAILABLE_LABELS.includes(String(l)))
}

/** Any thrown value as a Problem; unknown errors become a plain 500 (the cause goes to the log). */
export function toProblem(err: unknown): Problem {
  if (err instanceof Problem) return err
  const e = err as { name?: string; code?: unknown; keyPattern?: Record<string, unknown> } | undefined
  if (e?.code === 11000) {
    // Duplicate key from a unique index: the race was settled by the database.
    const field = Object.keys(e.keyPattern ?? {})[0] ?? 'value'
    return conflict(`That ${field} is already taken`)
  }
  if (isUnavailable(err)) return unavailable(err)
  if (err instanceof ConfigError) {
    return new Problem(500, 'Service misconfigured', {
      type: PROBLEM.internal,
      detail: 'The service is not configured correctly; its operator can read why in the logs',
      cause: err,
    })
  }
  return new Problem(500, 'Internal server error', { type: PROBLEM.internal, detail: 'Something went wrong on our side', cause: err })
}

/** The only writer of error responses. */
export function writeProblem(res: ServerResponse, problem: Problem): void {
  if (res.headersSent) {
    res.end()
    return
  }
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value)
  res.statusCode = problem.status
  res.setHeader('Content-Type', 'application/problem+json')
  res.setHeader('Cache-Control', 'no-store')
  res.end(JSON.stringify(problem))
}
