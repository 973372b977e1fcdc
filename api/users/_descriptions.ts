// What the descriptions of several user routes share (a `_` file: Vercel serves no function here).
import type * as v from 'valibot'
import type { ErrorStatus, Success } from '../../lib/routes.js'
import { PublicUser } from '../../lib/schemas.js'

export const SELF_RULE =
  'Changing your own email or password needs `current_password` (ASVS 2.1.5); a wrong one is a 400 and counts as a failed login. ' +
  'A new email of your own is not set at once: it waits in `pending_email`, and `email` stays as it is, until the link mailed to the new address is confirmed ' +
  '(POST /api/auth/email/verify); the current address gets a notice. Sending your current email again withdraws a pending change. ' +
  '501 when the deployment has no SMTP_URL or VERIFY_URL_BASE and the change needs a link.'
export const USER_200: Success = { status: 200, description: 'The user', schema: PublicUser }
export const CHANGED_200: Success = { ...USER_200, description: 'The changed user' }
export const DELETED_204: Success = { status: 204, description: 'Deleted; every session of the user has ended' }
export const LAST_ADMIN_DELETE = 'The last enabled admin cannot be deleted (409).'

/** A change to one user by its name (PUT, PATCH): yourself, or anyone as an admin. */
export const userChange = <J extends v.GenericSchema>(summary: string, description: string, json: J) => ({
  tag: 'users',
  summary,
  description,
  auth: 'bearer' as const,
  body: { json },
  ok: CHANGED_200,
  errors: [403, 404, 409, 429, 501] as ErrorStatus[],
})
