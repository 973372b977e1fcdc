// Access tokens (JWT, on jose). Signs with the first configured key, verifies with any of them
// by `kid`, so keys rotate without logging anyone out. Verification pins algorithm, issuer,
// audience and token type, requires exp/sub/sid, and never fetches a key named by a token.
import { createHash, createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto'
import { SignJWT, jwtVerify, decodeProtectedHeader, exportJWK, importJWK, importPKCS8, calculateJwkThumbprint, type JWK, type JWTPayload } from 'jose'
import { now, nowMs } from './clock.js'
import { getConfig, type Config } from './config.js'
import { unauthorized } from './problem.js'
import type { Role } from './schemas.js'

/** Authentication assurance (NIST SP 800-63B): aal2 once a second factor was proven. */
export type Aal = 'aal1' | 'aal2'
/** Authentication methods (RFC 8176): `pwd` a password, `otp` a one-time code (TOTP or recovery code). */
export type Amr = 'pwd' | 'otp'

/** How a session was authenticated; sessions started before MFA existed read as password only. */
export interface Assurance {
  amr: Amr[]
  aal: Aal
}

export const PASSWORD_ONLY: Assurance = Object.freeze({ amr: ['pwd'], aal: 'aal1' }) as Assurance

export interface AccessClaims extends Assurance {
  sub: string
  preferred_username: string
  role: Role
  sid: string
}

export interface SigningKey {
  kid: string
  alg: 'HS256' | 'EdDSA' | 'ES256'
  sign: CryptoKey
  verify: CryptoKey
  publicJwk?: JWK
}

// RFC 9068: a distinct `typ` keeps another kind of JWT signed with the same key from passing
// as an access token.
const TOKEN_TYPE = 'at+jwt'
// A little tolerance for clocks of different function instances.
const CLOCK_SKEW_SECONDS = 30
// RFC 7515 4.1.2-4.1.6: these headers would let a token name its own key; we never honour them.
const FORBIDDEN_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'] as const

let keysFor: Config | undefined
let keys: Promise<SigningKey[]> | undefined

type VerifiedClaims = AccessClaims & JWTPayload
// Tokens that passed every check, by the SHA-256 of the token. A client sends the same token on
// every request of its lifetime, and checking the same bytes against the same keys again would
// give the same answer except for time, so `exp` (and `nbf`) are checked again on every hit with
// jose's rule and tolerance; revocation is not decided here (the session read does that, every
// request). Only a token that verified can enter, so nothing a client makes up is ever trusted
// from here; a hash is kept, never the token; bounded, oldest out first; emptied with new keys.
const VERIFIED_MAX = 10_000
let verified = new Map<string, VerifiedClaims>()

async function loadKeys(config: Config): Promise<SigningKey[]> {
  if (config.jwtPrivateKeys.length > 0) {
    return Promise.all(
      config.jwtPrivateKeys.map(async ({ pem, kid }) => {
        const privateKey = createPrivateKey(pem)
        const alg = algorithmOf(privateKey)
        const jwk = await exportJWK(createPublicKey(privateKey))
        const id = kid ?? (await calculateJwkThumbprint(jwk))
        // Imported once as CryptoKeys: jose would otherwise convert the key on every call.
        const [sign, verify] = await Promise.all([importPKCS8(pem, alg), importJWK(jwk, alg) as Promise<CryptoKey>])
        return { kid: id, alg, sign, verify, publicJwk: { ...jwk, kid: id, alg, use: 'sig' } }
      }),
    )
  }
  // HS256 keys get a kid derived from the secret (not revealing it) so the previous secret can
  // be found without trying every key.
  return Promise.all(
    config.jwtSecrets.map(async (secret) => {
      const kid = 'hs-' + createHash('sha256').update(secret).digest('base64url').slice(0, 12)
      // A CryptoKey imported once verifies about three times faster than raw bytes.
      const key = await crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
      return { kid, alg: 'HS256' as const, sign: key, verify: key }
    }),
  )
}

function algorithmOf(key: KeyObject): SigningKey['alg'] {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
  throw new Error('JWT_PRIVATE_KEY must be an Ed25519 or P-256 (ES256) private key in PKCS#8 PEM')
}

/** The configured keys, the signing one first (also for the MFA step's token, lib/mfa/token.ts). */
export function signingKeys(): Promise<SigningKey[]> {
  const config = getConfig()
  if (keysFor !== config || !keys) {
    keysFor = config
    keys = loadKeys(config)
    verified = new Map()
  }
  return keys
}

/** Signs an access token; without amr/aal, a password-only one. */
export async function signAccessToken(claims: Omit<AccessClaims, keyof Assurance> & Partial<Assurance>): Promise<{ token: string; expiresIn: number }> {
  const config = getConfig()
  const [key] = await signingKeys()
  if (!key) throw new Error('no signing key configured')
  const issuedAt = Math.floor(nowMs() / 1000)
  const token = await new SignJWT({ preferred_username: claims.preferred_username, role: claims.role, sid: claims.sid, amr: claims.amr ?? PASSWORD_ONLY.amr, aal: claims.aal ?? PASSWORD_ONLY.aal })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: TOKEN_TYPE })
    .setIssuer(config.jwtIssuer)
    .setAudience(config.jwtAudience)
    .setSubject(claims.sub)
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + config.accessTtlSeconds)
    .sign(key.sign)
  return { token, expiresIn: config.accessTtlSeconds }
}

/** True while a remembered token is inside its `nbf`..`exp` window (jose's comparison, same tolerance). */
function isCurrent(claims: JWTPayload): boolean {
  const seconds = Math.floor(nowMs() / 1000)
  if (claims.nbf !== undefined && claims.nbf > seconds + CLOCK_SKEW_SECONDS) return false
  return claims.exp !== undefined && claims.exp > seconds - CLOCK_SKEW_SECONDS
}

/** The verified claims of an access token, or a 401 Problem. */
export async function verifyAccessToken(token: string): Promise<VerifiedClaims> {
  const all = await signingKeys()
  const digest = createHash('sha256').update(token).digest('base64url')
  const known = verified.get(digest)
  if (known) {
    if (isCurrent(known)) return known
    verified.delete(digest)
  }
  const claims = await checkAccessToken(token, all)
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!)
  verified.set(digest, claims)
  return claims
}

async function checkAccessToken(token: string, all: SigningKey[]): Promise<VerifiedClaims> {
  const config = getConfig()
  let header
  try {
    header = decodeProtectedHeader(token)
  } catch {
    throw unauthorized('The access token is malformed')
  }
  if (FORBIDDEN_HEADERS.some((h) => h in header)) throw unauthorized('The access token is not acceptable')
  const key = all.find((k) => k.kid === header.kid)
  if (!key) throw unauthorized('The access token is not acceptable')
  try {
    const { payload } = await jwtVerify(token, key.verify, {
      algorithms: [key.alg],
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      typ: TOKEN_TYPE,
      requiredClaims: ['exp', 'iat', 'sub', 'sid'],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: now(),
    })
    const { sub, sid, role, preferred_username } = payload
    if (typeof sub !== 'string' || typeof sid !== 'string' || (role !== 'admin' && role !== 'user') || typeof preferred_username !== 'string') {
      throw unauthorized('The access token is not acceptable')
    }
    return Object.freeze({ ...payload, sub, sid, role, preferred_username, ...assuranceOf(payload) })
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_JWT_EXPIRED') throw unauthorized('The access token has expired')
    throw unauthorized('The access token is not acceptable')
  }
}

/** The amr and aal of a verified payload; a token signed before they existed is password-only. */
function assuranceOf(payload: JWTPayload): Assurance {
  const { amr, aal } = payload
  if (aal === undefined && amr === undefined) return PASSWORD_ONLY
  const methods = Array.isArray(amr) ? amr : []
  if ((aal !== 'aal1' && aal !== 'aal2') || methods.length === 0 || !methods.every((m) => m === 'pwd' || m === 'otp')) {
    throw unauthorized('The access token is not acceptable')
  }
  return { amr: methods as Amr[], aal }
}

/** The public keys for /.well-known/jwks.json (empty with HS256: a shared secret is never published). */
export async function publicJwks(): Promise<{ keys: JWK[] }> {
  const all = await signingKeys()
  return { keys: all.flatMap((k) => (k.publicJwk ? [k.publicJwk] : [])) }
}
