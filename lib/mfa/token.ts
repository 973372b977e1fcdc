// The mfa_token: what a correct password earns an account with a second factor, instead of a
// token pair. A JWT signed with the access tokens' keys but of its own type and audience, so it
// passes nowhere else (an access token is not an mfa_token, and the reverse); five minutes;
// bound to the user and the credential version the password was checked under, so a password
// change, disabling or MFA removal in between kills it. Never logged.
import { randomUUID } from 'node:crypto'
import { SignJWT, decodeProtectedHeader, jwtVerify } from 'jose'
import { getConfig } from '../config.js'
import { invalidGrant } from '../problem.js'
import { signingKeys } from '../tokens.js'
import { now, nowMs } from '../clock.js'

const TOKEN_TYPE = 'mfa+jwt'
export const MFA_TOKEN_TTL_SECONDS = 5 * 60
const CLOCK_SKEW_SECONDS = 30

export interface MfaTokenClaims {
  /** The user's id. */
  sub: string
  /** The credential version the password was checked under. */
  cv: number
  /** Names this token's own attempt counter, and the row that spends it. */
  jti: string
  /** When it expires (seconds since the epoch): its spent row lives as long. */
  exp: number
}

// Its own audience as well as its own `typ`: a verifier that checks only one of them still
// refuses the other kind of token.
const audience = () => `${getConfig().jwtAudience}#mfa`

export const invalidMfaToken = (detail = 'The mfa_token is not valid; log in again') => invalidGrant(detail)

export async function signMfaToken(userId: string, credVersion: number): Promise<string> {
  const [key] = await signingKeys()
  if (!key) throw new Error('no signing key configured')
  const issuedAt = Math.floor(nowMs() / 1000)
  return new SignJWT({ cv: credVersion })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: TOKEN_TYPE })
    .setIssuer(getConfig().jwtIssuer)
    .setAudience(audience())
    .setSubject(userId)
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + MFA_TOKEN_TTL_SECONDS)
    .sign(key.sign)
}

/** The claims of a valid mfa_token; 400 `invalid_grant` for anything else (expired, forged, another kind of token). */
export async function verifyMfaToken(token: string): Promise<MfaTokenClaims> {
  let kid: string | undefined
  try {
    kid = decodeProtectedHeader(token).kid
  } catch {
    throw invalidMfaToken()
  }
  const key = (await signingKeys()).find((k) => k.kid === kid)
  if (!key) throw invalidMfaToken()
  try {
    const { payload } = await jwtVerify(token, key.verify, {
      algorithms: [key.alg],
      issuer: getConfig().jwtIssuer,
      audience: audience(),
      typ: TOKEN_TYPE,
      requiredClaims: ['exp', 'iat', 'sub', 'jti', 'cv'],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: now(),
    })
    const { sub, cv, jti, exp } = payload
    if (typeof sub !== 'string' || !/^[0-9a-f]{24}$/.test(sub) || typeof cv !== 'number' || typeof jti !== 'string' || typeof exp !== 'number') throw invalidMfaToken()
    return { sub, cv, jti, exp }
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_JWT_EXPIRED') throw invalidMfaToken('The mfa_token has expired; log in again')
    throw invalidMfaToken()
  }
}
