// Brute-force and flood limits, kept in MongoDB so every function instance shares them. Each
// counter has a fixed window that starts with its first count and expires through a TTL index,
// so nobody is locked out for good. Never stores a password or token: keys are ids, normalised
// identifiers and addresses.
//
// - Per account (logins, and the current_password a user proves to change their credentials):
//   every attempt is counted before its password is compared, by one atomic update that returns
//   the new count, so a parallel burst gets at most LIMIT compares (contract, "Credentials and
//   identity"; ASVS 2.2.1). The key is the account's id when the identifier resolves to one, so
//   every spelling (case, NFKC variants, the email) counts together; an unknown identifier
//   counts under its normalised form and behaves exactly like an account. A correct password
//   clears the count. These counters live in the sessions collection (db.ts `attempts`): a
//   successful login's session insert and the clearing go out as one update command.
// - Per client address (logins): failures, counted after the compare and checked before it. Not
//   atomic: a burst from one address may overshoot by its concurrency; the per-account limit
//   above is the exact one.
// - Reset requests (per account or identifier, and per address), sign-ups (per address) and
//   requests for verification links (per account): every request is counted, atomically,
//   before the work.
import type { AnyBulkWriteOperation, Collection, ObjectId } from 'mongodb'
import { collections, type CounterDoc, type SessionDoc } from './db.js'
import { tooManyRequests, type Problem } from './problem.js'
import { now as clockNow, nowMs } from './clock.js'

const MINUTE_MS = 60 * 1000

export const LIMITS = {
  /** failed logins per account (or unknown identifier) and per address, per 15 minutes */
  login: { account: 5, address: 50, windowMs: 15 * MINUTE_MS },
  /** reset requests per account (or unknown identifier) and per address, per 15 minutes */
  reset: { account: 5, address: 50, windowMs: 15 * MINUTE_MS },
  /** sign-ups (ALLOW_SIGNUP=true) per address, per hour */
  signup: { address: 10, windowMs: 60 * MINUTE_MS },
  /** verification links asked for per account (POST /api/auth/email/verify-request), per 15 minutes */
  verify: { account: 5, windowMs: 15 * MINUTE_MS },
  /** second-factor codes (TOTP or recovery) per account and per mfa_token, per 15 minutes */
  mfa: { attempts: 5, windowMs: 15 * MINUTE_MS },
} as const

type Flow = 'login' | 'reset' | 'signup' | 'verify' | 'mfa'

/** The counter of an account, by id: every spelling of the account lands here. */
export const accountKey = (flow: Flow, id: ObjectId) => `${flow}:acct:${id.toHexString()}`
/** The counter of an identifier that names no account, in its normalised form. */
export const identifierKey = (flow: Flow, identity: string) => `${flow}:id:${identity}`
export const addressKey = (flow: Flow, ip: string) => `${flow}:ip:${ip}`
/** The counter of one mfa_token (by its jti): a token has its own budget within the account's. */
export const mfaTokenKey = (jti: string) => `mfa:tok:${jti}`
/** The row whose insert spends one mfa_token (by its jti); it lives as long as the token. */
export const spentMfaTokenKey = (jti: string) => `mfa:used:${jti}`

/** The update pipeline that counts one: a window that has ended, or was never started, starts again at 1. */
function countingUpdate(windowMs: number, now = clockNow()) {
  const live = { $gt: ['$expires_at', now] }
  return [
    {
      $set: {
        count: { $cond: [live, { $add: ['$count', 1] }, 1] },
        expires_at: { $cond: [live, '$expires_at', new Date(now.getTime() + windowMs)] },
      },
    },
  ]
}

/**
 * Counts one against `id` and answers the counter after it, in one atomic update (an upsert with
 * an update pipeline): a window that has ended, or was never started, starts again at 1.
 */
async function countIn(coll: Collection<CounterDoc>, id: string, windowMs: number): Promise<CounterDoc> {
  const doc = await coll.findOneAndUpdate({ _id: id }, countingUpdate(windowMs), { upsert: true, returnDocument: 'after' })
  return doc!
}

/** 429 with Retry-After until the latest of the given windows ends (RFC 6585 4). */
export function tooMany(counters: CounterDoc[], detail: string): Problem {
  const until = Math.max(...counters.map((c) => c.expires_at.getTime()))
  const retryAfter = Math.max(1, Math.ceil((until - nowMs()) / 1000))
  return tooManyRequests(detail, retryAfter)
}

// --- logins ------------------------------------------------------------------------------

/** Counts a login attempt against its account (or unknown identifier), before the compare. */
export async function countLoginAttempt(key: string): Promise<CounterDoc> {
  const { attempts } = await collections()
  return countIn(attempts, key, LIMITS.login.windowMs)
}

export const isLoginBlocked = (attempt: CounterDoc) => attempt.count > LIMITS.login.account

/** Whether an address's failures (read before the compare) have reached its limit. */
export const isAddressBlocked = (failures: CounterDoc | undefined): failures is CounterDoc =>
  failures !== undefined && failures.expires_at > clockNow() && failures.count >= LIMITS.login.address

export async function readAddressFailures(ip: string): Promise<CounterDoc | undefined> {
  const { counters } = await collections()
  return (await counters.findOne({ _id: addressKey('login', ip) })) ?? undefined
}

/** Counts a wrong password against the address it came from (the account's count was made before). */
export async function recordAddressFailure(ip: string): Promise<void> {
  const { counters } = await collections()
  await countIn(counters, addressKey('login', ip), LIMITS.login.windowMs)
}

/**
 * The statement that clears an account's login attempts, for the sessions collection's bulk
 * write that starts the session (sessions.ts createSession): a correct password ends the count.
 * An update, not a delete, so that it travels in the same update command as the session upsert.
 */
export function clearingAttempts(key: string): AnyBulkWriteOperation<SessionDoc> {
  return { updateOne: { filter: { _id: key }, update: { $set: { count: 0 } as Partial<SessionDoc> } } }
}

/** Clears an account's login attempts outside a login (a proven current_password, a completed reset). */
export async function clearLoginAttempts(key: string): Promise<void> {
  const { attempts } = await collections()
  await attempts.updateOne({ _id: key }, { $set: { count: 0 } })
}

// --- reset requests and sign-ups ---------------------------------------------------------

/** Counts a reset request against its address (in parallel with the account lookup). */
export async function countResetAddress(ip: string): Promise<CounterDoc> {
  const { counters } = await collections()
  return countIn(counters, addressKey('reset', ip), LIMITS.reset.windowMs)
}

/** Counts a reset request against its account, or its unknown identifier. */
export async function countResetAccount(key: string): Promise<CounterDoc> {
  const { counters } = await collections()
  return countIn(counters, key, LIMITS.reset.windowMs)
}

/**
 * 429 past either reset limit. Every request is counted first, known account or not, so a 429
 * says nothing about whether the account exists.
 */
export function assertResetLimits(perAddress: CounterDoc, perAccount: CounterDoc): void {
  const blocking = [perAddress.count > LIMITS.reset.address && perAddress, perAccount.count > LIMITS.reset.account && perAccount].filter(
    (c): c is CounterDoc => c !== false,
  )
  if (blocking.length > 0) throw tooMany(blocking, 'Too many reset requests; try again later')
}

/** Counts a sign-up from an address; 429 past 10 an hour (ALLOW_SIGNUP=true floods). */
export async function countSignup(ip: string): Promise<void> {
  const { counters } = await collections()
  const perAddress = await countIn(counters, addressKey('signup', ip), LIMITS.signup.windowMs)
  if (perAddress.count > LIMITS.signup.address) throw tooMany([perAddress], 'Too many sign-ups from this address; try again later')
}

/** Counts a request for a verification link against the account; 429 past 5 in 15 minutes. */
export async function countVerifyRequest(userId: ObjectId): Promise<void> {
  const { counters } = await collections()
  const perAccount = await countIn(counters, accountKey('verify', userId), LIMITS.verify.windowMs)
  if (perAccount.count > LIMITS.verify.account) throw tooMany([perAccount], 'Too many verification links asked for; try again later')
}

// --- second factors ------------------------------------------------------------------------

/**
 * Counts one second-factor attempt against each of `keys` (the account, and the mfa_token when
 * there is one) in one command, before the code is compared. The counts are read afterwards
 * (with the account, in one aggregate): each attempt sees at least its own count, so of a
 * parallel burst at most LIMITS.mfa.attempts compare.
 */
export async function countMfaAttempts(keys: string[]): Promise<void> {
  const { attempts } = await collections()
  const now = clockNow()
  await attempts.bulkWrite(
    keys.map((key) => ({ updateOne: { filter: { _id: key }, update: countingUpdate(LIMITS.mfa.windowMs, now), upsert: true } })),
    { ordered: false },
  )
}

/** Counts one second-factor attempt of an account and answers the counter after it. */
export async function countMfaAttempt(key: string): Promise<CounterDoc> {
  const { attempts } = await collections()
  return countIn(attempts, key, LIMITS.mfa.windowMs)
}

/** The 429 to answer when any of the counters (read after this attempt was counted) is past its limit. */
export function mfaLimitReached(counters: (CounterDoc | undefined)[]): Problem | undefined {
  const now = clockNow()
  const blocking = counters.filter((c): c is CounterDoc => c !== undefined && c.expires_at > now && c.count > LIMITS.mfa.attempts)
  return blocking.length > 0 ? tooMany(blocking, 'Too many wrong codes; try again later') : undefined
}
