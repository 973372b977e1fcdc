// A short-lived exclusive lock in MongoDB, for the few rules that span documents (the last
// enabled admin) on deployments without multi-document transactions. The lock is a document
// with a unique _id: inserting it is the atomic acquire; it expires so a crash cannot wedge it.
import { now as clockNow } from './clock.js'
import { collections } from './db.js'
import { conflict } from './problem.js'

/** Runs fn while holding the named lock (409 if it cannot be had within 5 s). */
export async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const { counters } = await collections()
  const id = `lock:${name}`
  const deadline = Date.now() + 5000
  for (let attempt = 0; ; attempt++) {
    const now = clockNow()
    // A lock left by a crashed instance expires after 10 s.
    await counters.deleteOne({ _id: id, expires_at: { $lte: now } })
    try {
      await counters.insertOne({ _id: id, count: 1, expires_at: new Date(now.getTime() + 10_000) })
      break
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err
      if (Date.now() > deadline) throw conflict('Another change is in progress; try again')
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20 * Math.min(attempt + 1, 5)))
    }
  }
  try {
    return await fn()
  } finally {
    await counters.deleteOne({ _id: id })
  }
}
