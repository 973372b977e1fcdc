// The shared pieces of the OpenAPI document: the named schemas (components.schemas, converted
// from lib/schemas.ts), the problem body, the error responses and headers every route shares,
// and the security schemes. document.ts assembles them with the routes' descriptions.
import { toJsonSchema, toJsonSchemaDefs, type ConversionConfig } from '@valibot/to-json-schema'
import * as v from 'valibot'
import { OAUTH, PROBLEM } from '../problem.js'
import { BODY_LIMIT_BYTES, type Auth, type ErrorStatus, type HeaderName } from '../routes.js'
import * as S from '../schemas.js'

export type Json = Record<string, unknown>

// The body lib/problem.ts writes for every error: only the document needs it as a schema.
const ProblemSchema = v.object({
  type: v.pipe(v.picklist(Object.values(PROBLEM)), v.description('Stable URI naming the kind of problem; clients may switch on it')),
  title: v.string(),
  status: v.pipe(v.number(), v.integer()),
  // Every problem the service writes has one (lib/problem.ts), so clients may rely on it.
  detail: v.string(),
  error: v.optional(v.pipe(v.picklist(Object.values(OAUTH)), v.description('OAuth 2.0 error code (RFC 6749 5.2, RFC 6750 3.1)'))),
  errors: v.optional(
    v.pipe(
      v.array(v.object({ path: v.pipe(v.string(), v.description('Dot path of the field; empty for the body')), message: v.string() })),
      v.description('One entry per invalid field'),
    ),
  ),
  // RFC 9457 3.2 extension members of the login's 403 `mfa_required` (lib/mfa/verify.ts).
  mfa_token: v.optional(v.pipe(v.string(), v.description('With `error: mfa_required` on login: send it with a code to POST /api/auth/mfa/verify (5 minutes)'))),
  mfa_token_expires_in: v.optional(v.pipe(v.number(), v.integer(), v.description('Seconds the mfa_token stays valid'))),
  mfa_methods: v.optional(v.pipe(v.array(v.picklist(S.MFA_METHODS)), v.description('The second factors the account can answer with'))),
})

/** Every named schema in components.schemas, in the order a reader meets them. */
const SCHEMAS = {
  LoginJson: S.LoginJson,
  LoginForm: S.LoginForm,
  RefreshJson: S.RefreshJson,
  RefreshForm: S.RefreshForm,
  TokenResponse: S.TokenResponse,
  LogoutBody: S.LogoutBody,
  PublicUser: S.PublicUser,
  UserPage: S.UserPage,
  CreateUser: S.CreateUser,
  PutUser: S.PutUser,
  PatchUser: S.PatchUser,
  PatchMe: S.PatchMe,
  Session: S.Session,
  SessionList: S.SessionList,
  PasswordResetRequest: S.PasswordResetRequest,
  PasswordResetAccepted: S.PasswordResetAccepted,
  PasswordResetConfirm: S.PasswordResetConfirm,
  AdminPasswordReset: S.AdminPasswordReset,
  PasswordResetLink: S.PasswordResetLink,
  EmailVerifyRequest: S.EmailVerifyRequest,
  EmailVerifyAccepted: S.EmailVerifyAccepted,
  EmailVerify: S.EmailVerify,
  MfaEnrol: S.MfaEnrol,
  MfaEnrolment: S.MfaEnrolment,
  MfaActivate: S.MfaActivate,
  RecoveryCodes: S.RecoveryCodes,
  MfaRemove: S.MfaRemove,
  MfaRenewCodes: S.MfaRenewCodes,
  MfaVerify: S.MfaVerify,
  AuditEvent: S.AuditEntry,
  AuditPage: S.AuditPage,
  Health: S.Health,
  Jwks: S.Jwks,
  Problem: ProblemSchema,
} satisfies Record<string, v.GenericSchema>

const NAMES = new Map<unknown, string>(Object.entries(SCHEMAS).map(([name, schema]) => [schema, name]))

/** A $ref to the component of a schema a route names; a schema without a component is a bug. */
export function ref(schema: v.GenericSchema | 'Problem'): Json {
  const name = schema === 'Problem' ? schema : NAMES.get(schema)
  if (!name) throw new Error('a route names a schema that has no entry in lib/openapi/components.ts SCHEMAS')
  return { $ref: `#/components/schemas/${name}` }
}

// typeMode 'input' describes what a client may send (the conversion stops at a transform);
// errorMode 'ignore' drops what JSON Schema cannot say (v.check: the 72-byte rule, the reserved
// names), which descriptions cover.
const CONVERSION: ConversionConfig = {
  target: 'draft-2020-12',
  typeMode: 'input',
  errorMode: 'ignore',
  // `default` on an optional field makes generated clients (openapi-typescript) type it as always
  // present, and so required of whoever builds the request: the default is said in words instead.
  overrideSchema: ({ valibotSchema, jsonSchema }) => {
    if (valibotSchema.type !== 'optional' || !('default' in jsonSchema)) return undefined
    const { default: value, ...rest } = jsonSchema
    const note = `Default: \`${String(value)}\`.`
    return { ...rest, description: rest.description ? `${rest.description} ${note}` : note }
  },
}

/** components.schemas: every named schema, nested ones as $refs to their own entry. */
export function componentSchemas(): Record<string, Json> {
  const named = { Username: S.Username, Email: S.Email, NewPassword: S.NewPassword, ...SCHEMAS }
  const defs = toJsonSchemaDefs(named, { ...CONVERSION, overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}` }) as unknown as Record<string, Json>
  // The input type of Username ends at its normalizing transform; show the rules of the stored
  // form instead, and say that they apply after normalization.
  const rules = withoutDialect(toJsonSchema(S.Username, { ...CONVERSION, typeMode: 'ignore' }) as Json)
  defs.Username = {
    ...rules,
    description: 'Trimmed, NFKC-normalized and lower-cased before these rules apply; "me" and "index" (alone or with .ts, .tsx, .js, .mjs or .cjs) are reserved',
  }
  return defs
}

function withoutDialect(schema: Json): Json {
  const { $schema: _dialect, ...rest } = schema
  return rest
}

/** A schema inline (query parameters are listed one by one, not by reference). */
export const toSchema = (schema: v.GenericSchema): Json => withoutDialect(toJsonSchema(schema, CONVERSION) as Json)

// What the document says of itself: enough for a client to know it got an OpenAPI 3.1
// document, without restating the OpenAPI schema (published at spec.openapis.org).
export const OPENAPI_DOCUMENT: Json = {
  type: 'object',
  description: 'An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0)',
  required: ['openapi', 'info', 'paths'],
  properties: {
    openapi: { type: 'string', pattern: '^3\\.1\\.\\d+$' },
    info: { type: 'object', required: ['title', 'version'], properties: { title: { type: 'string' }, version: { type: 'string' } } },
    paths: { type: 'object' },
    components: { type: 'object' },
  },
}

// --- shared responses and headers -----------------------------------------------------------

export const HEADERS: Record<HeaderName, Json> = {
  Location: { description: 'Path of the created resource', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
  'WWW-Authenticate': { description: 'RFC 6750 3: `Bearer`, with `error="invalid_token"` when a token was presented', schema: { type: 'string' } },
  Allow: { description: 'The methods this route serves', schema: { type: 'string' } },
  'Cache-Control': { description: '`no-store` on token responses (RFC 6749 5.1); public keys and this document may be cached for a few minutes', schema: { type: 'string' } },
  Pragma: { schema: { type: 'string', const: 'no-cache' } },
  'x-request-id': { description: 'Echoes a well-formed x-request-id from the request, else a new UUID; also in the log line', schema: { type: 'string' } },
  'Server-Timing': { description: 'Database time and round trips of this request', schema: { type: 'string' } },
}
const headerRef = (name: HeaderName) => ({ $ref: `#/components/headers/${name}` })
// Contract (Errors): every response carries both, the documentation page and its files included
// (the request wrapper writes Server-Timing as the headers go out, whoever sends them).
const COMMON_HEADERS: HeaderName[] = ['x-request-id', 'Server-Timing']

export const ERRORS: Record<ErrorStatus, { name: string; description: string; headers?: HeaderName[] }> = {
  400: { name: 'BadRequest', description: 'Malformed JSON, failed validation (`errors[]` names each field) or unknown fields; `error` on the auth routes' },
  401: { name: 'Unauthorized', description: 'Missing, malformed, expired, forged or revoked token; on login, bad credentials (`invalid_grant`)', headers: ['WWW-Authenticate'] },
  403: {
    name: 'Forbidden',
    description:
      'Authenticated but not allowed; disabled account; `mfa_required`: on login, a second factor is needed (see `mfa_token`), elsewhere your role needs one (MFA_REQUIRED_ROLES)',
  },
  404: { name: 'NotFound', description: 'No such resource (only shown to callers allowed to see it)' },
  405: { name: 'MethodNotAllowed', description: 'Method not served by this route', headers: ['Allow'] },
  409: { name: 'Conflict', description: 'Username or email taken; the last-admin rule; a concurrent change' },
  413: { name: 'PayloadTooLarge', description: `Body over ${BODY_LIMIT_BYTES} bytes` },
  415: { name: 'UnsupportedMediaType', description: 'A content type the route does not take' },
  429: { name: 'TooManyRequests', description: 'Too many failed logins or wrong codes for that account or from that client, reset requests, or sign-ups from that client', headers: ['Retry-After'] },
  500: { name: 'InternalError', description: 'Something went wrong on our side (details only in the log)' },
  501: { name: 'NotImplemented', description: 'The deployment is not configured for this (no SMTP_URL or RESET_URL_BASE for password resets, no MFA_ENCRYPTION_KEY for MFA)' },
  503: { name: 'ServiceUnavailable', description: 'The database cannot be reached', headers: ['Retry-After'] },
}

export function responseHeaders(names: HeaderName[] = []): Json {
  return Object.fromEntries([...names, ...COMMON_HEADERS].map((n) => [n, headerRef(n)]))
}

export const SECURITY: Record<Auth, Json[] | undefined> = {
  none: [],
  bearer: [{ bearerAuth: [] }, { oauth2: [] }],
  // An empty requirement makes the token optional (OpenAPI 3.1 4.8.30).
  'bearer-or-anonymous': [{ bearerAuth: [] }, { oauth2: [] }, {}],
}

export const TOKEN_URL = '/api/auth/login'
export const REFRESH_URL = '/api/auth/refresh'

export const SECURITY_SCHEMES: Json = {
  bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /api/auth/login or /api/auth/refresh' },
  oauth2: {
    type: 'oauth2',
    description: 'Password grant (RFC 6749 4.3) against the login route; the refresh token rotates on each use',
    flows: { password: { tokenUrl: TOKEN_URL, refreshUrl: REFRESH_URL, scopes: {} } },
  },
}
