// Input of the seed script: reading a users file (JSON array or CSV) into raw rows with their
// line numbers, and judging each row with the API's own schemas and password policy, so a
// user the script creates is one the API would have accepted. Never puts a password in a
// message: a reason names the field and the rule, not the value.
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import * as v from 'valibot'
import { Email, NewPassword, RoleSchema, Username, type Role } from '../lib/schemas.js'
import { passwordProblems } from '../lib/password-policy.js'
import { isBcryptHash } from '../lib/passwords.js'
import { CsvError, parseCsv } from './seed-csv.js'

/** The input cannot be used at all (missing file, broken JSON, bad header): exit 2. */
export class InputError extends Error {
  override name = 'InputError'
}

export const FIELDS = ['username', 'email', 'password', 'password_hash', 'role'] as const
type Field = (typeof FIELDS)[number]

/** One row as read, before judgement. */
export interface RawRow {
  line: number
  values: Partial<Record<Field, unknown>>
  /** A problem found while reading (malformed CSV record, unknown JSON field). */
  error?: string
}

/** A row fit to apply: normalized as the API stores it, with a password or a hash. */
export interface ValidRow {
  line: number
  username: string
  email: string
  role: Role
  password?: string
  passwordHash?: string
}

export interface RowFailure {
  line: number
  username?: string
  reason: string
}

export async function readUsersFile(path: string): Promise<RawRow[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const ext = extname(path).toLowerCase()
  const looksJson = ext === '.json' || (ext !== '.csv' && /^\s*\[/.test(text))
  return looksJson ? jsonRows(text, path) : csvRows(text, path)
}

export function csvRows(text: string, path = 'input'): RawRow[] {
  let records
  try {
    records = parseCsv(text)
  } catch (err) {
    if (err instanceof CsvError) throw new InputError(`${path}: ${err.message}`)
    throw err
  }
  const [header, ...body] = records
  if (!header) throw new InputError(`${path}: the file is empty (expected a header: ${FIELDS.filter((f) => f !== 'password_hash').join(',')})`)
  if (header.error) throw new InputError(`${path}: line ${header.line}: ${header.error}`)
  const names = header.fields.map((f) => f.trim().toLowerCase())
  // A file without a header would have its first user read as column names: say so without
  // echoing them (one of them is a password).
  if (!names.includes('username') || !names.includes('email')) {
    throw new InputError(`${path}: line ${header.line} is not a header with username and email columns (expected username,email,password,role)`)
  }
  const unknown = names.filter((n) => !(FIELDS as readonly string[]).includes(n))
  if (unknown.length > 0) throw new InputError(`${path}: unknown column(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')}; allowed: ${FIELDS.join(', ')}`)
  const repeated = names.filter((n, i) => names.indexOf(n) !== i)
  if (repeated.length > 0) throw new InputError(`${path}: column ${repeated[0]} appears twice`)
  if (!names.includes('password') && !names.includes('password_hash')) throw new InputError(`${path}: the header needs a password or password_hash column`)

  return body.map((record): RawRow => {
    const values: RawRow['values'] = {}
    // An empty cell is an absent value (a CSV cannot tell the two apart).
    names.forEach((name, i) => {
      const cell = record.fields[i]
      if (cell !== undefined && cell !== '') values[name as Field] = cell
    })
    const error =
      record.error ?? (record.fields.length !== names.length ? `has ${record.fields.length} fields, the header has ${names.length}` : undefined)
    return error ? { line: record.line, values, error } : { line: record.line, values }
  })
}

export function jsonRows(text: string, path = 'input'): RawRow[] {
  let data: unknown
  try {
    data = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch (err) {
    // V8 quotes a piece of the input in some messages (`Unexpected token 'x', "...": a
    // password could be in it); only a message that points at a position is kept, as a line.
    const message = (err as Error).message
    const at = /^(.*) in JSON at position (\d+)/.exec(message)
    if (at && !at[1]!.includes('"')) {
      const line = text.slice(0, Number(at[2])).split('\n').length
      throw new InputError(`${path}: not valid JSON at line ${line} (${at[1]})`)
    }
    throw new InputError(`${path}: not valid JSON`)
  }
  if (!Array.isArray(data)) throw new InputError(`${path}: expected a JSON array of user objects`)
  const lines = itemLines(text)
  return data.map((item: unknown, i): RawRow => {
    const line = lines[i] ?? 0
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return { line, values: {}, error: 'must be an object' }
    const values: RawRow['values'] = {}
    const unknown: string[] = []
    for (const [key, value] of Object.entries(item)) {
      if ((FIELDS as readonly string[]).includes(key)) {
        // null means absent, as an empty CSV cell does.
        if (value !== null) values[key as Field] = value
      } else unknown.push(key)
    }
    // Strict like the API's schemas: a misspelt field is an error, not silently ignored.
    return unknown.length > 0 ? { line, values, error: `unknown field(s) ${unknown.join(', ')}` } : { line, values }
  })
}

/** The line on which each element of a top-level JSON array starts (JSON.parse gives none). */
function itemLines(text: string): number[] {
  const lines: number[] = []
  let line = 1
  let depth = 0
  let inString = false
  let expectItem = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '\n') line++
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
      continue
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\ufeff') continue
    if (depth === 1 && expectItem && c !== ']') {
      lines.push(line)
      expectItem = false
    }
    if (c === '"') inString = true
    else if (c === '[' || c === '{') {
      depth++
      if (depth === 1) expectItem = true
    } else if (c === ']' || c === '}') depth--
    else if (c === ',' && depth === 1) expectItem = true
  }
  return lines
}

const messageOf = (field: string, issues: v.BaseIssue<unknown>[]) => `${field}: ${issues[0]?.message ?? 'is not valid'}`

/** Judges one row with the API's rules; `defaults.role` applies when the row names none. */
export async function validateRow(raw: RawRow, defaults: { role: Role }): Promise<{ row: ValidRow } | { failure: RowFailure }> {
  const fail = (reason: string, username?: string) => ({ failure: username ? { line: raw.line, username, reason } : { line: raw.line, reason } })
  const named = typeof raw.values.username === 'string' ? raw.values.username.trim().toLowerCase() : undefined
  if (raw.error) return fail(raw.error, named)

  const problems: string[] = []
  const username = v.safeParse(Username, raw.values.username ?? '')
  if (!username.success) problems.push(raw.values.username === undefined ? 'username: is required' : messageOf('username', username.issues))
  const email = v.safeParse(Email, raw.values.email ?? '')
  if (!email.success) problems.push(raw.values.email === undefined ? 'email: is required' : messageOf('email', email.issues))
  const role = v.safeParse(RoleSchema, raw.values.role ?? defaults.role)
  if (!role.success) problems.push(messageOf('role', role.issues))

  const { password, password_hash: hash } = raw.values
  let passwordHash: string | undefined
  let plain: string | undefined
  if (password !== undefined && hash !== undefined) problems.push('give password or password_hash, not both')
  else if (hash !== undefined) {
    if (typeof hash !== 'string' || !isBcryptHash(hash)) problems.push('password_hash: must be a bcrypt hash ($2a$/$2b$/$2y$, cost 04-31)')
    else passwordHash = hash
  } else if (password !== undefined) {
    const parsed = v.safeParse(NewPassword, password)
    if (!parsed.success) problems.push(messageOf('password', parsed.issues))
    else {
      plain = parsed.output
      // The policy compares against the normalized username and email, as the API does.
      const who = { username: username.success ? username.output : undefined, email: email.success ? email.output : undefined }
      for (const p of await passwordProblems(plain, who)) problems.push(`password: ${p.message}`)
    }
  } else problems.push('password: is required (or password_hash)')

  if (problems.length > 0 || !username.success || !email.success || !role.success) {
    return fail(problems.join('; '), username.success ? username.output : named)
  }
  const row: ValidRow = { line: raw.line, username: username.output, email: email.output, role: role.output }
  if (plain !== undefined) row.password = plain
  if (passwordHash !== undefined) row.passwordHash = passwordHash
  return { row }
}

/**
 * Judges every row and drops repeats within the input: the first row with a username or email
 * wins, a later one fails naming the line it repeats.
 */
export async function planRows(raws: RawRow[], defaults: { role: Role }): Promise<{ rows: ValidRow[]; failures: RowFailure[] }> {
  const rows: ValidRow[] = []
  const failures: RowFailure[] = []
  const byUsername = new Map<string, number>()
  const byEmail = new Map<string, number>()
  for (const raw of raws) {
    const judged = await validateRow(raw, defaults)
    if ('failure' in judged) {
      failures.push(judged.failure)
      continue
    }
    const { row } = judged
    const firstName = byUsername.get(row.username)
    const firstEmail = byEmail.get(row.email)
    if (firstName !== undefined || firstEmail !== undefined) {
      const what = firstName !== undefined ? `username ${row.username} repeats line ${firstName}` : `email repeats line ${firstEmail}`
      failures.push({ line: row.line, username: row.username, reason: `duplicate in the input: ${what}` })
      continue
    }
    byUsername.set(row.username, row.line)
    byEmail.set(row.email, row.line)
    rows.push(row)
  }
  return { rows, failures }
}
