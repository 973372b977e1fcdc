// Owns the server's error type and the mongod error codes/codeNames it reports.

export const CODES = {
  InternalError: 1,
  BadValue: 2,
  InvalidLength: 16,
  Unauthorized: 13,
  FailedToParse: 9,
  TypeMismatch: 14,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  CannotCreateIndex: 67,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  NotImplemented: 238,
  ConflictingUpdateOperators: 40,
  DuplicateKey: 11000,
} as const

export type CodeName = keyof typeof CODES

const NAMES = new Map<number, string>(Object.entries(CODES).map(([k, v]) => [v, k]))

export function codeName(code: number): string | undefined {
  return NAMES.get(code)
}

/** An error that becomes a mongod-shaped error document ({ok:0, errmsg, code, codeName, ...extra}). */
export class MongoServerError extends Error {
  readonly code: number
  readonly extra: Record<string, unknown>
  constructor(code: number | CodeName, message: string, extra: Record<string, unknown> = {}) {
    super(message)
    this.code = typeof code === 'number' ? code : CODES[code]
    this.extra = extra
  }

  toDocument(): Record<string, unknown> {
    const doc: Record<string, unknown> = { ok: 0, errmsg: this.message, code: this.code }
    const name = codeName(this.code)
    if (name) doc.codeName = name
    return Object.assign(doc, this.extra)
  }

  /** The shape used inside writeErrors[] (no ok/codeName envelope, as mongod sends). */
  toWriteError(index: number): Record<string, unknown> {
    return { index, code: this.code, errmsg: this.message, ...this.extra }
  }
}

/** Anything thrown while running a command (mingo errors, bugs) becomes an error document, never a crash. */
export function toServerError(err: unknown): MongoServerError {
  if (err instanceof MongoServerError) return err
  let message = err instanceof Error ? err.message : String(err)
  // Phrase mingo's messages the way mongod does where clients commonly match on them.
  const unknownOp = /^unknown (?:query |projection |expression |pipeline )?operator:? '?(\$\w+)'?/i.exec(message)
  if (unknownOp) message = `unknown operator: ${unknownOp[1]}`
  const conflict = /^updating the path '(.*)' would create a conflict at '(.*)'/i.exec(message)
  if (conflict) return new MongoServerError('ConflictingUpdateOperators', `Updating the path '${conflict[1]}' would create a conflict at '${conflict[2]}'`)
  if (/immutable field '_id'/.test(message))
    return new MongoServerError('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'")
  if (/non-numeric/i.test(message)) return new MongoServerError('TypeMismatch', message)
  // mingo reports malformed queries/updates/pipelines with plain Errors; mongod calls these BadValue.
  return new MongoServerError('BadValue', message)
}
