// Configuration: read from the environment once, validated, frozen. It never echoes a secret
// in an error (only the variable's name and what is wrong with it) and never throws at import,
// so a misconfigured deployment still answers /api/health with a clear problem.
import { createHash } from 'node:crypto'
import * as v from 'valibot'
import type { Role } from './schemas.js'

const positiveInt = (fallback: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.regex(/^\d+$/, 'must be a whole number'),
    v.transform(Number),
    v.minValue(0, 'must not be negative'),
  )

const flag = v.pipe(
  v.optional(v.picklist(['true', 'false', '1', '0', ''], 'must be true or false'), 'false'),
  v.transform((s) => s === 'true' || s === '1'),
)

const MONGODB_URI_SCHEME = /^mongodb(\+srv)?:\/\//
export const MONGODB_URI_RULE = 'must start with mongodb:// or mongodb+srv://'

/** Whether a connection string has a scheme the driver takes (the seed checks --uri with it). */
export const isMongoUri = (value: string): boolean => MONGODB_URI_SCHEME.test(value)

// Atlas counts every connection an instance opens: its pool plus the driver's monitoring
// connections. 5 lets one instance run a login's queries beside a few concurrent reads while
// an M0 still holds some 80 instances (README, "Connections").
export const DEFAULT_MAX_POOL_SIZE = 5
const DEFAULT_DB = 'auth'
const DB_NAME = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a plain database name'))

const Env = v.object({
  MONGODB_URI: v.optional(v.pipe(v.string(), v.regex(MONGODB_URI_SCHEME, MONGODB_URI_RULE))),
  MONGODB_DB: v.optional(DB_NAME, DEFAULT_DB),
  JWT_SECRET: v.optional(v.string()),
  JWT_SECRET_PREVIOUS: v.optional(v.string()),
  JWT_PRIVATE_KEY: v.optional(v.string()),
  JWT_PRIVATE_KEYS: v.optional(v.string()),
  JWT_KID: v.optional(v.string()),
  JWT_ISSUER: v.optional(v.string(), 'vercel-mongo-auth'),
  JWT_AUDIENCE: v.optional(v.string(), 'vercel-mongo-auth'),
  ACCESS_TOKEN_TTL: positiveInt(15 * 60),
  REFRESH_TOKEN_TTL: positiveInt(7 * 24 * 3600),
  REFRESH_REUSE_INTERVAL: positiveInt(10),
  BCRYPT_COST: v.pipe(positiveInt(12), v.minValue(4, 'must be 4 to 15'), v.maxValue(15, 'must be 4 to 15')),
  ALLOW_SIGNUP: flag,
  CORS_ORIGINS: v.optional(v.string(), ''),
  LOG_LEVEL: v.optional(v.picklist(['debug', 'info', 'warn', 'error', 'silent'], 'must be debug, info, warn, error or silent'), 'info'),
  SMTP_URL: v.optional(v.string()),
  MAIL_FROM: v.optional(v.string(), 'no-reply@localhost'),
  RESET_URL_BASE: v.optional(v.string()),
  VERIFY_URL_BASE: v.optional(v.string()),
  REQUIRE_VERIFIED_EMAIL: flag,
  MFA_ENCRYPTION_KEY: v.optional(
    v.pipe(v.string(), v.check((s) => decodeKey(s) !== undefined, 'must be 32 bytes, as 64 hex digits or base64')),
  ),
  MFA_REQUIRED_ROLES: v.optional(
    v.pipe(v.string(), v.check((s) => splitList(s).every((r) => r === 'admin' || r === 'user'), 'must list roles (admin, user) separated by commas')),
    '',
  ),
  DB_TIMEOUT_MS: positiveInt(3000),
  MONGODB_MAX_POOL_SIZE: v.pipe(positiveInt(DEFAULT_MAX_POOL_SIZE), v.minValue(1, 'must be at least 1')),
  MONGODB_MAX_IDLE_TIME_MS: positiveInt(10_000),
  PRODUCTION_MONGODB_DB: v.optional(DB_NAME, DEFAULT_DB),
  ALLOW_PREVIEW_ON_PRODUCTION_DB: flag,
  MONGODB_DB_PER_BRANCH: flag,
  VERCEL: v.optional(v.string()),
  VERCEL_ENV: v.optional(v.string()),
  VERCEL_GIT_COMMIT_REF: v.optional(v.string()),
  NODE_ENV: v.optional(v.string()),
})

export interface Config {
  mongoUri: string
  mongoDb: string
  /** HS256 secrets, the first signs; empty when an asymmetric key is configured. */
  jwtSecrets: Uint8Array[]
  /** PEM private keys (PKCS#8), the first signs; all verify and are published. */
  jwtPrivateKeys: { pem: string; kid?: string }[]
  jwtIssuer: string
  jwtAudience: string
  accessTtlSeconds: number
  refreshTtlSeconds: number
  refreshReuseSeconds: number
  bcryptCost: number
  allowSignup: boolean
  corsOrigins: string[]
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  smtpUrl?: string
  mailFrom: string
  resetUrlBase?: string
  verifyUrlBase?: string
  /** Logins of accounts whose email is not verified are refused (403 email_not_verified). */
  requireVerifiedEmail: boolean
  /**
   * The AES-256-GCM key of the TOTP secrets (MFA_ENCRYPTION_KEY); locally a fixed development
   * key when unset, deployed undefined (MFA enrolment then answers 501).
   */
  mfaEncryptionKey?: Buffer
  /** Roles whose callers must have passed a second factor (aal2) to use the API (MFA_REQUIRED_ROLES). */
  mfaRequiredRoles: Role[]
  dbTimeoutMs: number
  /** Connections in this instance's pool (monitoring connections come on top). */
  maxPoolSize: number
  /** How long a pooled connection may sit idle before the driver closes it. */
  maxIdleTimeMs: number
  isDeployed: boolean
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

// A deployed function has no default secret; local tools get a throwaway one so that
// `npm ci && npm run dev` works with no .env at all.
const LOCAL_DEV_SECRET = 'local-development-secret-not-for-production-use'
// Likewise for MFA: a key everyone can derive, so local secrets are encrypted but not protected.
const LOCAL_DEV_MFA_KEY = createHash('sha256').update('local-development-mfa-key-not-for-production-use').digest()

/** A 256-bit key written as 64 hex digits or as base64 / base64url (43-44 characters). */
function decodeKey(value: string): Buffer | undefined {
  const text = value.trim()
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(text) ? Buffer.from(text, 'base64') : undefined
  return key?.length === 32 ? key : undefined
}

const splitList = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean)

/**
 * The variables that are set to something. `NAME=` (as .env.example writes every optional one)
 * or blanks mean "unset" everywhere, so a default applies instead of an empty value being
 * taken for a secret, a URI or a number.
 */
export function setVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value.trim() !== '') out[name] = value
  return out
}

/** Reads a configuration from `env` (exported for tests; the service uses getConfig). */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = v.safeParse(Env, setVariables(env))
  if (!parsed.success) {
    const issue = parsed.issues[0]
    const name = issue.path?.[0]?.key
    throw new ConfigError(`Invalid configuration: ${String(name ?? 'environment')} ${issue.message}`)
  }
  const e = parsed.output
  const isDeployed = Boolean(e.VERCEL) || e.NODE_ENV === 'production'
  if (!e.MONGODB_URI) {
    throw new ConfigError(
      isDeployed
        ? 'Invalid configuration: MONGODB_URI is not set; add your Atlas connection string to the project environment variables'
        : 'Invalid configuration: MONGODB_URI is not set; start the service with `npm run dev`, which starts the embedded database',
    )
  }
  const pems = e.JWT_PRIVATE_KEYS
    ? splitPems(e.JWT_PRIVATE_KEYS)
    : e.JWT_PRIVATE_KEY
      ? [e.JWT_PRIVATE_KEY.replace(/\\n/g, '\n')]
      : []
  const jwtPrivateKeys = pems.map((pem, i) => ({ pem, kid: i === 0 ? e.JWT_KID : undefined }))
  const secrets: string[] = []
  if (jwtPrivateKeys.length === 0) {
    const secret = e.JWT_SECRET ?? (isDeployed ? undefined : LOCAL_DEV_SECRET)
    if (!secret) throw new ConfigError('Invalid configuration: JWT_SECRET is not set (or set JWT_PRIVATE_KEY)')
    // RFC 7518 3.2: an HS256 key must be at least as long as the hash output (32 bytes).
    if (Buffer.byteLength(secret) < 32 && isDeployed) {
      throw new ConfigError('Invalid configuration: JWT_SECRET must be at least 32 bytes')
    }
    secrets.push(secret)
    if (e.JWT_SECRET_PREVIOUS) secrets.push(...e.JWT_SECRET_PREVIOUS.split(',').map((s) => s.trim()).filter(Boolean))
  }
  const mongoDb = databaseName(e)
  return Object.freeze({
    mongoUri: e.MONGODB_URI,
    mongoDb,
    jwtSecrets: secrets.map((s) => new TextEncoder().encode(s)),
    jwtPrivateKeys,
    jwtIssuer: e.JWT_ISSUER,
    jwtAudience: e.JWT_AUDIENCE,
    accessTtlSeconds: e.ACCESS_TOKEN_TTL,
    refreshTtlSeconds: e.REFRESH_TOKEN_TTL,
    refreshReuseSeconds: e.REFRESH_REUSE_INTERVAL,
    bcryptCost: e.BCRYPT_COST,
    allowSignup: e.ALLOW_SIGNUP,
    corsOrigins: splitList(e.CORS_ORIGINS),
    logLevel: e.LOG_LEVEL,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    resetUrlBase: e.RESET_URL_BASE,
    verifyUrlBase: e.VERIFY_URL_BASE,
    requireVerifiedEmail: e.REQUIRE_VERIFIED_EMAIL,
    mfaEncryptionKey: e.MFA_ENCRYPTION_KEY ? decodeKey(e.MFA_ENCRYPTION_KEY) : isDeployed ? undefined : LOCAL_DEV_MFA_KEY,
    mfaRequiredRoles: splitList(e.MFA_REQUIRED_ROLES) as Role[],
    dbTimeoutMs: e.DB_TIMEOUT_MS,
    maxPoolSize: e.MONGODB_MAX_POOL_SIZE,
    maxIdleTimeMs: e.MONGODB_MAX_IDLE_TIME_MS,
    isDeployed,
  })
}

/**
 * The database this instance uses. A Vercel preview gets the production variables unless
 * someone separates them, and would then write test users and sessions into production: on
 * the production database name a preview refuses to start, unless told it may.
 */
function databaseName(e: v.InferOutput<typeof Env>): string {
  const isPreview = e.VERCEL_ENV === 'preview'
  let name = e.MONGODB_DB
  if (isPreview && e.MONGODB_DB_PER_BRANCH) {
    if (!e.VERCEL_GIT_COMMIT_REF) {
      throw new ConfigError('Invalid configuration: MONGODB_DB_PER_BRANCH needs VERCEL_GIT_COMMIT_REF (set by Vercel for Git deployments)')
    }
    name = branchDatabase(e.MONGODB_DB, e.VERCEL_GIT_COMMIT_REF)
  }
  if (isPreview && name === e.PRODUCTION_MONGODB_DB && !e.ALLOW_PREVIEW_ON_PRODUCTION_DB) {
    throw new ConfigError(
      `Invalid configuration: MONGODB_DB is the production database (${name}) in a preview deployment; ` +
        'give previews their own MONGODB_DB, set MONGODB_DB_PER_BRANCH=true, or ALLOW_PREVIEW_ON_PRODUCTION_DB=true',
    )
  }
  return name
}

/**
 * `<base>_<branch>` as a database name: characters MongoDB refuses in a name become `_`, and a
 * long branch is cut with a hash of the whole name so two long branches never share a database
 * (Atlas allows 64 bytes; we keep to 63).
 */
export function branchDatabase(base: string, branch: string): string {
  const safe = branch.toLowerCase().replace(/[^a-z0-9_-]+/g, '_')
  const full = `${base}_${safe}`
  if (full.length <= 63) return full
  const hash = createHash('sha256').update(branch).digest('hex').slice(0, 8)
  return `${full.slice(0, 63 - 9)}_${hash}`
}

/** Several PEM keys in one variable: concatenated blocks (newlines may be written as \n). */
function splitPems(value: string): string[] {
  const text = value.replace(/\\n/g, '\n')
  return text.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? []
}

let cached: Config | undefined

/** The configuration, read on first use; throws ConfigError naming the bad variable. */
export function getConfig(): Config {
  cached ??= loadConfig(process.env)
  return cached
}

/** The log level is needed even when the rest of the configuration is broken. */
export function logLevel(): Config['logLevel'] {
  const level = process.env.LOG_LEVEL
  return level === 'debug' || level === 'warn' || level === 'error' || level === 'silent' ? level : 'info'
}
