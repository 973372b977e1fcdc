// What handlers tell the request context: who the caller is (proved by a bearer token, a
// password or a reset token) and what happened, as the domain modules return it. The log line
// and the audit trail read both when the request ends (route.ts).
import type { IncomingMessage } from 'node:http'
import type { AuditEvent, EventName, Outcome } from '../audit.js'
import { authenticate, assertAdmin, type Caller } from '../auth.js'
import { currentRequest } from '../context.js'
import type { ClientMeta } from '../sessions.js'

export { currentRequest }

/** Names who acts in this request, for the log line and as the actor of its audited events. */
export function setCaller(userId: string, username: string): void {
  const ctx = currentRequest()
  if (ctx) {
    ctx.userId = userId
    ctx.username = username
  }
}

/** Records one thing that happened (`logout`, `user.deleted`, ...) for the log line and the trail. */
export function recordEvent(event: EventName, extra: Omit<AuditEvent, 'event'> = {}): void {
  currentRequest()?.events.push({ event, ...extra })
}

/** Records what a domain operation returned: the events, in its order, and the actor it proved. */
export function record(outcome: Outcome | readonly AuditEvent[]): void {
  const { events, actor } = Array.isArray(outcome) ? { events: outcome as readonly AuditEvent[], actor: undefined } : (outcome as Outcome)
  if (actor) setCaller(actor.id, actor.username)
  for (const e of events) currentRequest()?.events.push(e)
}

/** The client's address and agent, as the request context read them. */
export function clientMeta(): ClientMeta {
  const ctx = currentRequest()
  return { ip: ctx?.ip ?? 'unknown', userAgent: ctx?.userAgent ?? '' }
}

/** The authenticated caller (401 otherwise), named in the log line and the trail. */
export async function requireUser(req: IncomingMessage): Promise<Caller> {
  const caller = await authenticate(req.headers.authorization)
  setCaller(caller.user._id.toHexString(), caller.user.username)
  return caller
}

/** The caller, who must be an admin (401, then 403). */
export async function requireAdmin(req: IncomingMessage): Promise<Caller> {
  const caller = await requireUser(req)
  assertAdmin(caller)
  return caller
}
