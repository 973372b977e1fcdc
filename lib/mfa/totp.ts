// TOTP (RFC 6238) as the contract fixes it: SHA-1, 6 digits, 30-second steps, one step either
// side accepted (clock drift), and only a step later than the last one accepted (replay). The
// codes come from the `otpauth` library, loaded on first use, so functions that never check a
// code (most of them) do not load it at cold start. Never logs a secret or a code.
import { randomBytes, timingSafeEqual } from 'node:crypto'

export const STEP_SECONDS = 30
export const DIGITS = 6
/** Steps accepted either side of now (RFC 6238 5.2 recommends at most one for network delay). */
const WINDOW = 1
// RFC 4226 4 (R6): at least 128 bits, 160 recommended: the length of an HMAC-SHA-1 key.
const SECRET_BYTES = 20

type Otpauth = typeof import('otpauth')
let loading: Promise<Otpauth> | undefined
// A literal specifier, so Vercel's file tracer ships the library with the functions that use it.
const otpauth = (): Promise<Otpauth> => (loading ??= import('otpauth'))

/** The time step a moment falls in (RFC 6238 4.2: T = floor((now - T0) / X), T0 = 0). */
export const stepAt = (timestampMs: number): number => Math.floor(timestampMs / 1000 / STEP_SECONDS)

/** A fresh random secret. */
export const newTotpSecret = (): Buffer => randomBytes(SECRET_BYTES)

/** The code of a secret at a moment, as the service computes it (`digits` other than 6 for the RFC's test vectors). */
export async function totpCode(secret: Uint8Array, timestampMs: number, digits = DIGITS): Promise<string> {
  return codeAtStep(await otpauth(), secret, stepAt(timestampMs), digits)
}

function codeAtStep(lib: Otpauth, secret: Uint8Array, step: number, digits = DIGITS): string {
  return lib.HOTP.generate({ secret: new lib.Secret({ buffer: Uint8Array.from(secret).buffer }), algorithm: 'SHA1', digits, counter: step })
}

/**
 * The step whose code `code` is, among now and one step either side, and later than `after`
 * (the last step accepted for this secret); undefined when none. Every candidate is compared,
 * in constant time, so the time taken says nothing about which one matched.
 */
export async function matchStep(secret: Uint8Array, code: string, nowMs: number, after?: number): Promise<number | undefined> {
  const lib = await otpauth()
  const now = stepAt(nowMs)
  const given = Buffer.from(code.padEnd(DIGITS, ' ').slice(0, DIGITS))
  let matched: number | undefined
  for (let step = now + WINDOW; step >= now - WINDOW; step--) {
    const same = timingSafeEqual(given, Buffer.from(codeAtStep(lib, secret, step))) && code.length === DIGITS
    if (same && matched === undefined && (after === undefined || step > after)) matched = step
  }
  return matched
}

/** The base32 form of a secret (what a user types into an app) and its `otpauth://` URI (Key Uri Format). */
export async function enrolmentUri(secret: Uint8Array, account: string, issuer: string): Promise<{ base32: string; uri: string }> {
  const lib = await otpauth()
  const totp = new lib.TOTP({
    issuer,
    label: account,
    secret: new lib.Secret({ buffer: Uint8Array.from(secret).buffer }),
    algorithm: 'SHA1',
    digits: DIGITS,
    period: STEP_SECONDS,
  })
  return { base32: totp.secret.base32, uri: totp.toString() }
}
