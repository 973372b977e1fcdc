// Who is calling, and may they do this: bearer authentication (401) and the role checks (403)
// every protected route starts with. Roles come from the token's claims, and are checked
// against the stored user in the same round trip that proves the session is live.
import type { IncomingMessage } from 'node:http'
import { forbidden, unauthorized } from './problem.js'
import { loadCaller, type Caller } from './sessions.js'
import { verifyAccessToken } from './tokens.js'
import { getConfig } from './config.js'
import { stepUpRequired } from './mfa/verify.js'
import { setCaller } from './http.js'

export type { Caller } from './sessions.js'

// RFC 6750 2.1: `Bearer` then the token (b64token characters).
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i

/** The bearer token of the request; 401 when absent or malformed. */
export function bearerToken(req: IncomingMessage): string {
  const header = req.headers.authorization
  // RFC 6750 3.1: a request without any credentials gets no error code.
  if (!header) throw unauthorized('Authentication is required', false)
  const match = BEARER.exec(header.trim())
  if (!match) throw unauthorized('The Authorization header must be "Bearer <token>"')
  return match[1]!
}

export interface CallerOptions {
  /**
   * The route serves a caller whose role needs a second factor (MFA_REQUIRED_ROLES) before they
   * have proven one: GET /users/me, logout and the enrolment routes (contract).
   */
  beforeSecondFactor?: boolean
}

/** The authenticated caller (401 otherwise; 403 `mfa_required` for an aal1 caller whose role needs aal2). */
export async function requireUser(req: IncomingMessage, options: CallerOptions = {}): Promise<Caller> {
  const claims = await verifyAccessToken(bearerToken(req))
  const caller = await loadCaller(claims)
  setCaller(caller.user._id.toHexString(), caller.user.username)
  if (!options.beforeSecondFactor && caller.assurance.aal !== 'aal2' && getConfig().mfaRequiredRoles.includes(caller.user.role)) throw stepUpRequired()
  return caller
}

export const isAdmin = (caller: Caller) => caller.user.role === 'admin'

/** The caller, who must be an admin (401, then 403). */
export async function requireAdmin(req: IncomingMessage): Promise<Caller> {
  const caller = await requireUser(req)
  if (!isAdmin(caller)) throw forbidden('This needs the admin role')
  return caller
}

/** An admin may act on anyone; a user only on themself (403 otherwise, before any lookup). */
export function authorizeSelfOrAdmin(caller: Caller, username: string): void {
  if (!isAdmin(caller) && caller.user.username !== username) throw forbidden('You may act only on your own account')
}
