// What handlers tell the request context: who the caller is (proved by a bearer token, a
// password or a reset token) and what happened, as the domain modules return it. The log line
// and the audit trail read both when the request ends (route.ts).
import type { IncomingMessage } from 'node:http'
import type { AuditEvent, Outcome } from '../audit.js'
import { authenticate, assertAdmin, assertAssurance, type Caller, type CallerOptions } from '../auth.js'
import { currentRequest } from '../context.js'
import type { UserDoc } from '../db.js'
import { normalizeUsername } from '../schemas.js'
import type { ClientMeta } from '../sessions.js'
import { requireUserNamed } from '../users.js'
import { param } from './body.js'

export { currentRequest }

/** Names who acts in this request, for the log line and as the actor of its audited events. */
export function setCaller(userId: string, username: string): void {
  const ctx = currentRequest()
  if (ctx) {
    ctx.userId = userId
    ctx.username = username
  }
}

/** Records what a domain operation returned: the events, in its order, and the actor it proved. */
export function record(what: Outcome | readonly AuditEvent[]): void {
  const { events, actor }: Outcome = 'events' in what ? what : { events: [...what] }
  if (actor) setCaller(actor.id, actor.username)
  currentRequest()?.events.push(...events)
}

/** The client's address and agent, as the request context read them. */
export function clientMeta(): ClientMeta {
  const ctx = currentRequest()
  return { ip: ctx?.ip ?? 'unknown', userAgent: ctx?.userAgent ?? '' }
}

/**
 * The authenticated caller (401 otherwise), named in the log line and the trail; 403
 * `mfa_required` when their role needs a second factor they have not proven (MFA_REQUIRED_ROLES).
 */
export async function requireUser(req: IncomingMessage, options: CallerOptions = {}): Promise<Caller> {
  const caller = await authenticate(req.headers.authorization)
  setCaller(caller.user._id.toHexString(), caller.user.username)
  assertAssurance(caller, options)
  return caller
}

/** The caller, who must be an admin (401, then 403). */
export async function requireAdmin(req: IncomingMessage): Promise<Caller> {
  const caller = await requireUser(req)
  assertAdmin(caller)
  return caller
}

/** An admin acting on the user the path names (`/api/users/{username}/...`): 401, 403, then 404. */
export async function requireAdminOnUser(req: IncomingMessage): Promise<{ caller: Caller; user: UserDoc }> {
  const caller = await requireAdmin(req)
  const user = await requireUserNamed(normalizeUsername(param(req, 'username') ?? ''))
  return { caller, user }
}
