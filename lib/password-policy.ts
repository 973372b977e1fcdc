// The password policy, in one place for every route that sets a password and for the seed
// script: the length rules live in the schema (8 characters to 72 bytes); here, not the
// username or the email's local part, and not a common or breached password (ASVS 2.1.7).
// The list (about 49k entries) is loaded on first use, so functions that never set a
// password never pay for it at cold start.
import { createRequire } from 'node:module'
import type { FieldError } from './problem.js'

let common: Set<string> | undefined

function commonPasswords(): Set<string> {
  if (!common) {
    // The package is CommonJS; its password list module exports a string array.
    const require = createRequire(import.meta.url)
    const list = require('@zxcvbn-ts/language-common/dist/passwords.json.js') as string[]
    common = new Set(list.map((p) => p.toLowerCase()))
  }
  return common
}

/** The reasons a new password is refused (empty when it is acceptable). */
export function passwordProblems(password: string, who: { username?: string; email?: string }, path = 'password'): FieldError[] {
  const lower = password.toLowerCase()
  const problems: FieldError[] = []
  const username = who.username?.toLowerCase()
  const local = who.email?.toLowerCase().split('@')[0]
  if (username && lower.includes(username)) problems.push({ path, message: 'must not contain the username' })
  else if (local && local.length >= 3 && lower.includes(local)) problems.push({ path, message: 'must not contain the email address' })
  if (commonPasswords().has(lower)) problems.push({ path, message: 'is too common; choose a less guessable password' })
  return problems
}
