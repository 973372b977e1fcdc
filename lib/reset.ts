// Password reset: issuing single-use reset tokens (by mail, or as a link handed to an admin),
// and redeeming them. A request answers the same, after the same database work, whether or not
// the account exists, so it cannot be used to enumerate accounts. Tokens are stored only as
// SHA-256 hashes (like refresh tokens: 256 random bits need no slow hash) and are never logged,
// except in the local runner's stand-in outbox (lib/mail.ts).
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { ObjectId } from 'mongodb'
import { waitUntil } from '@vercel/functions'
import { getConfig } from './config.js'
import { collections, type UserDoc } from './db.js'
import { recordEvent, setCaller } from './http.js'
import { sendMail } from './mail.js'
import { hashPassword } from './passwords.js'
import { passwordProblems } from './password-policy.js'
import { badRequest, conflict, Problem } from './problem.js'
import { endSessions } from './sessions.js'
import { checkThrottle, clearFailures, recordFailure, type ThrottleOptions } from './throttle.js'
import { findUserForLogin } from './users.js'

// OWASP Forgot Password cheat sheet: short-lived, single-use.
export const RESET_TTL_MS = 30 * 60 * 1000

// Every request counts (known account or not), so a 429 says nothing about existence. Counted
// apart from logins: asking for resets must not lock anyone out of logging in. 5 per address
// and identifier per 15 minutes also bounds how much mail one can make us send to a victim.
const THROTTLE: ThrottleOptions = { prefix: 'reset', limits: { username: 5, ip: 50 } }

/** The constant body of every accepted request. */
export const RESET_ACCEPTED = Object.freeze({ status: 'accepted', detail: 'If the account exists, a reset link has been sent' } as const)

export interface ResetRequestMeta {
  ip: string
  /** The origin the request came to; the link's base when RESET_URL_BASE is not set. */
  origin: string
}

const hashResetToken = (token: string) => createHash('sha256').update(token).digest('base64url')

function newResetToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: hashResetToken(token) }
}

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/**
 * The origin the client addressed. On Vercel the proxy sets x-forwarded-host and only routes a
 * host assigned to the project here, so a forged Host cannot point a link elsewhere; anything
 * that is not a plain host[:port] falls back to localhost.
 */
export function requestOrigin(req: IncomingMessage): string {
  const first = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h)?.split(',')[0]?.trim()
  const proto = first(req.headers['x-forwarded-proto']) === 'http' ? 'http' : 'https'
  const host = first(req.headers['x-forwarded-host']) || req.headers.host || ''
  return `${proto}://${HOST.test(host) ? host : 'localhost'}`
}

/** `${RESET_URL_BASE}?token=..`, or `<origin>/reset-password?token=..` without it. */
export function resetUrl(token: string, origin: string): string {
  const url = new URL(getConfig().resetUrlBase ?? `${origin}/reset-password`)
  url.searchParams.set('token', token)
  return url.toString()
}

function resetDoc(userId: ObjectId, now: Date) {
  return { user_id: userId, expires_at: new Date(now.getTime() + RESET_TTL_MS), created_at: now }
}

function withResetDetail(err: unknown): never {
  if (err instanceof Problem && err.status === 429) {
    throw new Problem(429, err.title, { type: err.type, detail: 'Too many reset requests; try again later', headers: err.headers })
  }
  throw err
}

/**
 * Self-service request: when the account exists and is enabled, stores a token and mails the
 * link after the answer. Either way the same four round trips (throttle read, user read,
 * counter write, an update on password_resets) and nothing the caller can tell apart.
 */
export async function requestReset(who: { email?: string; username?: string }, meta: ResetRequestMeta): Promise<void> {
  const login = who.email ?? who.username ?? ''
  const keys = { username: login, ip: meta.ip }
  const [, user] = await Promise.all([checkThrottle(keys, THROTTLE).catch(withResetDetail), findUserForLogin(login)])
  const eligible = user && !user.disabled ? user : undefined

  const { resets } = await collections()
  const { token, hash } = newResetToken()
  const now = new Date()
  await Promise.all([
    recordFailure(keys, THROTTLE),
    // The same command whether or not there is an account: with no upsert it matches nothing
    // (a random hash) and writes nothing, so no second code path shows in the timing.
    resets.updateOne(
      { _id: hash },
      { $setOnInsert: resetDoc(eligible?._id ?? new ObjectId(), now) },
      { upsert: eligible !== undefined },
    ),
  ])
  if (!eligible) return

  recordEvent('password.reset_requested', { target: { id: eligible._id.toHexString(), username: eligible.username }, detail: { via: 'mail' } })
  const link = resetUrl(token, meta.origin)
  // After the answer (kept alive on Vercel by waitUntil): the SMTP round trips would otherwise
  // show, in the response time, which accounts exist. sendMail never rejects.
  waitUntil(
    sendMail({
      to: eligible.email,
      subject: 'Reset your password',
      text: [
        `Someone, hopefully you, asked to reset the password of the account "${eligible.username}".`,
        '',
        'Open this link within 30 minutes to choose a new password. It works once:',
        link,
        '',
        'If you did not ask for this, ignore this mail: your password stays as it is.',
      ].join('\n'),
    }),
  )
}

/** Admin route: a link to hand to the user where the deployment sends no mail. */
export async function issueResetLink(user: UserDoc, origin: string): Promise<{ reset_url: string; expires_at: string }> {
  // confirmReset refuses disabled accounts; a link that cannot work is not handed out.
  if (user.disabled) throw conflict('The account is disabled; enable it before issuing a reset link')
  const { resets } = await collections()
  const { token, hash } = newResetToken()
  const doc = { _id: hash, ...resetDoc(user._id, new Date()) }
  await resets.insertOne(doc)
  recordEvent('password.reset_requested', { target: { id: user._id.toHexString(), username: user.username }, detail: { via: 'admin' } })
  return { reset_url: resetUrl(token, origin), expires_at: doc.expires_at.toISOString() }
}

const invalidToken = () =>
  badRequest('token: is invalid, expired or already used', [{ path: 'token', message: 'is invalid, expired or already used' }])

/**
 * Redeems a token: checks the new password against the policy first (a refusal keeps the token),
 * consumes the token atomically (of two concurrent confirms one wins), sets the password and
 * ends every session, since whoever held the old password may be the reason for the reset.
 * Not throttled: a 256-bit token cannot be guessed.
 */
export async function confirmReset(token: string, newPassword: string): Promise<void> {
  const { resets, users } = await collections()
  const hash = hashResetToken(token)
  const pending = await resets.findOne({ _id: hash, expires_at: { $gt: new Date() } })
  // A deleted or disabled account cannot be taken back through an old link.
  const user = pending ? await users.findOne({ _id: pending.user_id }) : null
  if (!pending || !user || user.disabled) throw invalidToken()

  const problems = await passwordProblems(newPassword, user, 'new_password')
  if (problems.length > 0) throw badRequest(`new_password: ${problems.map((p) => p.message).join('; ')}`, problems)
  // Hashed before consuming, so the token is gone only once the new hash is ready to store.
  const passwordHash = await hashPassword(newPassword)

  const consumed = await resets.findOneAndDelete({ _id: hash, expires_at: { $gt: new Date() } })
  if (!consumed) throw invalidToken()
  await users.updateOne({ _id: user._id }, { $set: { password_hash: passwordHash, updated_at: new Date() } })
  // Other links issued before this reset die with it; every session ends after the new hash is
  // stored, so none started with the old password survives.
  // Failed logins counted against the account are cleared too: whoever proved control of its
  // mail should not stay locked out by the guesses that may have prompted the reset.
  await Promise.all([
    endSessions(user._id),
    resets.deleteMany({ user_id: user._id }),
    clearFailures({ username: user.username, ip: '' }),
    clearFailures({ username: user.email, ip: '' }),
  ])

  // The holder of the token proved control of the account's mail: they act as the user.
  setCaller(user._id.toHexString(), user.username)
  recordEvent('password.reset')
}
