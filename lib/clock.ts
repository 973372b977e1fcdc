// The service's clock: every reading of the time that decides a token's, session's, counter's or
// reset link's life goes through now(), so a test can move time instead of waiting, starting a
// second service with other settings, or writing expired rows. Only code can replace it (tests);
// no environment variable does, so a deployment always runs on the system clock.

export interface Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  nowMs(): number
}

const systemClock: Clock = { nowMs: () => Date.now() }

// Kept on globalThis, like the database client (db.ts): the local runner loads its own copy of
// lib/ for the functions it serves, and a test in the same process must move that copy's time.
const KEY = Symbol.for('vercel-mongo-auth.clock')
const holder = globalThis as typeof globalThis & { [KEY]?: Clock }

/** The time now, in milliseconds since the epoch. */
export const nowMs = (): number => (holder[KEY] ?? systemClock).nowMs()

/** The time now, as a Date. */
export const now = (): Date => new Date(nowMs())

/** Replaces the clock (tests); `undefined` puts the system clock back. */
export function setClock(clock: Clock | undefined): void {
  if (clock) holder[KEY] = clock
  else delete holder[KEY]
}

/** A clock that stands still until moved: for tests that step over a window or a grace. */
export function manualClock(startMs = Date.now()): Clock & { advance(ms: number): void } {
  let at = startMs
  return {
    nowMs: () => at,
    advance(ms: number) {
      at += ms
    },
  }
}
