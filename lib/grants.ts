// The grant types of the two token endpoints (RFC 6749): login serves `password` (4.3), refresh
// serves `refresh_token` (6). A request naming another grant is answered `unsupported_grant_type`
// (5.2), not `invalid_request`: the request is well formed, this server just does not serve
// that grant here. Checked before the other fields, whose rules belong to the served grant.
import { unsupportedGrantType } from './problem.js'

export type GrantType = 'password' | 'refresh_token'

/** 400 `unsupported_grant_type` when the body (JSON or form, as read) names a grant other than `served`. */
export function assertGrantType(body: unknown, served: GrantType): void {
  const value = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).grant_type : undefined
  // Absent, or not a string at all: the schema's to judge (`invalid_request`).
  if (typeof value !== 'string' || value === served) return
  throw unsupportedGrantType(served)
}
