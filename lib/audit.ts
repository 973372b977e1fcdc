// The audit trail: every event that matters (logins, refresh reuse, logouts, ended sessions,
// password, role and account changes) stored with who, what, when, request id and address,
// kept 90 days by a TTL index, and read by admins. Never stores a secret: events carry names
// and ids only. A failed audit write is logged, never turned into a failed request.
import type { Filter } from 'mongodb'
import { collections, objectId, type AuditDoc } from './db.js'
import { describeError, log } from './log.js'
import { badRequest } from './problem.js'
import type { AuditView } from './schemas.js'
import { now } from './clock.js'

const RETENTION_MS = 90 * 24 * 3600 * 1000

// Every event name the service records, in one closed list, so a misspelt name fails the type
// check instead of silently missing the trail. These go to the trail as well as the log line.
const AUDITED_EVENTS = [
  'login.success',
  'login.failure',
  'login.throttled',
  'login.disabled',
  'token.reuse',
  'logout',
  'session.ended',
  'sessions.ended',
  'password.changed',
  // A stored hash replaced by a stronger one for the same password (a higher bcrypt cost, or
  // bcrypt in place of an imported argon2 hash): no credential change, but worth a trace.
  'password.rehashed',
  'password.reset',
  'password.reset_requested',
  'role.changed',
  'user.created',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'user.email_changed',
  // Email verification (lib/email-verification.ts): a link mailed (sign-up, email change, asked
  // for), an address proven by its link, and a self-service change completed by it.
  'email.verification_requested',
  'email.verified',
  'email.changed',
  // A correct password that still needs a second factor (lib/mfa/verify.ts): no tokens yet.
  'login.mfa_required',
  'mfa.enrolled',
  'mfa.activated',
  'mfa.verified',
  'mfa.failed',
  'mfa.recovery_code_used',
  'mfa.recovery_codes_renewed',
  'mfa.removed',
  'mfa.admin_reset',
] as const

// Routine events: named in the log line only.
const LOG_ONLY_EVENTS = ['token.refresh', 'token.refresh_grace'] as const

export type EventName = (typeof AUDITED_EVENTS)[number] | (typeof LOG_ONLY_EVENTS)[number]

const AUDITED: ReadonlySet<EventName> = new Set(AUDITED_EVENTS)

/** One thing that happened in a request, as a domain module reports it and the trail stores it. */
export interface AuditEvent {
  event: EventName
  /** The user acted on, when it is not the caller. */
  target?: { id?: string; username: string }
  detail?: Record<string, unknown>
}

/**
 * What a domain operation reports besides its result: who it proved is acting (a password, a
 * refresh or reset token), when the request's caller did not say, and what happened, in order.
 * The handler hands it to the request wrapper, which logs and audits it (lib/http).
 */
export interface Outcome {
  actor?: { id: string; username: string }
  events: AuditEvent[]
}

/**
 * What the trail needs of a request: who, from where, under which request id, and what
 * happened. Declared here rather than taken from the request wrapper, so this module stays
 * below the HTTP layer (docs/ARCHITECTURE.md).
 */
export interface AuditContext {
  requestId: string
  ip: string
  userId?: string
  username?: string
  events: AuditEvent[]
}

export async function writeAudit(ctx: AuditContext): Promise<void> {
  const events = ctx.events.filter((e) => AUDITED.has(e.event))
  if (events.length === 0) return
  const at = now()
  const docs: AuditDoc[] = events.map((e) => ({
    event: e.event,
    at,
    actor_id: ctx.userId,
    actor: ctx.username,
    user_id: e.target ? e.target.id : ctx.userId,
    user: e.target?.username ?? ctx.username,
    request_id: ctx.requestId,
    ip: ctx.ip,
    ...(e.detail && { detail: e.detail }),
    expires_at: new Date(at.getTime() + RETENTION_MS),
  }))
  try {
    const { audit } = await collections()
    await audit.insertMany(docs, { ordered: false })
  } catch (err) {
    log('error', 'audit.write_failed', { request_id: ctx.requestId, events: events.map((e) => e.event), ...describeError(err) })
  }
}

export interface AuditQuery {
  limit: number
  cursor?: string
  user?: string
  event?: string
}

/** Newest first, keyset pages on _id. */
export async function listAudit(q: AuditQuery): Promise<{ items: AuditView[]; next_cursor: string | null }> {
  const { audit } = await collections()
  const filter: Filter<AuditDoc> = {}
  if (q.user) filter.$or = [{ user: q.user }, { actor: q.user }]
  if (q.event) filter.event = q.event
  if (q.cursor) {
    if (!/^[0-9a-f]{24}$/.test(q.cursor)) throw badRequest('cursor: is not valid', [{ path: 'cursor', message: 'is not valid' }])
    filter._id = { $lt: objectId(q.cursor) }
  }
  const docs = await audit.find(filter).sort({ _id: -1 }).limit(q.limit + 1).toArray()
  const page = docs.slice(0, q.limit)
  return {
    items: page.map((d) => ({
      id: d._id!.toHexString(),
      event: d.event,
      at: d.at.toISOString(),
      actor: d.actor ?? null,
      user: d.user ?? null,
      request_id: d.request_id ?? null,
      ip: d.ip ?? null,
      ...(d.detail && { detail: d.detail }),
    })),
    next_cursor: docs.length > q.limit ? page[page.length - 1]!._id!.toHexString() : null,
  }
}
