// Who is calling, and may they do this: bearer authentication (401) and the role checks (403)
// every protected route starts with. Roles come from the token's claims, and are checked
// against the stored user in the same round trip that proves the session is live. Takes the
// Authorization header's value, not the request: the HTTP layer (lib/http/caller.ts) reads it.
import { forbidden, unauthorized } from './problem.js'
import { loadCaller, type Caller } from './sessions.js'
import { verifyAccessToken } from './tokens.js'
import { getConfig } from './config.js'
import { mfaRequired } from './problem.js'

export type { Caller } from './sessions.js'

// RFC 6750 2.1: `Bearer` then the token (b64token characters).
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i

/** The bearer token of an Authorization header; 401 when absent or malformed. */
export function bearerToken(authorization: string | undefined): string {
  // RFC 6750 3.1: a request without any credentials gets no error code.
  if (!authorization) throw unauthorized('Authentication is required', false)
  const match = BEARER.exec(authorization.trim())
  if (!match) throw unauthorized('The Authorization header must be "Bearer <token>"')
  return match[1]!
}

/** The caller an Authorization header proves, with a live session (401 otherwise). */
export async function authenticate(authorization: string | undefined): Promise<Caller> {
  const claims = await verifyAccessToken(bearerToken(authorization))
  return loadCaller(claims)
}

export interface CallerOptions {
  /**
   * The route serves a caller whose role needs a second factor (MFA_REQUIRED_ROLES) before they
   * have proven one: GET /users/me, logout and the enrolment routes (contract).
   */
  beforeSecondFactor?: boolean
}

/** 403 `mfa_required` for an aal1 caller whose role needs aal2 (MFA_REQUIRED_ROLES), unless the route serves them. */
export function assertAssurance(caller: Caller, options: CallerOptions = {}): void {
  if (options.beforeSecondFactor || caller.assurance.aal === 'aal2') return
  if (getConfig().mfaRequiredRoles.includes(caller.user.role)) {
    throw mfaRequired('Your role requires a second factor: enroll TOTP (POST /api/auth/mfa/totp), then log in again with it')
  }
}

export const isAdmin = (caller: Caller) => caller.user.role === 'admin'

/** 403 unless the caller is an admin. */
export function assertAdmin(caller: Caller): void {
  if (!isAdmin(caller)) throw forbidden('This needs the admin role')
}

/** An admin may act on anyone; a user only on themself (403 otherwise, before any lookup). */
export function authorizeSelfOrAdmin(caller: Caller, username: string): void {
  if (!isAdmin(caller) && caller.user.username !== username) throw forbidden('You may act only on your own account')
}
