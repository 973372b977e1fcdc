// Brute-force limits on password guessing, per username and per client address, kept in
// MongoDB so every function instance shares them. Windows are fixed (15 minutes from the first
// failure) and expire through a TTL index, so nobody is locked out for good.
import { collections } from './db.js'
import { Problem, PROBLEM } from './problem.js'

const WINDOW_MS = 15 * 60 * 1000
export const LIMITS = { username: 5, ip: 50 } as const

export interface ThrottleKeys {
  username: string
  ip: string
}

/**
 * Which counters and limits to use. Defaults are the login's; another flow (password reset)
 * passes its own prefix so its counts never lock anyone out of logging in, and vice versa.
 */
export interface ThrottleOptions {
  prefix?: string
  limits?: { username: number; ip: number }
}

const keyOf = (k: ThrottleKeys, prefix = 'login') => ({ user: `${prefix}:user:${k.username}`, ip: `${prefix}:ip:${k.ip}` })

export interface ThrottleState {
  /** True when the username already has failures in its window (a success then clears them). */
  userHasFailures: boolean
}

/** 429 with Retry-After when either limit is reached; one read. */
export async function checkThrottle(keys: ThrottleKeys, options: ThrottleOptions = {}): Promise<ThrottleState> {
  const { counters } = await collections()
  const ids = keyOf(keys, options.prefix)
  const limits = options.limits ?? LIMITS
  const now = new Date()
  const docs = await counters.find({ _id: { $in: [ids.user, ids.ip] }, expires_at: { $gt: now } }).toArray()
  const user = docs.find((d) => d._id === ids.user)
  const ip = docs.find((d) => d._id === ids.ip)
  const blocking = [user && user.count >= limits.username ? user : undefined, ip && ip.count >= limits.ip ? ip : undefined].filter((d) => d !== undefined)
  if (blocking.length > 0) {
    const until = Math.max(...blocking.map((d) => d.expires_at.getTime()))
    const retryAfter = Math.max(1, Math.ceil((until - now.getTime()) / 1000))
    throw new Problem(429, 'Too many requests', {
      type: PROBLEM.tooManyRequests,
      detail: 'Too many failed attempts; try again later',
      headers: { 'Retry-After': String(retryAfter) },
      oauthError: 'invalid_request',
    })
  }
  return { userHasFailures: Boolean(user && user.count > 0) }
}

/** Counts a failure against both keys; one ordered bulk write (restart expired windows, then count). */
export async function recordFailure(keys: ThrottleKeys, options: ThrottleOptions = {}): Promise<void> {
  const { counters } = await collections()
  const ids = keyOf(keys, options.prefix)
  const now = new Date()
  const fresh = new Date(now.getTime() + WINDOW_MS)
  await counters.bulkWrite(
    [
      // A window that ended but that the TTL monitor has not removed yet starts again.
      { updateMany: { filter: { _id: { $in: [ids.user, ids.ip] }, expires_at: { $lte: now } }, update: { $set: { count: 0, expires_at: fresh } } } },
      { updateOne: { filter: { _id: ids.user }, update: { $inc: { count: 1 }, $setOnInsert: { expires_at: fresh } }, upsert: true } },
      { updateOne: { filter: { _id: ids.ip }, update: { $inc: { count: 1 }, $setOnInsert: { expires_at: fresh } }, upsert: true } },
    ],
    { ordered: true },
  )
}

/** A correct password clears the username's failures (the address keeps its count). */
export async function clearFailures(keys: ThrottleKeys, options: ThrottleOptions = {}): Promise<void> {
  const { counters } = await collections()
  await counters.deleteOne({ _id: keyOf(keys, options.prefix).user })
}
