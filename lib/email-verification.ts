// Email verification: single-use links that prove a mailbox, mailed after a sign-up, a user's own
// email change and on request, and redeemed only by POST /api/auth/email/verify (a GET on a link,
// as mail scanners make, changes nothing). A user's own change leaves `email` as it is and parks
// the new address in `pending_email` until its link is confirmed, so a stolen session cannot
// move the account's recovery channel; the old address gets a notice. Tokens are stored only as
// SHA-256 hashes, expire after 24 hours through a TTL index, and are bound to the address they
// prove and to the user's email and credential versions at issue: a later email change (a
// second change included) or password change, by any route, kills them. Never logs a token or
// imports the HTTP layer: it returns the events to audit.
import type { IncomingMessage } from 'node:http'
import { waitUntil } from '@vercel/functions'
import type { AuditEvent, Outcome } from './audit.js'
import { getConfig } from './config.js'
import { credVersion, versionIs } from './credentials.js'
import { collections, type UserDoc } from './db.js'
import { now } from './clock.js'
import { hashLinkToken, linkBase, linkWithToken, newLinkToken } from './links.js'
import { assertMailConfigured, sendMail } from './mail.js'
import { emailChangeNotice, verifyMail } from './mail/messages.js'
import { badRequest, conflict, Problem } from './problem.js'
import { countVerifyRequest } from './throttle.js'

export const VERIFY_TTL_MS = 24 * 60 * 60 * 1000

/** The email version a user or link carries (absent: 0, like the credential version). */
export const emailVersion = (doc: { email_version?: number }): number => doc.email_version ?? 0

/**
 * Where verification links point, for a route about to mail one: VERIFY_URL_BASE, the only
 * source when deployed; 501 when deployed without it or without SMTP_URL (the link would go
 * nowhere, leaving the account unverifiable). Locally, `/verify-email` on the request's origin.
 */
export function verificationLinkBase(req: IncomingMessage): string {
  assertMailConfigured('Email verification is not configured: set SMTP_URL (and MAIL_FROM) and VERIFY_URL_BASE')
  return linkBase(req, { configured: getConfig().verifyUrlBase, variable: 'VERIFY_URL_BASE', what: 'Email verification', localPath: '/verify-email' })
}

/**
 * Where a sign-up's link points, or undefined in a deployment that sends no verification mail:
 * the account is still created, unverified (an address can be verified once mail is set up).
 * Only where REQUIRE_VERIFIED_EMAIL makes the link the way in does a sign-up answer 501.
 */
export function signupLinkBase(req: IncomingMessage): string | undefined {
  try {
    return verificationLinkBase(req)
  } catch (err) {
    if (getConfig().requireVerifiedEmail || !(err instanceof Problem) || err.status !== 501) throw err
    return undefined
  }
}

const target = (user: UserDoc) => ({ id: user._id.toHexString(), username: user.username })

type Reason = 'signup' | 'email_change' | 'requested'

/**
 * Stores a link for `address` bound to the user as given (read after any write that concerns
 * it) and mails it after the answer (kept alive on Vercel by waitUntil; sendMail never rejects).
 */
async function mailLink(user: UserDoc, address: string, base: string, reason: Reason): Promise<AuditEvent> {
  const { verifications } = await collections()
  const { token, hash } = newLinkToken()
  const at = now()
  const change = address !== user.email
  await verifications.insertOne({
    _id: hash,
    user_id: user._id,
    email: address,
    change,
    email_version: emailVersion(user),
    cred_version: credVersion(user),
    expires_at: new Date(at.getTime() + VERIFY_TTL_MS),
    created_at: at,
  })
  waitUntil(sendMail({ to: address, ...verifyMail(user.username, linkWithToken(base, token), change) }))
  return { event: 'email.verification_requested', target: target(user), detail: { reason } }
}

/** After a sign-up: the new account's address gets a link at once. */
export async function mailSignupLink(user: UserDoc, base: string): Promise<AuditEvent[]> {
  return [await mailLink(user, user.email, base, 'signup')]
}

/**
 * POST /api/auth/email/verify-request: a new link to the address awaiting verification, the
 * pending one if a change is waiting, else the account's own if unverified. Counted per account
 * before anything else (5 in 15 minutes, 429). With nothing to verify, 409: the caller learns
 * only about their own account, and no mail goes out.
 */
export async function requestVerification(user: UserDoc, base: string): Promise<AuditEvent[]> {
  await countVerifyRequest(user._id)
  const address = user.pending_email ?? (user.email_verified === true ? undefined : user.email)
  if (!address) throw conflict('The email address is already verified and no change is waiting for confirmation')
  return [await mailLink(user, address, base, 'requested')]
}

/**
 * Refuses (409) a change to an address another account has. A courtesy, so the user hears it
 * now rather than from the link: the unique index on email decides when the link is confirmed.
 */
export async function assertEmailFree(email: string): Promise<void> {
  const { users } = await collections()
  if ((await users.countDocuments({ email }, { limit: 1 })) > 0) throw conflict('That email is already taken')
}

export interface EmailChange {
  email?: string
  email_verified?: boolean
}

/**
 * The fields an email change writes (lib/users.ts writes them with the rest of the change). A
 * user's own change records the new address as pending, replacing any earlier one; asking for
 * the current address again withdraws a pending change. An admin's change to another user's
 * address is made at once, unverified unless the admin says otherwise. `email_verified` (admins
 * only, checked by the caller) otherwise sets the flag of the current address.
 */
export function planEmailChange(current: UserDoc, change: EmailChange, self: boolean): Partial<UserDoc> {
  const set: Partial<UserDoc> = {}
  const newAddress = change.email !== undefined && change.email !== current.email
  if (newAddress && self) set.pending_email = change.email
  else if (newAddress) {
    set.email = change.email
    set.email_verified = change.email_verified ?? false
    if (current.pending_email) set.pending_email = null
  } else if (change.email !== undefined && self && current.pending_email) set.pending_email = null
  if (set.email === undefined && change.email_verified !== undefined && change.email_verified !== (current.email_verified === true)) {
    set.email_verified = change.email_verified
  }
  return set
}

/** Whether written fields change the address or the pending one: links issued before die. */
export const movesEmail = (set: Partial<UserDoc>) => set.email !== undefined || set.pending_email !== undefined

/**
 * After a user's own change was written (`user` as it is now): the link to the new address, and
 * the notice to the one the account keeps until then.
 */
export async function mailEmailChange(user: UserDoc, base: string): Promise<AuditEvent[]> {
  if (!user.pending_email) return []
  const event = await mailLink(user, user.pending_email, base, 'email_change')
  waitUntil(sendMail({ to: user.email, ...emailChangeNotice(user.username, user.pending_email) }))
  return [event]
}

const invalidToken = () =>
  badRequest('token: is invalid, expired or already used', [{ path: 'token', message: 'is invalid, expired or already used' }])

/**
 * Redeems a token: consumes it atomically (of two concurrent confirms one wins), then, in one
 * conditional update, marks the address verified, or makes the pending address the account's,
 * only if the account is enabled and still on the email and credential versions the link was
 * issued under. 409 when a pending address was taken by another account meanwhile (the unique
 * index decides). Not throttled: a 256-bit token cannot be guessed.
 */
export async function confirmVerification(token: string): Promise<Outcome> {
  const { verifications, users } = await collections()
  const link = await verifications.findOneAndDelete({ _id: hashLinkToken(token), expires_at: { $gt: now() } })
  if (!link) throw invalidToken()
  const current = { _id: link.user_id, disabled: false, cred_version: versionIs(link.cred_version), email_version: versionIs(link.email_version) }
  const at = now()
  const user = link.change
    ? await users.findOneAndUpdate(
        { ...current, pending_email: link.email },
        { $set: { email: link.email, email_verified: true, pending_email: null, updated_at: at }, $inc: { email_version: 1 } },
        { returnDocument: 'after' },
      )
    : await users.findOneAndUpdate({ ...current, email: link.email }, { $set: { email_verified: true, updated_at: at } }, { returnDocument: 'after' })
  if (!user) throw invalidToken()
  const events: AuditEvent[] = [{ event: 'email.verified', detail: { via: 'link' } }]
  if (link.change) events.push({ event: 'email.changed' })
  // The holder of the token proved control of the mailbox: the trail names the account.
  return { actor: target(user), events }
}
