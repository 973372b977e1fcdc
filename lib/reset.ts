// Password reset: issuing single-use reset tokens (by mail, or as a link handed to an admin),
// and redeeming them. A request does the same database work (the same commands, documents of the
// same shape) whether or not the account exists, so neither its answer nor its timing can be used
// to enumerate accounts. A link is bound to the address it was issued for and the account's
// credential version then: a changed email or password, by any route, kills it. Deployed, links
// are built only from RESET_URL_BASE, never from the request. Tokens are stored only as SHA-256
// hashes (like refresh tokens: 256 random bits need no slow hash) and are never logged, except
// in the local runner's stand-in outbox (lib/mail.ts).
import type { IncomingMessage } from 'node:http'
import { waitUntil } from '@vercel/functions'
import { getConfig } from './config.js'
import { credVersion, NEXT_VERSION, versionIs } from './credentials.js'
import { collections, objectId, type ResetDoc, type UserDoc } from './db.js'
import type { AuditEvent } from './audit.js'
import { sendMail } from './mail.js'
import { resetMail } from './mail/messages.js'
import { hashLinkToken, linkBase, linkWithToken, newLinkToken } from './links.js'
import { hashPassword } from './passwords.js'
import { passwordProblems } from './password-policy.js'
import { badRequest, conflict } from './problem.js'
import { endSessions } from './sessions.js'
import { accountKey, assertResetLimits, clearLoginAttempts, countResetAccount, countResetAddress, identifierKey } from './throttle.js'
import { findUserForLogin, normalizeLogin } from './users.js'
import { now } from './clock.js'

// OWASP Forgot Password cheat sheet: short-lived, single-use.
export const RESET_TTL_MS = 30 * 60 * 1000

/** The constant body of every accepted request. */
export const RESET_ACCEPTED = Object.freeze({ status: 'accepted', detail: 'If the account exists, a reset link has been sent' } as const)

export interface ResetRequestMeta {
  ip: string
  /** Where links point (resetLinkBase): the token is added as `?token=`. */
  linkBase: string
}

/**
 * Where reset links point: RESET_URL_BASE, the only source when deployed (501 without it); locally
 * the request's origin (`/reset-password`) is fine (lib/links.ts).
 */
export function resetLinkBase(req: IncomingMessage): string {
  return linkBase(req, { configured: getConfig().resetUrlBase, variable: 'RESET_URL_BASE', what: 'Password reset', localPath: '/reset-password' })
}

/** A link's document: bound to the account's email and credential version at issue. */
function resetDoc(hash: string, user: Pick<UserDoc, '_id' | 'email' | 'cred_version'>, now: Date): ResetDoc {
  return { _id: hash, user_id: user._id, email: user.email, cred_version: credVersion(user), expires_at: new Date(now.getTime() + RESET_TTL_MS), created_at: now }
}

/** Whether a link still belongs to the account as it is now. */
const isLinkCurrent = (link: ResetDoc, user: UserDoc) =>
  !user.disabled && link.email !== undefined && link.email === user.email && link.cred_version === credVersion(user)

/**
 * Self-service request: when the account exists and is enabled, stores a token and mails the
 * link after the answer. Either way the same commands with documents of the same shape: the
 * account lookup beside the address's count, the count of the account (or of the unknown
 * identifier), then one insert into password_resets; for nobody's account that document names
 * a fresh id no user has, which confirm can never redeem. Returns the events to audit (none for
 * an account that gets no mail).
 */
export async function requestReset(who: { email?: string; username?: string }, meta: ResetRequestMeta): Promise<AuditEvent[]> {
  const identity = normalizeLogin(who.email ?? who.username ?? '')
  const [user, perAddress] = await Promise.all([findUserForLogin(identity), countResetAddress(meta.ip)])
  // Per account whatever the spelling (contract), per normalised identifier when there is none.
  const perAccount = await countResetAccount(user ? accountKey('reset', user._id) : identifierKey('reset', identity))
  assertResetLimits(perAddress, perAccount)

  const eligible = user && !user.disabled ? user : undefined
  const { resets } = await collections()
  const { token, hash } = newLinkToken()
  await resets.insertOne(resetDoc(hash, eligible ?? { _id: objectId(), email: identity, cred_version: 0 }, now()))
  if (!eligible) return []

  const link = linkWithToken(meta.linkBase, token)
  // After the answer (kept alive on Vercel by waitUntil): the SMTP round trips would otherwise
  // show, in the response time, which accounts exist. sendMail never rejects.
  waitUntil(
    sendMail({ to: eligible.email, ...resetMail(eligible.username, link) }),
  )
  return [{ event: 'password.reset_requested', target: { id: eligible._id.toHexString(), username: eligible.username }, detail: { via: 'mail' } }]
}

/** Admin route: a link to hand to the user where the deployment sends no mail, and the event to audit. */
export async function issueResetLink(user: UserDoc, linkBase: string): Promise<{ link: { reset_url: string; expires_at: string }; events: AuditEvent[] }> {
  // confirmReset refuses disabled accounts; a link that cannot work is not handed out.
  if (user.disabled) throw conflict('The account is disabled; enable it before issuing a reset link')
  const { resets } = await collections()
  const { token, hash } = newLinkToken()
  const doc = resetDoc(hash, user, now())
  await resets.insertOne(doc)
  return {
    link: { reset_url: linkWithToken(linkBase, token), expires_at: doc.expires_at.toISOString() },
    events: [{ event: 'password.reset_requested', target: { id: user._id.toHexString(), username: user.username }, detail: { via: 'admin' } }],
  }
}

const invalidToken = () =>
  badRequest('token: is invalid, expired or already used', [{ path: 'token', message: 'is invalid, expired or already used' }])

/**
 * Redeems a token: checks the new password against the policy first (a refusal keeps the token),
 * consumes the token atomically (of two concurrent confirms one wins), then sets the password
 * only if the account still has the email and credential version the link was issued under (one
 * conditional update, so a change that lands meanwhile still kills the link), and ends every
 * session, since whoever held the old password may be the reason for the reset.
 * Not throttled: a 256-bit token cannot be guessed.
 * Returns whom the token proved the caller to be, and the event to audit.
 */
export async function confirmReset(token: string, newPassword: string): Promise<{ actor: { id: string; username: string }; events: AuditEvent[] }> {
  const { resets, users } = await collections()
  const hash = hashLinkToken(token)
  const pending = await resets.findOne({ _id: hash, expires_at: { $gt: now() } })
  // A deleted or disabled account cannot be taken back through an old link, nor one whose email
  // or password changed since the link was issued (it may have gone to a mailbox given up).
  const user = pending ? await users.findOne({ _id: pending.user_id }) : null
  if (!pending || !user || !isLinkCurrent(pending, user)) throw invalidToken()

  const problems = await passwordProblems(newPassword, user, 'new_password')
  if (problems.length > 0) throw badRequest(`new_password: ${problems.map((p) => p.message).join('; ')}`, problems)
  // Hashed before consuming, so the token is gone only once the new hash is ready to store.
  const passwordHash = await hashPassword(newPassword)

  const consumed = await resets.findOneAndDelete({ _id: hash, expires_at: { $gt: now() } })
  if (!consumed) throw invalidToken()
  const updated = await users.findOneAndUpdate(
    { _id: user._id, email: consumed.email, disabled: false, cred_version: versionIs(consumed.cred_version) },
    // The mailbox the link went to is the account's email, now proven: it is verified too.
    { $set: { password_hash: passwordHash, email_verified: true, updated_at: now() }, ...NEXT_VERSION },
    { returnDocument: 'after' },
  )
  if (!updated) throw invalidToken()
  // Every session ends (those started before this point are on the old version anyway), the
  // user's other links die with the version, and failed logins counted against the account are
  // cleared: whoever proved control of its mail should not stay locked out by the guesses that
  // may have prompted the reset.
  await Promise.all([endSessions(user._id), resets.deleteMany({ user_id: user._id }), clearLoginAttempts(accountKey('login', user._id))])

  // The holder of the token proved control of the account's mail: they act as the user.
  return { actor: { id: user._id.toHexString(), username: user.username }, events: [{ event: 'password.reset' }] }
}
