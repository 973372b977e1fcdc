// Local runner only: makes sure an admin exists so a fresh `npm run dev` is usable. Takes
// ADMIN_USERNAME / ADMIN_PASSWORD (and ADMIN_EMAIL), or generates a password and prints it once.
import { randomBytes } from 'node:crypto'
import * as v from 'valibot'
import { collections } from '../lib/db.js'
import { createUser } from '../lib/users.js'
import { Email, NewPassword, Username } from '../lib/schemas.js'

export interface FirstAdmin {
  created: boolean
  username?: string
  generatedPassword?: string
}

export async function ensureFirstAdmin(env: NodeJS.ProcessEnv = process.env): Promise<FirstAdmin> {
  const { users } = await collections()
  if (await users.findOne({ role: 'admin' }, { projection: { _id: 1 } })) return { created: false }
  const username = v.parse(Username, env.ADMIN_USERNAME || 'admin')
  const email = v.parse(Email, env.ADMIN_EMAIL || `${username}@example.com`)
  const generated = env.ADMIN_PASSWORD ? undefined : randomBytes(18).toString('base64url')
  const password = v.parse(NewPassword, env.ADMIN_PASSWORD || generated)
  try {
    // Its address is the operator's own choice: verified, so REQUIRE_VERIFIED_EMAIL cannot lock it out.
    await createUser({ username, email, password, role: 'admin', emailVerified: true })
  } catch (err) {
    // Another process created it first: fine, an admin exists.
    if ((err as { status?: number }).status === 409) return { created: false }
    throw err
  }
  if (generated) {
    process.stdout.write(`Created the first admin "${username}" with the password ${generated} (shown once; set ADMIN_PASSWORD to choose it)\n`)
  } else {
    process.stdout.write(`Created the first admin "${username}" from ADMIN_USERNAME/ADMIN_PASSWORD\n`)
  }
  return { created: true, username, generatedPassword: generated }
}
