// What a route is, described once beside its handler (api/): method, summary, who may call it,
// its input schemas, its answer, its errors and the short paths vercel.json rewrites to it. The
// request wrapper (lib/http) validates with these descriptions and the OpenAPI document
// (lib/openapi) is built from them, so neither restates a route. Types and plain data only.
import type * as v from 'valibot'

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
export const METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']

// JSON bodies are small in this API; the contract caps them at 16 KiB.
export const BODY_LIMIT_BYTES = 16 * 1024

/** Who may call: nobody needs a token, a bearer token is required, or it is optional (sign-up). */
export type Auth = 'none' | 'bearer' | 'bearer-or-anonymous'

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 501 | 503
export type HeaderName = 'Location' | 'Retry-After' | 'WWW-Authenticate' | 'Allow' | 'Cache-Control' | 'Pragma' | 'x-request-id' | 'Server-Timing'

type Json = Record<string, unknown>
type QuerySchema =
  | v.ObjectSchema<v.ObjectEntries, v.ErrorMessage<v.ObjectIssue> | undefined>
  | v.StrictObjectSchema<v.ObjectEntries, v.ErrorMessage<v.StrictObjectIssue> | undefined>

export interface Success {
  status: number
  description: string
  /** A schema of lib/schemas.ts, or plain JSON Schema for what valibot does not describe. */
  schema?: v.GenericSchema | Json
  /** defaults to application/json when a schema is given */
  contentType?: string
  headers?: HeaderName[]
}

export interface BodySpec {
  /** the schema of a JSON body */
  json?: v.GenericSchema
  /** the schema of a form body (application/x-www-form-urlencoded), where the route takes one */
  form?: v.GenericSchema
  /** an empty body is accepted (and read as `{}`) */
  optional?: boolean
  /** the OAuth `error` a refused body carries (RFC 6749 5.2), on the token routes */
  oauthError?: string
}

export interface OperationSpec {
  summary: string
  /** what a caller needs beyond the summary (linted: every operation has one) */
  description: string
  tag: string
  auth: Auth
  /** strict valibot object whose entries are the query parameters */
  query?: QuerySchema
  /** extra parameters (path parameters come from the path itself) */
  parameters?: Json[]
  body?: BodySpec
  ok: Success
  /** statuses beyond the automatic ones (401 with auth, 400/413/415 with a body, 500, 503 with the database) */
  errors?: ErrorStatus[]
  /** false for routes that never touch the database */
  db?: boolean
}

export interface RouteSpec {
  /** the function's path, `{name}` for a `[name]` segment */
  path: string
  /** vercel.json rewrites that reach it (`{name}` where the rewrite has `:name`) */
  shortPaths?: string[]
  methods: Partial<Record<Method, OperationSpec>>
}

/** An admin's list in cursor pages: a bearer token of an admin (403 otherwise), a query (400). */
export function adminPage<Q extends QuerySchema>(
  text: Pick<OperationSpec, 'tag' | 'summary' | 'description'>,
  query: Q,
  page: Omit<Success, 'status'>,
): OperationSpec & { query: Q } {
  return { ...text, auth: 'bearer', query, ok: { status: 200, ...page }, errors: [400, 403] }
}

/** An admin acting on the user the path names: a bearer token of an admin (403 otherwise), the user (404 otherwise). */
export function adminOnUser(text: Pick<OperationSpec, 'tag' | 'summary' | 'description'>, ok: Success): OperationSpec {
  return { ...text, auth: 'bearer', ok, errors: [403, 404] }
}

/** Declares a route's description, keeping the exact methods for the handlers' types. */
export const defineRoute = <const R extends RouteSpec>(spec: R): R => spec
