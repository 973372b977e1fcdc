// The seed script's import API: it hashes in worker threads and inserts in batches, so it needs
// the document createUser stores (users.ts newUserDoc), from a hash it already has, and an
// admin's change to an existing user (the rules of account.ts: the last admin stays, sessions end).
import { writeChange } from './account.js'
import { now as clockNow } from './clock.js'
import type { UserDoc } from './db.js'
import type { Role } from './schemas.js'
import { endSessions } from './sessions.js'
import { planEmailChange } from './email-verification.js'

export interface ImportChange {
  email?: string
  role?: Role
  passwordHash?: string
  emailVerified?: boolean
}

/**
 * Applies an import's change to an existing user as an admin would: the last enabled admin
 * keeps the role (409), and a new password or role moves the credential version and ends every
 * session of the user (tokens carry the role; a reset password must lock out whoever held the
 * old one). 11000 when the new email is taken.
 */
export async function applyImportChange(target: UserDoc, change: ImportChange): Promise<UserDoc> {
  const { user, set } = await writeChange(
    target,
    (current) => {
      // As an admin's change: a new email is set at once, unverified unless the import says so.
      const set: Partial<UserDoc> = { updated_at: clockNow(), ...planEmailChange(current, { email: change.email, email_verified: change.emailVerified }, false) }
      if (change.role !== undefined && change.role !== current.role) set.role = change.role
      if (change.passwordHash !== undefined && change.passwordHash !== current.password_hash) set.password_hash = change.passwordHash
      return set
    },
    { touchesAccess: change.role !== undefined },
  )
  if (set.role !== undefined || set.password_hash !== undefined) await endSessions(user._id)
  return user
}
