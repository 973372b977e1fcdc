// The password policy, in one place for every route that sets a password and for the seed
// script: the length rules live in the schema (8 characters to 72 bytes); here, not the
// username or the email's local part, and not a common or breached password (ASVS 2.1.7).
// The list (about 49k entries) is loaded on first use, so functions that never set a
// password never pay for it at cold start.
import type { FieldError } from './problem.js'

let common: Promise<Set<string>> | undefined

function commonPasswords(): Promise<Set<string>> {
  // A literal specifier, so Vercel's file tracing ships the list in every function that sets a
  // password; a computed require() (createRequire + variable) is invisible to it, and the
  // deployed function would fail with "Cannot find module" while every local run passes.
  // The package is CommonJS; its password list module exports a string array.
  common ??= import('@zxcvbn-ts/language-common/dist/passwords.json.js').then(
    (m) => new Set(m.default.map((p) => p.toLowerCase())),
    (err: unknown) => {
      common = undefined // a failed load is retried by the next caller
      throw err
    },
  )
  return common
}

/** The reasons a new password is refused (empty when it is acceptable). */
export async function passwordProblems(password: string, who: { username?: string; email?: string }, path = 'password'): Promise<FieldError[]> {
  const lower = password.toLowerCase()
  const problems: FieldError[] = []
  const username = who.username?.toLowerCase()
  const local = who.email?.toLowerCase().split('@')[0]
  if (username && lower.includes(username)) problems.push({ path, message: 'must not contain the username' })
  else if (local && local.length >= 3 && lower.includes(local)) problems.push({ path, message: 'must not contain the email address' })
  if ((await commonPasswords()).has(lower)) problems.push({ path, message: 'is too common; choose a less guessable password' })
  return problems
}
