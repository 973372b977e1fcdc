// Input and answer schemas (valibot): one per input, shared by the routes' validation, the
// OpenAPI document and the seed script; and the shapes of the answers, which the domain modules
// take their types from and the document shows. Objects are strict (unknown fields refused: no mass
// assignment) and every leaf is a string, number or boolean of its own (no `{"$ne": null}`).
import * as v from 'valibot'
import { PASSWORD_MAX_BYTES } from './passwords.js'
import { normalizeRecoveryCode, RECOVERY_CODE_PATTERN } from './mfa/recovery.js'

// The roles' one home: validation, the stored documents (db.ts), token claims (tokens.ts) and
// the OpenAPI document all take them from here.
export const ROLES = ['admin', 'user'] as const
export type Role = (typeof ROLES)[number]

// A strict object reports three things with one issue type: an unknown key (expected `never`), a
// missing key (its path names the key, nothing was received) and a body that is no object.
const objectMessage: v.ErrorMessage<v.StrictObjectIssue> = (issue) =>
  issue.expected === 'never' ? 'unknown field' : issue.received === 'undefined' && issue.path ? 'is required' : 'must be a JSON object'

/** A strict object whose unknown and missing fields are named in errors[]. */
const strict = <E extends v.ObjectEntries>(entries: E) => v.strictObject(entries, objectMessage)

/** Usernames compare case- and width-insensitively: NFKC, then lower case. */
export function normalizeUsername(value: string): string {
  return value.normalize('NFKC').toLowerCase()
}

// Names whose /users/<name> path a function file answers instead of the [username] route:
// api/users/me.ts and api/users/index.ts, also reached with their extension (`/api/users/me.ts`)
// as Vercel serves a function's file path. vercel.json has no cleanUrls (README), so no other
// name is redirected away (`index` and `*.html` were, with it).
const RESERVED_USERNAME = /^(?:me|index)(?:\.(?:ts|tsx|js|mjs|cjs))?$/

export const Username = v.pipe(
  v.string('must be a string'),
  v.trim(),
  v.transform(normalizeUsername),
  v.minLength(3, 'must be 3 to 32 characters'),
  v.maxLength(32, 'must be 3 to 32 characters'),
  v.regex(/^[a-z0-9._-]+$/, 'may contain only a-z, 0-9, dot, underscore and hyphen'),
  v.check((s) => !RESERVED_USERNAME.test(s), 'is reserved ("me" and "index" are paths of the API)'),
  v.metadata({ examples: ['alice'] }),
)

export const Email = v.pipe(
  v.string('must be a string'),
  v.trim(),
  v.toLowerCase(),
  v.maxLength(254, 'must be at most 254 characters'),
  v.email('must be a valid email address'),
  v.metadata({ examples: ['alice@example.com'] }),
)

/** A new password: the length rules here; the policy (common, personal) in password-policy.ts. */
export const NewPassword = v.pipe(
  v.string('must be a string'),
  v.minLength(8, 'must be at least 8 characters'),
  v.check((s) => Buffer.byteLength(s, 'utf8') <= PASSWORD_MAX_BYTES, `must be at most ${PASSWORD_MAX_BYTES} bytes (bcrypt's limit)`),
  v.description('8 characters to 72 UTF-8 bytes; not the username or email, not a common password'),
)

/** A password presented for checking: bounded, never judged by policy. */
export const GivenPassword = v.pipe(v.string('must be a string'), v.minLength(1, 'is required'), v.maxLength(1024, 'is too long'))

export const RoleSchema = v.picklist(ROLES, 'must be admin or user')

// --- auth -------------------------------------------------------------------------------

const Login = v.pipe(v.string('must be a string'), v.trim(), v.minLength(1, 'is required'), v.maxLength(254, 'is too long'))

// OAuth2 clients and Swagger UI send these with a password grant; we accept and ignore them.
const oauthExtras = {
  scope: v.optional(v.string()),
  client_id: v.optional(v.string()),
  client_secret: v.optional(v.string()),
}

// grant_type is optional in both bodies; any other value than the endpoint's is answered
// unsupported_grant_type before these schemas run (grants.ts).
export const LoginJson = strict({ grant_type: v.optional(v.literal('password', 'must be password')), username: Login, password: GivenPassword })
export const LoginForm = strict({
  grant_type: v.optional(v.literal('password', 'must be password')),
  username: Login,
  password: GivenPassword,
  ...oauthExtras,
})

const RefreshToken = v.pipe(v.string('must be a string'), v.minLength(1, 'is required'), v.maxLength(512, 'is too long'))
export const RefreshJson = strict({ grant_type: v.optional(v.literal('refresh_token', 'must be refresh_token')), refresh_token: RefreshToken })
export const RefreshForm = strict({
  grant_type: v.literal('refresh_token', 'must be refresh_token'),
  refresh_token: RefreshToken,
  ...oauthExtras,
})

export const LOGOUT_SCOPES = ['local', 'others', 'global'] as const
// Defaults (here and below) reach the OpenAPI document as words in the description, not as
// `default`, which generated clients take to make a field required (lib/openapi.ts).
export const LogoutBody = strict({ scope: v.optional(v.picklist(LOGOUT_SCOPES, 'must be local, others or global'), 'local') })

export const TokenResponse = v.object({
  access_token: v.string(),
  token_type: v.literal('bearer'),
  expires_in: v.number(),
  refresh_token: v.string(),
})

// --- users ------------------------------------------------------------------------------

/** Admins (and the seed script) only: whether the address is known to be the user's. */
export const EmailVerified = v.pipe(
  v.boolean('must be true or false'),
  v.description('Admins only. Whether the email address is verified; when an admin sets a new email, false unless given.'),
)

export const CreateUser = strict({
  username: Username,
  email: Email,
  password: NewPassword,
  role: v.optional(RoleSchema, 'user'),
  email_verified: v.optional(EmailVerified),
})

// --- a new password under either name ---------------------------------------------------------
// The user routes call a new password `password` (as the FastAPI project did), the reset
// confirmation `new_password` (as the contract does). A client that learnt one name on one route
// is not told "unknown field" on another: every input that changes a password (PUT and PATCH of a
// user, PATCH /users/me, the confirmation) takes both, gives its output the route's own name, and
// refuses the two together. Creating a user keeps plain `password`: there is no old one.

type PasswordName = 'password' | 'new_password'
type Passwords = { password?: string; new_password?: string }
type OneNewPassword<T, C extends PasswordName, Required extends boolean> = Omit<T, PasswordName> &
  (Required extends true ? { [K in C]: string } : { [K in C]?: string })

const newPasswordEntries = { password: v.optional(NewPassword), new_password: v.optional(NewPassword) }

function oneNewPassword<T extends Passwords, C extends PasswordName, R extends boolean>(canonical: C, required: R) {
  const alias: PasswordName = canonical === 'password' ? 'new_password' : 'password'
  return v.rawTransform<T, OneNewPassword<T, C, R>>(({ dataset, addIssue, NEVER }) => {
    const { password: _p, new_password: _n, ...rest } = dataset.value
    const given = dataset.value[canonical]
    const aliased = dataset.value[alias]
    const key = (name: PasswordName) => ({ type: 'object', origin: 'value', input: dataset.value, key: name, value: dataset.value[name] }) as const
    if (given !== undefined && aliased !== undefined) {
      addIssue({ message: `give ${canonical} or ${alias}, not both`, path: [key(alias)] })
      return NEVER
    }
    const value = given ?? aliased
    if (value === undefined) {
      if (!required) return rest as OneNewPassword<T, C, R>
      addIssue({ message: 'is required', path: [key(canonical)] })
      return NEVER
    }
    return { ...rest, [canonical]: value } as OneNewPassword<T, C, R>
  })
}

/** Documents the alias: both fields are listed; `required` adds the "one of them" rule. */
function aliasNotes<T extends Passwords>(canonical: PasswordName, required: boolean) {
  const alias = canonical === 'password' ? 'new_password' : 'password'
  return v.metadata<T, Record<string, unknown>>({
    description: `The new password goes in \`${canonical}\`; \`${alias}\` is accepted as the same field (give one of them, not both).`,
    ...(required && { oneOf: [{ required: [canonical] }, { required: [alias] }] }),
  })
}

const putUserEntries = {
  email: Email,
  ...newPasswordEntries,
  current_password: v.optional(GivenPassword),
  role: v.optional(RoleSchema),
  disabled: v.optional(v.boolean('must be true or false')),
  email_verified: v.optional(EmailVerified),
}

/** PUT /users/{username}: the FastAPI project's body; admins may add role and disabled. */
export const PutUser = v.pipe(strict(putUserEntries), aliasNotes('password', true), oneNewPassword('password', true))

/** PATCH /users/{username}: any part of PUT's body. */
export const PatchUser = v.pipe(v.partial(strict(putUserEntries)), aliasNotes('password', false), oneNewPassword('password', false))

export const PatchMe = v.pipe(
  strict({ email: v.optional(Email), ...newPasswordEntries, current_password: GivenPassword }),
  aliasNotes('password', false),
  oneNewPassword('password', false),
)

/**
 * `limit` of the list routes. A query string is text, so validation takes digits and makes
 * them a number; the document describes the integer they stand for, which is what a generated
 * client should send (the metadata; a regex here would add a string `pattern` to it).
 */
const PageLimit = v.optional(
  v.pipe(
    v.string('must be a number'),
    v.metadata({ type: 'integer', minimum: 1, maximum: 100 }),
    v.check((s) => /^\d{1,3}$/.test(s), 'must be 1 to 100'),
    v.transform(Number),
    v.minValue(1, 'must be 1 to 100'),
    v.maxValue(100, 'must be 1 to 100'),
  ),
  '50',
)

export const ListUsersQuery = strict({
  limit: PageLimit,
  cursor: v.optional(v.pipe(v.string('must be a string'), v.maxLength(200, 'is too long'))),
  role: v.optional(RoleSchema),
  q: v.optional(v.pipe(v.string('must be a string'), v.maxLength(32, 'is too long'))),
})

export const PublicUser = v.object({
  id: v.string(),
  username: v.string(),
  email: v.string(),
  role: RoleSchema,
  disabled: v.boolean(),
  email_verified: v.pipe(v.boolean(), v.description('Whether `email` was proven: a verification link, a completed password reset, or an admin')),
  pending_email: v.pipe(
    v.nullable(v.string()),
    v.description("A new address the user asked for: `email` stays the account's until a link mailed to this one is confirmed"),
  ),
  created_at: v.pipe(v.string(), v.isoTimestamp()),
  updated_at: v.pipe(v.string(), v.isoTimestamp()),
  mfa: v.object({ totp: v.pipe(v.boolean(), v.description('Whether TOTP is active')) }),
})

/** One page of GET /api/users. */
export const UserPage = v.object({
  items: v.array(PublicUser),
  next_cursor: v.pipe(v.nullable(v.string()), v.description('Pass as `cursor` for the next page; null on the last page')),
})

export type CreateUserInput = v.InferOutput<typeof CreateUser>
export type PatchUserInput = v.InferOutput<typeof PatchUser>

export const AuditQuery = strict({
  limit: PageLimit,
  cursor: v.optional(v.pipe(v.string('must be a string'), v.maxLength(24, 'is not valid'))),
  user: v.optional(v.pipe(v.string('must be a string'), v.transform(normalizeUsername), v.maxLength(254, 'is too long'))),
  event: v.optional(v.pipe(v.string('must be a string'), v.regex(/^[a-z_]+\.[a-z_]+$/, 'is not an event name'))),
})

/** One entry of the audit trail as admins read it (lib/audit.ts listAudit). */
export const AuditEntry = v.object({
  id: v.string(),
  event: v.pipe(v.string(), v.description('e.g. login.success, token.reuse, password.changed')),
  at: v.pipe(v.string(), v.isoTimestamp()),
  actor: v.nullable(v.string()),
  user: v.nullable(v.string()),
  request_id: v.nullable(v.string()),
  ip: v.nullable(v.string()),
  detail: v.optional(v.record(v.string(), v.unknown())),
})
export type AuditView = v.InferOutput<typeof AuditEntry>
export const AuditPage = v.object({ items: v.array(AuditEntry), next_cursor: v.nullable(v.string()) })

// --- sessions (lib/sessions.ts; api/auth/sessions/*, api/users/[username]/sessions.ts) ------

/** A live session as its user (or an admin) sees it: never a token or its hash. */
export const Session = v.object({
  id: v.string(),
  created_at: v.pipe(v.string(), v.isoTimestamp()),
  last_used_at: v.pipe(v.string(), v.isoTimestamp()),
  expires_at: v.pipe(v.string(), v.isoTimestamp()),
  user_agent: v.string(),
  ip: v.pipe(v.string(), v.description('Truncated to its network (/24 or /48)')),
  current: v.pipe(v.boolean(), v.description('Whether this is the session of the presented token')),
})
export type SessionView = v.InferOutput<typeof Session>
export const SessionList = v.object({ items: v.array(Session) })

// --- the service (api/health.ts, api/jwks.ts) ------------------------------------------------

export const Health = v.union([
  v.object({ status: v.literal('ok'), db: v.literal('ok') }),
  // Up, but indexes the service relies on (uniqueness, expiry) are missing: `collection.index`.
  v.object({ status: v.literal('degraded'), db: v.literal('ok'), missing_indexes: v.array(v.string()) }),
])

export const Jwks = v.object({
  keys: v.pipe(
    v.array(v.looseObject({ kty: v.string(), kid: v.optional(v.string()), alg: v.optional(v.string()), use: v.optional(v.string()) })),
    v.description('Empty when tokens are signed with HS256'),
  ),
})

// --- password reset (lib/reset.ts; api/auth/password-reset/*, api/users/[username]/password-reset.ts)

/** POST /api/auth/password-reset: exactly one of email or username. */
export const PasswordResetRequest = v.pipe(
  strict({ email: v.optional(Email), username: v.optional(Username) }),
  v.check((b) => (b.email === undefined) !== (b.username === undefined), 'give either email or username, not both'),
  v.description('The account to reset, by email or by username; the answer is the same whether or not it exists'),
)

// 32 random bytes in base64url are 43 characters; the bound only keeps junk small. A malformed
// token is answered like an unknown one, with errors[] naming `token`.
const LinkToken = v.pipe(v.string('must be a string'), v.minLength(1, 'is required'), v.maxLength(128, 'is not valid'))

/** POST /api/auth/password-reset/confirm */
export const PasswordResetConfirm = v.pipe(
  strict({ token: LinkToken, ...newPasswordEntries }),
  aliasNotes('new_password', true),
  oneNewPassword('new_password', true),
)

/** POST /api/users/{username}/password-reset takes no fields (an empty body or `{}`). */
export const AdminPasswordReset = strict({})

/** 202 answer of POST /api/auth/password-reset: one constant body for every request. */
export const PasswordResetAccepted = v.object({ status: v.literal('accepted'), detail: v.string() })

/** 200 answer of POST /api/users/{username}/password-reset. */
export const PasswordResetLink = v.object({
  reset_url: v.pipe(v.string(), v.description('Single-use link; hand it to the user over a trusted channel')),
  expires_at: v.pipe(v.string(), v.description('ISO 8601; 30 minutes after issue')),
})

export type PasswordResetRequestInput = v.InferOutput<typeof PasswordResetRequest>

// --- email verification (lib/email-verification.ts; api/auth/email/*) ------------------------

/** POST /api/auth/email/verify-request takes no fields (an empty body or `{}`). */
export const EmailVerifyRequest = strict({})

/** POST /api/auth/email/verify: the token from the link (junk is answered like an unknown token). */
export const EmailVerify = strict({ token: LinkToken })

/** 202 answer of POST /api/auth/email/verify-request. */
export const EmailVerifyAccepted = v.object({ status: v.literal('accepted'), detail: v.string() })
// --- multi-factor authentication (lib/mfa/; api/auth/mfa/*, api/users/[username]/mfa.ts) ------

/** The second factors a user with active TOTP can answer a login's `mfa_required` with. */
export const MFA_METHODS = ['totp', 'recovery_code'] as const

/** A TOTP code: 6 digits; spaces (as apps show "123 456") are dropped. */
const TotpCode = v.pipe(
  v.string('must be a string'),
  v.maxLength(16, 'must be 6 digits'),
  v.transform((s) => s.replace(/\s/g, '')),
  v.regex(/^\d{6}$/, 'must be 6 digits'),
  v.metadata({ examples: ['123456'] }),
)

/** A recovery code as shown (`abcd-efgh-ijkl-mnop`), in any case, hyphens and spaces optional. */
const RecoveryCode = v.pipe(
  v.string('must be a string'),
  v.maxLength(64, 'is not a recovery code'),
  v.transform(normalizeRecoveryCode),
  v.regex(RECOVERY_CODE_PATTERN, 'is not a recovery code'),
  v.metadata({ examples: ['abcd-efgh-ijkl-mnop'] }),
)

const oneFactor = <T extends { code?: string; recovery_code?: string }>() =>
  v.check<T, string>((b) => (b.code === undefined) !== (b.recovery_code === undefined), 'give either code or recovery_code')

/** POST /api/auth/mfa/totp */
export const MfaEnrol = strict({ current_password: GivenPassword })

/** POST /api/auth/mfa/totp/activate */
export const MfaActivate = strict({ code: TotpCode })

/** DELETE /api/auth/mfa/totp */
export const MfaRemove = v.pipe(strict({ current_password: GivenPassword, code: v.optional(TotpCode), recovery_code: v.optional(RecoveryCode) }), oneFactor())

/** POST /api/auth/mfa/recovery-codes */
export const MfaRenewCodes = strict({ current_password: GivenPassword, code: TotpCode })

const MfaToken = v.pipe(v.string('must be a string'), v.minLength(1, 'is required'), v.maxLength(4096, 'is not valid'))

/** POST /api/auth/mfa/verify */
export const MfaVerify = v.pipe(
  strict({ mfa_token: MfaToken, code: v.optional(TotpCode), recovery_code: v.optional(RecoveryCode) }),
  oneFactor(),
  v.description('The mfa_token of the 403 mfa_required answer to a login, and either a TOTP code or a recovery code'),
)

/** 201 answer of POST /api/auth/mfa/totp. */
export const MfaEnrolment = v.object({
  secret: v.pipe(v.string(), v.description('The TOTP secret in base32 (RFC 4648), for typing into an authenticator app')),
  otpauth_uri: v.pipe(v.string(), v.description('otpauth://totp/... (Key Uri Format): SHA1, 6 digits, 30-second period')),
  qr_svg: v.pipe(v.string(), v.description('An SVG image of otpauth_uri as a QR code')),
})

/** 200 answer of activation and of POST /api/auth/mfa/recovery-codes. */
export const RecoveryCodes = v.object({
  recovery_codes: v.pipe(v.array(v.string()), v.description('Ten single-use codes, shown only this once')),
})
