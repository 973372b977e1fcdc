// MFA secrets at rest: TOTP secrets sealed with AES-256-GCM under MFA_ENCRYPTION_KEY, and the
// keyed hash of recovery codes. Never logs a key, a secret or a code, and never returns one in
// an error. A database dump without the key yields neither the TOTP secrets nor a way to test
// guesses of recovery codes offline.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { ConfigError, getConfig } from '../config.js'
import { notImplemented } from '../problem.js'

// Stored form: `v1.<iv>.<ciphertext><tag>` in base64url. The version names the scheme, so a
// later one (another key, another cipher) can be told apart from this one.
const VERSION = 'v1'
// NIST SP 800-38D 8.2: a 96-bit random IV per encryption; one key seals few secrets (one per
// enrolment), far below the 2^32 random-IV limit.
const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * The key, for starting something new (an enrolment): deployed without MFA_ENCRYPTION_KEY the
 * feature is not there (501), rather than storing secrets under a key everyone knows.
 */
export function enrolmentKey(): Buffer {
  const key = getConfig().mfaEncryptionKey
  if (!key) throw notImplemented('Multi-factor authentication is not configured on this deployment (MFA_ENCRYPTION_KEY)')
  return key
}

/** The key, for what was sealed before: missing then, the deployment is broken (500, the log says why). */
function existingKey(): Buffer {
  const key = getConfig().mfaEncryptionKey
  if (!key) throw new ConfigError('Invalid configuration: MFA_ENCRYPTION_KEY is not set, and users have MFA secrets sealed under it')
  return key
}

/**
 * Seals a secret for one user: the user's id is the additional authenticated data, so a sealed
 * secret copied onto another account does not open there.
 */
export function sealSecret(secret: Buffer, userId: string, key: Buffer = enrolmentKey()): string {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(Buffer.from(`totp:${userId}`))
  const body = Buffer.concat([cipher.update(secret), cipher.final(), cipher.getAuthTag()])
  return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`
}

/** Opens a sealed secret of this user; throws (a 500 for the client) when it was tampered with or the key is wrong. */
export function openSecret(sealed: string, userId: string): Buffer {
  const [version, iv, body] = sealed.split('.')
  if (version !== VERSION || !iv || !body) throw new Error('unknown sealed secret format')
  const data = Buffer.from(body, 'base64url')
  const decipher = createDecipheriv('aes-256-gcm', existingKey(), Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES })
  decipher.setAAD(Buffer.from(`totp:${userId}`))
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES))
  return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()])
}

let hashKeyFor: Buffer | undefined
let hashKey: Buffer | undefined

/**
 * The recovery-code hash: HMAC-SHA-256 under a key derived from MFA_ENCRYPTION_KEY (HKDF, its
 * own label). A fast hash is enough: each code carries 80 random bits, so no dictionary or
 * brute force applies (a slow hash protects low-entropy passwords); the key means a stolen
 * database alone cannot even test a guess.
 */
export function hashRecoveryCode(normalized: string, userId: string): string {
  const key = existingKey()
  if (hashKeyFor !== key) {
    hashKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'recovery-code-hash', 32))
    hashKeyFor = key
  }
  return createHmac('sha256', hashKey!).update(`${userId}:${normalized}`).digest('base64url')
}
