// Input of the seed script: reading a users file (JSON array, mongoexport lines or CSV) or the
// documents of another database into raw rows with their line numbers (or `_id`s), and judging
// each row with the API's own schemas and password policy, so a user the script creates is one
// the API would have accepted. Never puts a password or hash in a message: a reason names the
// field and the rule, not the value.
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { ObjectId } from 'mongodb'
import * as v from 'valibot'
import { Email, EmailVerified, NewPassword, RoleSchema, Username, type Role } from '../../lib/schemas.js'
import { passwordProblems } from '../../lib/password-policy.js'
import { importableHashProblem } from '../../lib/passwords.js'
import { CsvError, parseCsv } from './csv.js'

/** The input cannot be used at all (missing file, broken JSON, bad header): exit 2. */
export class InputError extends Error {
  override name = 'InputError'
}

export const FIELDS = ['username', 'email', 'password', 'password_hash', 'role', 'email_verified'] as const
type Field = (typeof FIELDS)[number]
// The FastAPI project's name for password_hash (passlib's PHC strings, usually argon2).
const HASH_ALIAS = 'hashed_password'
const CSV_FIELDS: readonly string[] = [...FIELDS, HASH_ALIAS]

/** One row as read, before judgement. */
export interface RawRow {
  /** The file line the row starts on; for documents of a database, their position in the read. */
  line: number
  values: Partial<Record<Field, unknown>>
  /** The document's `_id` when it has one, as reports name it (an ObjectId as 24 hex digits). */
  id?: string
  /** The `_id` is an ObjectId: kept as the user's id (other kinds of _id cannot be ours). */
  keepId?: boolean
  /** The field the hash came in (`password_hash` or `hashed_password`), for messages. */
  hashField?: string
  /** A problem found while reading (malformed CSV record, unknown JSON field). */
  error?: string
}

/** A row fit to apply: normalized as the API stores it, with a password or a hash. */
export interface ValidRow {
  line: number
  id?: string
  keepId?: boolean
  username: string
  email: string
  role: Role
  /** From the row's email_verified, else --email-verified; undefined when neither says (an --upsert keeps the flag). */
  emailVerified?: boolean
  password?: string
  passwordHash?: string
}

export interface RowFailure {
  line: number
  id?: string
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
  // mongoexport writes one document per line by default (.json), or an array with --jsonArray.
  const looksJson = ['.json', '.jsonl', '.ndjson'].includes(ext) || (ext !== '.csv' && /^\ufeff?\s*[[{]/.test(text))
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
  const unknown = names.filter((n) => !CSV_FIELDS.includes(n))
  if (unknown.length > 0) throw new InputError(`${path}: unknown column(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')}; allowed: ${CSV_FIELDS.join(', ')}`)
  const repeated = names.filter((n, i) => names.indexOf(n) !== i)
  if (repeated.length > 0) throw new InputError(`${path}: column ${repeated[0]} appears twice`)
  if (names.includes('password_hash') && names.includes(HASH_ALIAS)) throw new InputError(`${path}: give a password_hash or a ${HASH_ALIAS} column, not both`)
  const hashField = names.includes(HASH_ALIAS) ? HASH_ALIAS : 'password_hash'
  if (!names.includes('password') && !names.includes(hashField)) throw new InputError(`${path}: the header needs a password or password_hash column`)

  return body.map((record): RawRow => {
    const values: RawRow['values'] = {}
    // An empty cell is an absent value (a CSV cannot tell the two apart).
    names.forEach((name, i) => {
      const cell = record.fields[i]
      if (cell !== undefined && cell !== '') values[(name === HASH_ALIAS ? 'password_hash' : name) as Field] = cell
    })
    const error =
      record.error ?? (record.fields.length !== names.length ? `has ${record.fields.length} fields, the header has ${names.length}` : undefined)
    const row: RawRow = { line: record.line, values, hashField }
    if (error) row.error = error
    return row
  })
}

/**
 * JSON input in the forms mongoexport and hand-made files take: an array of documents (with
 * `--jsonArray`), one document per line (mongoexport's default), or an object whose `users`
 * member is that array (its other members are not read).
 */
export function jsonRows(text: string, path = 'input'): RawRow[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    // Not one JSON value: one document per line, each judged alone (a broken line is its own
    // failure). Anything not starting like a document is a broken file.
    if (/^\s*\{/.test(text)) return jsonLineRows(text)
    throw new InputError(`${path}: ${jsonErrorText(err, text)}`)
  }
  if (Array.isArray(data)) {
    const lines = itemLines(text, text.indexOf('['))
    return data.map((item, i) => rawFromDocument(item, lines[i] ?? 0))
  }
  if (typeof data === 'object' && data !== null && Array.isArray((data as { users?: unknown }).users)) {
    const lines = itemLines(text, memberArrayStart(text, 'users'))
    return ((data as { users: unknown[] }).users).map((item, i) => rawFromDocument(item, lines[i] ?? 0))
  }
  // One document on one line is a mongoexport file of one user.
  if (typeof data === 'object' && data !== null && text.trim().split('\n').length === 1) return jsonLineRows(text)
  throw new InputError(`${path}: expected a JSON array of user objects, one JSON document per line (mongoexport), or {"users": [...]}`)
}

/** A JSON.parse failure as text that never quotes the input (a password could be in it). */
function jsonErrorText(err: unknown, text: string): string {
  // V8 quotes a piece of the input in some messages (`Unexpected token 'x', "...": a password
  // could be in it); only a message that points at a position is kept, as a line.
  const message = (err as Error).message
  const at = /^(.*) in JSON at position (\d+)/.exec(message)
  if (at && !at[1]!.includes('"')) return `not valid JSON at line ${text.slice(0, Number(at[2])).split('\n').length} (${at[1]})`
  return 'not valid JSON'
}

/** mongoexport's default output: one JSON document per line; blank lines are skipped. */
function jsonLineRows(text: string): RawRow[] {
  const rows: RawRow[] = []
  text.split('\n').forEach((lineText, i) => {
    if (lineText.trim() === '') return
    let item: unknown
    try {
      item = JSON.parse(lineText)
    } catch {
      rows.push({ line: i + 1, values: {}, error: 'not valid JSON' })
      return
    }
    rows.push(rawFromDocument(item, i + 1))
  })
  return rows
}

/**
 * A document's `_id` as reports name it, and whether it is an ObjectId (as mongoexport writes it,
 * `{"$oid": "..."}`, or as the driver reads it), which the import keeps as the user's id. A
 * string or number `_id` (some projects use UUID strings) only names the row: the user gets a new
 * ObjectId, as our ids are ObjectIds.
 */
function readId(value: unknown): { id: string; keep: boolean } | undefined {
  const hex = objectIdHex(value)
  if (hex) return { id: hex, keep: true }
  if (typeof value === 'string' && value.length > 0 && value.length <= 128 && !/[\u0000-\u001f]/.test(value)) return { id: value, keep: false }
  if (typeof value === 'number' && Number.isFinite(value)) return { id: String(value), keep: false }
  return undefined
}

function objectIdHex(value: unknown): string | undefined {
  if (value instanceof ObjectId) return value.toHexString()
  if (typeof value === 'object' && value !== null && Object.keys(value).length === 1) {
    const oid = (value as { $oid?: unknown }).$oid
    if (typeof oid === 'string' && /^[0-9a-fA-F]{24}$/.test(oid)) return oid.toLowerCase()
  }
  return undefined
}

/**
 * One user document (a JSON item, or a document read from another database) as a raw row:
 * our fields, `hashed_password` for password_hash (the FastAPI project's name), and `_id`.
 * Strict like the API's schemas: a misspelt or unknown field is an error, not silently ignored.
 */
export function rawFromDocument(item: unknown, line: number): RawRow {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return { line, values: {}, error: 'must be an object' }
  const row: RawRow = { line, values: {} }
  const problems: string[] = []
  const unknown: string[] = []
  for (const [key, value] of Object.entries(item)) {
    if (key === '_id') {
      const id = readId(value)
      if (id) {
        row.id = id.id
        if (id.keep) row.keepId = true
      } else problems.push('_id: must be an ObjectId ({"$oid": "<24 hex digits>"}), a string or a number')
    } else if (key === HASH_ALIAS || key === 'password_hash') {
      if (row.hashField !== undefined) problems.push(`give password_hash or ${HASH_ALIAS}, not both`)
      row.hashField = key
      if (value !== null) row.values.password_hash = value
    } else if ((FIELDS as readonly string[]).includes(key)) {
      // null means absent, as an empty CSV cell does.
      if (value !== null) row.values[key as Field] = value
    } else unknown.push(key)
  }
  if (unknown.length > 0) problems.unshift(`unknown field(s) ${unknown.join(', ')}`)
  if (problems.length > 0) row.error = problems.join('; ')
  return row
}

/** Where the array that is the `name` member of the top-level object starts. */
function memberArrayStart(text: string, name: string): number {
  let depth = 0
  let key: string | undefined
  let afterColon = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '"') {
      // A string: at depth 1 before a colon it is a member name.
      let j = i + 1
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      if (depth === 1 && !afterColon) key = JSON.parse(text.slice(i, j + 1)) as string
      i = j
      continue
    }
    if (c === ':' && depth === 1) afterColon = true
    else if (c === ',' && depth === 1) afterColon = false
    else if (c === '[' || c === '{') {
      if (depth === 1 && afterColon && c === '[' && key === name) return i
      depth++
    } else if (c === ']' || c === '}') depth--
  }
  return -1
}

/** The line on which each element of the JSON array starting at `start` starts (JSON.parse gives none). */
function itemLines(text: string, start: number): number[] {
  const lines: number[] = []
  if (start < 0) return lines
  let line = text.slice(0, start).split('\n').length
  let depth = 0
  let inString = false
  let expectItem = false
  for (let i = start; i < text.length; i++) {
    const c = text[i]!
    if (c === '\n') line++
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
      continue
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue
    if (depth === 1 && expectItem && c !== ']') {
      lines.push(line)
      expectItem = false
    }
    if (c === '"') inString = true
    else if (c === '[' || c === '{') {
      depth++
      if (depth === 1) expectItem = true
    } else if (c === ']' || c === '}') {
      depth--
      if (depth === 0) break
    } else if (c === ',' && depth === 1) expectItem = true
  }
  return lines
}

const messageOf = (field: string, issues: v.BaseIssue<unknown>[]) => `${field}: ${issues[0]?.message ?? 'is not valid'}`

// A CSV cell is text: true/false (or 1/0, yes/no) stand for the boolean the schema takes.
const CELL_BOOLEANS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false }
const cellBoolean = (value: unknown) => (typeof value === 'string' ? (CELL_BOOLEANS[value.trim().toLowerCase()] ?? value) : value)

export interface RowDefaults {
  /** For rows that name no role (--role). */
  role: Role
  /** For rows without an email_verified value (--email-verified); undefined: not given. */
  emailVerified?: boolean
}

/** Judges one row with the API's rules; the defaults apply where the row says nothing. */
export async function validateRow(raw: RawRow, defaults: RowDefaults): Promise<{ row: ValidRow } | { failure: RowFailure }> {
  const fail = (reason: string, username?: string): { failure: RowFailure } => {
    const failure: RowFailure = { line: raw.line, ...(raw.id !== undefined && { id: raw.id }), ...(username !== undefined && { username }), reason }
    return { failure }
  }
  const named = typeof raw.values.username === 'string' ? raw.values.username.trim().toLowerCase() : undefined
  if (raw.error) return fail(raw.error, named)

  const problems: string[] = []
  const username = v.safeParse(Username, raw.values.username ?? '')
  if (!username.success) problems.push(raw.values.username === undefined ? 'username: is required' : messageOf('username', username.issues))
  const email = v.safeParse(Email, raw.values.email ?? '')
  if (!email.success) problems.push(raw.values.email === undefined ? 'email: is required' : messageOf('email', email.issues))
  const role = v.safeParse(RoleSchema, raw.values.role ?? defaults.role)
  if (!role.success) problems.push(messageOf('role', role.issues))
  const verifiedValue = raw.values.email_verified ?? defaults.emailVerified
  const verified = verifiedValue === undefined ? undefined : v.safeParse(EmailVerified, cellBoolean(verifiedValue))
  if (verified && !verified.success) problems.push(messageOf('email_verified', verified.issues))

  const { password, password_hash: hash } = raw.values
  const hashField = raw.hashField ?? 'password_hash'
  let passwordHash: string | undefined
  let plain: string | undefined
  if (password !== undefined && hash !== undefined) problems.push(`give password or ${hashField}, not both`)
  else if (hash !== undefined) {
    // Only hashes a login can verify: any other scheme would lock the user out unseen.
    const problem = importableHashProblem(hash)
    if (problem !== undefined) problems.push(`${hashField}: ${problem}`)
    else passwordHash = hash as string
  } else if (password !== undefined) {
    const parsed = v.safeParse(NewPassword, password)
    if (!parsed.success) problems.push(messageOf('password', parsed.issues))
    else {
      plain = parsed.output
      // The policy compares against the normalized username and email, as the API does.
      const who = { username: username.success ? username.output : undefined, email: email.success ? email.output : undefined }
      for (const p of await passwordProblems(plain, who)) problems.push(`password: ${p.message}`)
    }
  } else problems.push(`password: is required (or ${hashField})`)

  if (problems.length > 0 || !username.success || !email.success || !role.success) {
    return fail(problems.join('; '), username.success ? username.output : named)
  }
  const row: ValidRow = { line: raw.line, username: username.output, email: email.output, role: role.output }
  if (raw.id !== undefined) row.id = raw.id
  if (raw.keepId) row.keepId = true
  if (verified?.success) row.emailVerified = verified.output
  if (plain !== undefined) row.password = plain
  if (passwordHash !== undefined) row.passwordHash = passwordHash
  return { row }
}

/**
 * Judges every row and drops repeats within the input: the first row with a username, email or
 * `_id` wins, a later one fails naming the row it repeats (its line, or its `_id` when the rows
 * come from a database and have no lines).
 */
export async function planRows(raws: RawRow[], defaults: RowDefaults & { byId?: boolean }): Promise<{ rows: ValidRow[]; failures: RowFailure[] }> {
  const rows: ValidRow[] = []
  const failures: RowFailure[] = []
  const byUsername = new Map<string, ValidRow>()
  const byEmail = new Map<string, ValidRow>()
  const byId = new Map<string, ValidRow>()
  const ref = (r: ValidRow) => (defaults.byId && r.id !== undefined ? `_id ${r.id}` : `line ${r.line}`)
  for (const raw of raws) {
    const judged = await validateRow(raw, defaults)
    if ('failure' in judged) {
      failures.push(judged.failure)
      continue
    }
    const { row } = judged
    const firstName = byUsername.get(row.username)
    const firstEmail = byEmail.get(row.email)
    const firstId = row.id === undefined ? undefined : byId.get(row.id)
    if (firstName || firstEmail || firstId) {
      const what = firstName
        ? `username ${row.username} repeats ${ref(firstName)}`
        : firstEmail
          ? `email repeats ${ref(firstEmail)}`
          : `_id repeats ${ref(firstId!)}`
      failures.push({ line: row.line, ...(row.id !== undefined && { id: row.id }), username: row.username, reason: `duplicate in the input: ${what}` })
      continue
    }
    byUsername.set(row.username, row)
    byEmail.set(row.email, row)
    if (row.id !== undefined) byId.set(row.id, row)
    rows.push(row)
  }
  return { rows, failures }
}
