// The credential version: a counter on every user that changes whenever what a session was
// granted on stops holding (a new password by any route, a completed reset, disabling, a role
// change). A session records the version it was started under, a reset link the version it was
// issued under; the session read, refresh and reset confirm refuse a mismatch (contract,
// "Credentials and identity"). Documents stored before the field existed have none: they read
// as version 0 on both sides, so old users and sessions keep working until the next change.
import type { Condition } from 'mongodb'

export interface Versioned {
  cred_version?: number
}

/** The version a user, session or link carries (absent: 0). */
export const credVersion = (doc: Versioned): number => doc.cred_version ?? 0

/** A filter value that matches `version`, a missing field included when it is 0. */
export function versionIs(version: number): Condition<number> {
  // `null` in $in matches a missing field (MongoDB query semantics); the driver's types leave
  // null out of $in for an optional number.
  return version === 0 ? ({ $in: [0, null] } as unknown as Condition<number>) : version
}

/** The update part that moves a user to its next version; $inc on an absent field gives 1. */
export const NEXT_VERSION = { $inc: { cred_version: 1 } } as const
