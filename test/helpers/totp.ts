// A second, independent TOTP for the tests, on node:crypto alone (RFC 4226 5.3, RFC 6238 4):
// what an authenticator app computes, so the service's codes are checked against something it
// does not share, and enrolment helpers built on it.
import { createHmac } from 'node:crypto'
import { expect } from 'vitest'
import { login, newUser, type Service, type Tokens } from './service.js'

export function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const ch of text.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0')
  return Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)))
}

/** RFC 4226 5.3: HMAC-SHA-1 of the 8-byte counter, dynamic truncation, modulo 10^digits. */
export function hotp(key: Buffer, counter: number, digits = 6): string {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac('sha1', key).update(msg).digest()
  const offset = mac[mac.length - 1]! & 0xf
  const bin = mac.readUInt32BE(offset) & 0x7fffffff
  return String(bin % 10 ** digits).padStart(digits, '0')
}

/** The code an authenticator app shows `offsetSeconds` from `nowMs` (30-second steps, 6 digits). */
export const codeAt = (secret: string, offsetSeconds = 0, nowMs = Date.now()) => hotp(base32Decode(secret), Math.floor((nowMs / 1000 + offsetSeconds) / 30))

export interface Enrolled {
  username: string
  password: string
  secret: string
  recovery: string[]
  /** The code the activation used (spent). */
  activationCode: string
  /** The session the user enrolled from (still aal1). */
  tokens: Tokens
}

/** A new user with active TOTP; the activation used the code of the current step (of `nowMs`, the service's time). */
export async function enrolledUser(on: Service, adminToken: string, nowMs: () => number = Date.now): Promise<Enrolled> {
  const u = await newUser(on, adminToken)
  const tokens = await login(on, u.username, u.password)
  const started = await on.call('POST', '/api/auth/mfa/totp', { token: tokens.access_token, json: { current_password: u.password } })
  expect(started.status).toBe(201)
  const { secret } = await started.json()
  const activationCode = codeAt(secret, 0, nowMs())
  const activated = await on.call('POST', '/api/auth/mfa/totp/activate', { token: tokens.access_token, json: { code: activationCode } })
  expect(activated.status).toBe(200)
  const { recovery_codes } = await activated.json()
  return { username: u.username, password: u.password, secret, recovery: recovery_codes, activationCode, tokens }
}

/** The password step of a TOTP user: the mfa_token of its 403. */
export async function mfaTokenOf(on: Service, u: { username: string; password: string }): Promise<string> {
  const res = await on.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password } })
  expect(res.status).toBe(403)
  return (await res.json()).mfa_token
}
