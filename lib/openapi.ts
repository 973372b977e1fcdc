// The OpenAPI 3.1 document of the service, built from the same valibot schemas the routes
// validate with (schemas.ts) and from one route table, ROUTES, that test/docs checks against
// the files under api/. Built once per instance and cached; never reads the filesystem or the
// environment, so it describes every deployment the same way and costs nothing per request.
import { toJsonSchema, toJsonSchemaDefs, type ConversionConfig } from '@valibot/to-json-schema'
import * as v from 'valibot'
import { BODY_LIMIT_BYTES, type Method } from './http.js'
import { OAUTH, PROBLEM } from './problem.js'
import * as S from './schemas.js'

type Json = Record<string, unknown>

export const TOKEN_URL = '/api/auth/login'
export const REFRESH_URL = '/api/auth/refresh'

// --- response shapes ------------------------------------------------------------------------
// Only the document needs these: handlers build their answers in lib/ and never parse them.

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
})

const UserPage = v.object({
  items: v.array(S.PublicUser),
  next_cursor: v.pipe(v.nullable(v.string()), v.description('Pass as `cursor` for the next page; null on the last page')),
})

const Health = v.object({ status: v.literal('ok'), db: v.literal('ok') })

const Jwks = v.object({
  keys: v.pipe(v.array(v.looseObject({ kty: v.string(), kid: v.optional(v.string()), alg: v.optional(v.string()), use: v.optional(v.string()) })), v.description('Empty when tokens are signed with HS256')),
})

// Session and AuditEvent restate SessionView (sessions.ts) and AuditView (audit.ts), which are
// TypeScript types only; the live-response test in test/docs keeps them in step.
const Session = v.object({
  id: v.string(),
  created_at: v.pipe(v.string(), v.isoTimestamp()),
  last_used_at: v.pipe(v.string(), v.isoTimestamp()),
  expires_at: v.pipe(v.string(), v.isoTimestamp()),
  user_agent: v.string(),
  ip: v.pipe(v.string(), v.description('Truncated to its network (/24 or /48)')),
  current: v.pipe(v.boolean(), v.description('Whether this is the session of the presented token')),
})
const SessionList = v.object({ items: v.array(Session) })

const AuditEvent = v.object({
  id: v.string(),
  event: v.pipe(v.string(), v.description('e.g. login.success, token.reuse, password.changed')),
  at: v.pipe(v.string(), v.isoTimestamp()),
  actor: v.nullable(v.string()),
  user: v.nullable(v.string()),
  request_id: v.nullable(v.string()),
  ip: v.nullable(v.string()),
  detail: v.optional(v.record(v.string(), v.unknown())),
})
const AuditPage = v.object({ items: v.array(AuditEvent), next_cursor: v.nullable(v.string()) })

/** Every named schema in components.schemas, in the order a reader meets them. */
const SCHEMAS = {
  LoginJson: S.LoginJson,
  LoginForm: S.LoginForm,
  RefreshJson: S.RefreshJson,
  RefreshForm: S.RefreshForm,
  TokenResponse: S.TokenResponse,
  LogoutBody: S.LogoutBody,
  PublicUser: S.PublicUser,
  UserPage,
  CreateUser: S.CreateUser,
  PutUser: S.PutUser,
  PatchUser: S.PatchUser,
  PatchMe: S.PatchMe,
  Session,
  SessionList,
  PasswordResetRequest: S.PasswordResetRequest,
  PasswordResetAccepted: S.PasswordResetAccepted,
  PasswordResetConfirm: S.PasswordResetConfirm,
  AdminPasswordReset: S.AdminPasswordReset,
  PasswordResetLink: S.PasswordResetLink,
  EmailVerifyRequest: S.EmailVerifyRequest,
  EmailVerifyAccepted: S.EmailVerifyAccepted,
  EmailVerify: S.EmailVerify,
  AuditEvent,
  AuditPage,
  Health,
  Jwks,
  Problem: ProblemSchema,
} satisfies Record<string, v.GenericSchema>
type SchemaName = keyof typeof SCHEMAS

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
function componentSchemas(): Record<string, Json> {
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

const toSchema = (schema: v.GenericSchema): Json => withoutDialect(toJsonSchema(schema, CONVERSION) as Json)
const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` })

// --- the route table ----------------------------------------------------------------------

type Auth = 'none' | 'bearer' | 'bearer-or-anonymous'

interface Success {
  status: number
  description: string
  schema?: SchemaName | Json
  /** defaults to application/json when a schema is given */
  contentType?: string
  headers?: HeaderName[]
}

export interface OperationSpec {
  summary: string
  /** what a caller needs beyond the summary (linted: every operation has one) */
  description: string
  tag: string
  auth: Auth
  /** strict valibot object whose entries are the query parameters */
  query?: v.ObjectSchema<v.ObjectEntries, v.ErrorMessage<v.ObjectIssue> | undefined> | v.StrictObjectSchema<v.ObjectEntries, v.ErrorMessage<v.StrictObjectIssue> | undefined>
  /** extra parameters (path parameters come from the path itself) */
  parameters?: Json[]
  body?: { json?: SchemaName; form?: SchemaName; optional?: boolean }
  ok: Success
  /** statuses beyond the automatic ones (401 with auth, 400/413/415 with a body, 500, 503 with the database) */
  errors?: ErrorStatus[]
  /** false for routes that never touch the database */
  db?: boolean
}

export interface RouteEntry {
  /** the function's path, `{name}` for a `[name]` segment */
  path: string
  /** vercel.json rewrites that reach it */
  shortPaths?: string[]
  /** in the contract but its file has not landed yet; the document says so */
  planned?: boolean
  methods: Partial<Record<Method, OperationSpec>>
}

// What the document says of itself: enough for a client to know it got an OpenAPI 3.1
// document, without restating the OpenAPI schema (published at spec.openapis.org).
const OPENAPI_DOCUMENT: Json = {
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

const usernameParam: Json = { name: 'username', in: 'path', required: true, schema: { $ref: '#/components/schemas/Username' } }
const sessionIdParam: Json = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'A session id from GET /api/auth/sessions' }
const user200: Success = { status: 200, description: 'The user', schema: 'PublicUser' }
const deleted204: Success = { status: 204, description: 'Deleted; every session of the user has ended' }
const selfRule =
  'Changing your own email or password needs `current_password` (ASVS 2.1.5); a wrong one is a 400 and counts as a failed login. ' +
  'A new email of your own is not set at once: it waits in `pending_email`, and `email` stays as it is, until the link mailed to the new address is confirmed ' +
  '(POST /api/auth/email/verify); the current address gets a notice. Sending your current email again withdraws a pending change. ' +
  '501 when the deployment has no SMTP_URL or VERIFY_URL_BASE and the change needs a link.'

export const ROUTES: RouteEntry[] = [
  {
    path: '/api/auth/login',
    shortPaths: ['/login'],
    methods: {
      POST: {
        tag: 'auth',
        summary: 'Log in (OAuth 2.0 password grant)',
        description:
          'RFC 6749 4.3. JSON or form body; `username` may be the account\'s email. Form logins accept and ignore `scope`, `client_id` and `client_secret`; ' +
          'a `grant_type` other than `password` gets 400 `unsupported_grant_type` (RFC 6749 5.2). ' +
          'Bad credentials get one answer whether or not the user exists; a disabled account is told so only after a correct password. ' +
          'With REQUIRE_VERIFIED_EMAIL=true, a correct password on an account whose email is not verified gets 403 with `error: "email_not_verified"` (a wrong one stays 401 and counts). ' +
          'Failed logins are limited per account, whatever the spelling (5 in 15 minutes; every spelling of the username, and the email, counts together), ' +
          'and per client address (50 in 15 minutes).',
        auth: 'none',
        body: { json: 'LoginJson', form: 'LoginForm' },
        ok: { status: 200, description: 'A new session\'s token pair', schema: 'TokenResponse', headers: ['Cache-Control', 'Pragma'] },
        errors: [401, 403, 429],
      },
    },
  },
  {
    path: '/api/auth/refresh',
    shortPaths: ['/refresh'],
    methods: {
      POST: {
        tag: 'auth',
        summary: 'Refresh (rotate) the token pair',
        description:
          'RFC 6749 6. The refresh token is single use: each call returns a new pair. Presenting an already-used one ends the whole session, ' +
          'except shortly after its rotation (REFRESH_REUSE_INTERVAL), when it gets a fresh pair. A refused token gets 400 `invalid_grant`, as does a ' +
          'session whose user\'s password, role or status changed since it started. A `grant_type` other than `refresh_token` gets 400 `unsupported_grant_type` (RFC 6749 5.2).',
        auth: 'none',
        body: { json: 'RefreshJson', form: 'RefreshForm' },
        ok: { status: 200, description: 'A new token pair', schema: 'TokenResponse', headers: ['Cache-Control', 'Pragma'] },
      },
    },
  },
  {
    path: '/api/auth/logout',
    shortPaths: ['/logout'],
    methods: {
      POST: {
        tag: 'auth',
        summary: 'Log out',
        description: 'Ends the session of the presented token (`local`), every other session (`others`) or all of them (`global`). The scope comes from the JSON body or the query.',
        auth: 'bearer',
        parameters: [
          {
            name: 'scope',
            in: 'query',
            required: false,
            description: 'Used when there is no body. Default: `local`.',
            schema: { type: 'string', enum: [...S.LOGOUT_SCOPES] },
          },
        ],
        body: { json: 'LogoutBody', optional: true },
        ok: { status: 204, description: 'Logged out' },
      },
    },
  },
  {
    path: '/api/auth/sessions',
    methods: {
      GET: {
        tag: 'sessions',
        summary: 'List your live sessions',
        description: 'Each login starts a session; refreshing keeps it. The session of the presented token is marked `current`. Addresses are truncated to their network.',
        auth: 'bearer',
        ok: { status: 200, description: 'Your sessions, newest first', schema: 'SessionList' },
      },
    },
  },
  {
    path: '/api/auth/sessions/{id}',
    methods: {
      DELETE: {
        tag: 'sessions',
        summary: 'End one of your sessions',
        description: 'Its refresh token stops working and its access tokens are refused from the next request on. Ending the current session is a logout. The id of another user\'s session is not found (404).',
        auth: 'bearer',
        ok: { status: 204, description: 'The session has ended' },
        errors: [404],
      },
    },
  },
  {
    path: '/api/auth/password-reset',
    methods: {
      POST: {
        tag: 'password reset',
        summary: 'Ask for a password reset link',
        description:
          'Give `email` or `username`. Always 202 with the same body, after the same work, whether or not the account exists; a single-use link (30 minutes) is mailed when it does. ' +
          'Limited per address and per account whatever the spelling (429). The link dies when the email or password changes. ' +
          '501 where the deployment sends no mail (no SMTP_URL) or has no RESET_URL_BASE (links never take their origin from the request): ' +
          'an admin can then make a link with POST /api/users/{username}/password-reset.',
        auth: 'none',
        body: { json: 'PasswordResetRequest' },
        ok: { status: 202, description: 'Accepted', schema: 'PasswordResetAccepted' },
        errors: [429, 501],
      },
    },
  },
  {
    path: '/api/auth/password-reset/confirm',
    methods: {
      POST: {
        tag: 'password reset',
        summary: 'Set a new password with a reset token',
        description: 'The token works once. An invalid, expired or used token is a 400 naming `token`; a new password the policy refuses keeps the token. Ends every session of the user.',
        auth: 'none',
        body: { json: 'PasswordResetConfirm' },
        ok: { status: 204, description: 'The password is changed' },
      },
    },
  },
  {
    path: '/api/auth/email/verify-request',
    methods: {
      POST: {
        tag: 'email verification',
        summary: 'Ask for a new email verification link',
        description:
          'Mails a single-use link (24 hours) to the address awaiting verification: the pending address if you asked to change yours, else your email if it is not verified. ' +
          '409 when nothing awaits verification (no mail is sent). 5 requests in 15 minutes per account (429). ' +
          'A new email change, or a password change, kills the links issued before it. 501 where the deployment has no SMTP_URL or VERIFY_URL_BASE.',
        auth: 'bearer',
        body: { json: 'EmailVerifyRequest', optional: true },
        ok: { status: 202, description: 'Accepted: a link is on its way', schema: 'EmailVerifyAccepted' },
        errors: [409, 429, 501],
      },
    },
  },
  {
    path: '/api/auth/email/verify',
    methods: {
      POST: {
        tag: 'email verification',
        summary: 'Confirm an email address with a verification token',
        description:
          'The token from the link (`VERIFY_URL_BASE?token=`); the page there must POST it: only a POST consumes a token, so mail scanners that open links change nothing. ' +
          'Marks the address verified, or makes a pending address the account\'s email. The token works once; an invalid, expired, used or superseded one is a 400 naming `token`. ' +
          '409 when the pending address was taken by another account meanwhile.',
        auth: 'none',
        body: { json: 'EmailVerify' },
        ok: { status: 204, description: 'The address is verified' },
        errors: [409],
      },
    },
  },
  {
    path: '/api/users',
    shortPaths: ['/users', '/users/'],
    methods: {
      POST: {
        tag: 'users',
        summary: 'Create a user',
        description:
          'Admins only; with ALLOW_SIGNUP=true anyone may create a user of role `user` without a token, 10 an hour per client address (then 429 with Retry-After), ' +
          'and a verification link is mailed to the new address at once (501 where the deployment has no SMTP_URL or VERIFY_URL_BASE). ' +
          'Only an admin may send `email_verified` (default false).',
        auth: 'bearer-or-anonymous',
        body: { json: 'CreateUser' },
        ok: { status: 201, description: 'Created', schema: 'PublicUser', headers: ['Location'] },
        errors: [403, 409, 429, 501],
      },
      GET: {
        tag: 'users',
        summary: 'List users (admin)',
        description: 'Cursor pages sorted by username.',
        auth: 'bearer',
        query: S.ListUsersQuery,
        ok: { status: 200, description: 'One page of users', schema: 'UserPage' },
        errors: [400, 403],
      },
    },
  },
  {
    path: '/api/users/me',
    shortPaths: ['/users/me'],
    methods: {
      GET: { tag: 'users', summary: 'The caller', description: 'The user the access token belongs to, read at the time of the request.', auth: 'bearer', ok: user200 },
      PATCH: {
        tag: 'users',
        summary: 'Change your email or password',
        description: selfRule,
        auth: 'bearer',
        body: { json: 'PatchMe' },
        ok: { ...user200, description: 'The changed user' },
        errors: [409, 429, 501],
      },
      DELETE: {
        tag: 'users',
        summary: 'Delete your own account',
        description: 'The last enabled admin cannot be deleted (409).',
        auth: 'bearer',
        ok: deleted204,
        errors: [409],
      },
    },
  },
  {
    path: '/api/users/{username}',
    shortPaths: ['/users/{username}'],
    methods: {
      GET: {
        tag: 'users',
        summary: 'One user (admin, or yourself)',
        description: 'A user may read only themself (403 otherwise); only an admin learns whether another username exists (404).',
        auth: 'bearer',
        ok: user200,
        errors: [403, 404],
      },
      PUT: {
        tag: 'users',
        summary: 'Replace email and password (admin, or yourself)',
        description: `The FastAPI project's full update. An admin may also send \`role\`, \`disabled\` and \`email_verified\`; an email an admin sets for another user is set at once, unverified unless \`email_verified\` says otherwise. ${selfRule}`,
        auth: 'bearer',
        body: { json: 'PutUser' },
        ok: { ...user200, description: 'The changed user' },
        errors: [403, 404, 409, 429, 501],
      },
      PATCH: {
        tag: 'users',
        summary: 'Change some fields (admin, or yourself)',
        description: `Only an admin may change \`role\`, \`disabled\` or \`email_verified\`; disabling, demoting or a password change ends sessions. The last enabled admin can be neither demoted nor disabled (409). ${selfRule}`,
        auth: 'bearer',
        body: { json: 'PatchUser' },
        ok: { ...user200, description: 'The changed user' },
        errors: [403, 404, 409, 429, 501],
      },
      DELETE: {
        tag: 'users',
        summary: 'Delete a user (admin, or yourself)',
        description: 'The last enabled admin cannot be deleted (409).',
        auth: 'bearer',
        ok: deleted204,
        errors: [403, 404, 409],
      },
    },
  },
  {
    path: '/api/users/{username}/sessions',
    methods: {
      GET: {
        tag: 'sessions',
        summary: "A user's live sessions (admin)",
        description: 'The same view a user gets of their own sessions; `current` marks the admin\'s own session when they look at themself.',
        auth: 'bearer',
        ok: { status: 200, description: 'The sessions', schema: 'SessionList' },
        errors: [403, 404],
      },
      DELETE: {
        tag: 'sessions',
        summary: 'End every session of a user (admin)',
        description: 'Signs the user out everywhere: their refresh tokens stop working and their access tokens are refused from the next request on. The account itself is unchanged.',
        auth: 'bearer',
        ok: { status: 204, description: 'Every session has ended' },
        errors: [403, 404],
      },
    },
  },
  {
    path: '/api/users/{username}/password-reset',
    methods: {
      POST: {
        tag: 'password reset',
        summary: 'Make a reset link for a user (admin)',
        description:
          'For deployments without mail: hand the link to the user over a trusted channel. Takes no fields (an empty body or `{}`). A disabled account gets no link (409). ' +
          'The link dies when the user\'s email or password changes. Deployed, links are built from RESET_URL_BASE only, never from the request: without it, 501.',
        auth: 'bearer',
        body: { json: 'AdminPasswordReset', optional: true },
        ok: { status: 200, description: 'A single-use link', schema: 'PasswordResetLink' },
        errors: [403, 404, 409, 501],
      },
    },
  },
  {
    path: '/api/audit',
    methods: {
      GET: {
        tag: 'audit',
        summary: 'Audit events (admin)',
        description: 'Newest first, cursor pages; kept 90 days.',
        auth: 'bearer',
        query: S.AuditQuery,
        ok: { status: 200, description: 'One page of events', schema: 'AuditPage' },
        errors: [400, 403],
      },
    },
  },
  {
    path: '/api/health',
    shortPaths: ['/health'],
    methods: {
      GET: { tag: 'service', summary: 'Health', description: '503 with Retry-After when the database cannot be reached.', auth: 'none', ok: { status: 200, description: 'Up', schema: 'Health' } },
    },
  },
  {
    path: '/api/jwks',
    shortPaths: ['/.well-known/jwks.json'],
    methods: {
      GET: {
        tag: 'service',
        summary: 'Public signing keys (RFC 7517)',
        description: 'The keys that verify access tokens when an asymmetric key is configured; empty with HS256.',
        auth: 'none',
        db: false,
        ok: { status: 200, description: 'A JWK set', schema: 'Jwks', headers: ['Cache-Control'] },
      },
    },
  },
  {
    path: '/api/openapi.json',
    shortPaths: ['/openapi.json'],
    methods: {
      GET: {
        tag: 'service',
        summary: 'This document',
        description: 'The same for every caller and deployment; shared caches may keep it for 5 minutes.',
        auth: 'none',
        db: false,
        ok: { status: 200, description: 'OpenAPI 3.1', schema: OPENAPI_DOCUMENT, headers: ['Cache-Control'] },
      },
    },
  },
  {
    path: '/api/docs',
    shortPaths: ['/docs'],
    methods: {
      GET: {
        tag: 'service',
        summary: 'Interactive documentation (Swagger UI)',
        description: 'Swagger UI over this document, its files served by the service itself (no CDN), so it works offline.',
        auth: 'none',
        db: false,
        ok: { status: 200, description: 'An HTML page', contentType: 'text/html', schema: { type: 'string' } },
      },
    },
  },
  {
    path: '/api/docs/{asset}',
    methods: {
      GET: {
        tag: 'service',
        summary: "The documentation page's scripts, styles and icon",
        description: 'Served by the service itself so the page works offline and under a strict CSP.',
        auth: 'none',
        db: false,
        parameters: [{ name: 'asset', in: 'path', required: true, schema: { type: 'string' }, example: 'swagger-ui.css' }],
        ok: { status: 200, description: 'The file', contentType: '*/*', schema: { type: 'string' } },
        errors: [404],
      },
    },
  },
]

// --- shared responses and headers -----------------------------------------------------------

type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 501 | 503
type HeaderName = 'Location' | 'Retry-After' | 'WWW-Authenticate' | 'Allow' | 'Cache-Control' | 'Pragma' | 'x-request-id' | 'Server-Timing'

const HEADERS: Record<HeaderName, Json> = {
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

const ERRORS: Record<ErrorStatus, { name: string; description: string; headers?: HeaderName[] }> = {
  400: { name: 'BadRequest', description: 'Malformed JSON, failed validation (`errors[]` names each field) or unknown fields; `error` on the auth routes' },
  401: { name: 'Unauthorized', description: 'Missing, malformed, expired, forged or revoked token; on login, bad credentials (`invalid_grant`)', headers: ['WWW-Authenticate'] },
  403: { name: 'Forbidden', description: 'Authenticated but not allowed; disabled account' },
  404: { name: 'NotFound', description: 'No such resource (only shown to callers allowed to see it)' },
  405: { name: 'MethodNotAllowed', description: 'Method not served by this route', headers: ['Allow'] },
  409: { name: 'Conflict', description: 'Username or email taken; the last-admin rule; a concurrent change' },
  413: { name: 'PayloadTooLarge', description: `Body over ${BODY_LIMIT_BYTES} bytes` },
  415: { name: 'UnsupportedMediaType', description: 'A content type the route does not take' },
  429: { name: 'TooManyRequests', description: 'Too many failed logins for that account or from that client, reset requests, or sign-ups from that client', headers: ['Retry-After'] },
  500: { name: 'InternalError', description: 'Something went wrong on our side (details only in the log)' },
  501: { name: 'NotImplemented', description: 'The deployment is not configured for this (no SMTP_URL or RESET_URL_BASE for password resets)' },
  503: { name: 'ServiceUnavailable', description: 'The database cannot be reached', headers: ['Retry-After'] },
}

function responseHeaders(names: HeaderName[] = [], common = COMMON_HEADERS): Json {
  return Object.fromEntries([...names, ...common].map((n) => [n, headerRef(n)]))
}

function errorStatuses(op: OperationSpec): ErrorStatus[] {
  // Every route answers a method it does not serve with 405 + Allow (lib/http.ts).
  const out = new Set<ErrorStatus>([...(op.errors ?? []), 405])
  if (op.body) [400, 413, 415].forEach((s) => out.add(s as ErrorStatus))
  if (op.auth === 'bearer' || op.auth === 'bearer-or-anonymous') out.add(401)
  out.add(500)
  if (op.db !== false) out.add(503)
  return [...out].sort((a, b) => a - b)
}

const SECURITY: Record<Auth, Json[] | undefined> = {
  none: [],
  bearer: [{ bearerAuth: [] }, { oauth2: [] }],
  // An empty requirement makes the token optional (OpenAPI 3.1 4.8.30).
  'bearer-or-anonymous': [{ bearerAuth: [] }, { oauth2: [] }, {}],
}

function buildOperation(route: RouteEntry, method: Method, op: OperationSpec): Json {
  // An operation's own entry for a path parameter replaces the generic one.
  const own = op.parameters ?? []
  const parameters: Json[] = [...pathParameters(route.path).filter((p) => !own.some((o) => o.in === 'path' && o.name === p.name)), ...own]
  if (op.query) {
    const schema = toSchema(op.query) as { properties?: Record<string, Json>; required?: string[] }
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      parameters.push({ name, in: 'query', required: schema.required?.includes(name) ?? false, schema: property })
    }
  }
  const notes = [
    op.description,
    route.shortPaths?.length ? `Also served at ${route.shortPaths.map((p) => `\`${p}\``).join(', ')}.` : undefined,
    route.planned ? '**Planned:** in the contract, not served by this version yet.' : undefined,
  ].filter(Boolean)

  const responses: Json = { [op.ok.status]: successResponse(op.ok) }
  for (const status of errorStatuses(op)) responses[status] = { $ref: `#/components/responses/${ERRORS[status].name}` }

  return {
    tags: [op.tag],
    summary: op.summary,
    ...(notes.length > 0 && { description: notes.join('\n\n') }),
    operationId: operationId(method, route.path),
    security: SECURITY[op.auth],
    ...(parameters.length > 0 && { parameters }),
    ...(op.body && { requestBody: requestBody(op.body) }),
    responses,
    ...(route.planned && { 'x-planned': true }),
  }
}

function pathParameters(path: string): Json[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) =>
    name === 'username' ? usernameParam : name === 'id' ? sessionIdParam : { name, in: 'path', required: true, schema: { type: 'string' } },
  )
}

function operationId(method: Method, path: string): string {
  const words = path
    .replace(/^\/api\//, '')
    .split(/[/.-]/)
    .filter(Boolean)
    .map((w) => w.replace(/[{}]/g, ''))
  return [method.toLowerCase(), ...words].map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('')
}

function successResponse(ok: Success): Json {
  const headers = responseHeaders(ok.headers)
  if (!ok.schema) return { description: ok.description, headers }
  const schema = typeof ok.schema === 'string' ? ref(ok.schema) : ok.schema
  return { description: ok.description, headers, content: { [ok.contentType ?? 'application/json']: { schema } } }
}

function requestBody(body: NonNullable<OperationSpec['body']>): Json {
  const content: Json = {}
  if (body.json) content['application/json'] = { schema: ref(body.json) }
  if (body.form) content['application/x-www-form-urlencoded'] = { schema: ref(body.form) }
  return { required: !body.optional, content }
}

// --- the document ----------------------------------------------------------------------------

function buildDocument(): Json {
  const paths: Json = {}
  for (const route of ROUTES) {
    const item: Json = {}
    for (const [method, op] of Object.entries(route.methods) as [Method, OperationSpec][]) item[method.toLowerCase()] = buildOperation(route, method, op)
    paths[route.path] = item
  }
  const schemas = componentSchemas()

  const responses: Json = {}
  for (const { name, description, headers } of Object.values(ERRORS)) {
    responses[name] = { description, headers: responseHeaders(headers), content: { 'application/problem+json': { schema: ref('Problem') } } }
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Auth API',
      version: '1.0.0',
      // The repository grants no licence (package.json: UNLICENSED, npm's word for that; SPDX
      // writes a licence of one's own as LicenseRef-...); whoever owns the project says so here
      // when they choose one.
      license: { name: 'Proprietary: no licence granted', identifier: 'LicenseRef-Proprietary' },
      contact: { name: 'The maintainers of vercel-mongo-auth' },
      description:
        'User authentication for Vercel functions and MongoDB: JWT access tokens, rotating refresh tokens, real logout, RBAC user management.\n\n' +
        'Errors are `application/problem+json` (RFC 9457). Any method a route does not serve gets 405 with `Allow`. ' +
        'Every response carries `x-request-id` and `Server-Timing`.' +
        (ROUTES.some((r) => r.planned) ? ' Routes marked **Planned** are in the contract but not served yet.' : '') +
        '\n\n' +
        'Try it: **Authorize** with the OAuth2 password flow (your username and password; client id and secret stay empty), then call any route.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'auth', description: 'Log in, refresh, log out' },
      { name: 'users', description: 'Accounts and roles' },
      { name: 'sessions', description: 'Live sessions (refresh-token families)' },
      { name: 'password reset', description: 'Forgotten passwords' },
      { name: 'email verification', description: 'Proving an email address, and changing it' },
      { name: 'audit', description: 'Who did what, kept 90 days' },
      { name: 'service', description: 'Health, keys and this documentation' },
    ],
    paths,
    components: {
      schemas,
      responses,
      headers: HEADERS,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /api/auth/login or /api/auth/refresh' },
        oauth2: {
          type: 'oauth2',
          description: 'Password grant (RFC 6749 4.3) against the login route; the refresh token rotates on each use',
          flows: { password: { tokenUrl: TOKEN_URL, refreshUrl: REFRESH_URL, scopes: {} } },
        },
      },
    },
  }
}

let cached: Json | undefined

/** The document; built on first use, then the same object for the life of the instance. */
export function openApiDocument(): Json {
  cached ??= buildDocument()
  return cached
}
