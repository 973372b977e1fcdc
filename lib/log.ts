// Structured logging: one JSON object per line on stdout (Vercel keeps stdout as the function
// log). It must never write a password, hash or token: callers pass named fields only, and any
// field whose name looks secret is replaced before it is written, as a second line of defence.
import { logLevel } from './config.js'

type Level = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<Level | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }
const SECRET_KEY = /pass(word)?|secret|token|hash|authorization|cookie|jwt/i

export type LogFields = Record<string, unknown>

function scrub(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 4) return value
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : scrub(v, depth + 1)
  return out
}

export function log(level: Level, msg: string, fields: LogFields = {}): void {
  if (ORDER[level] < ORDER[logLevel()]) return
  const line = { time: new Date().toISOString(), level, msg, ...(scrub(fields) as LogFields) }
  process.stdout.write(JSON.stringify(line) + '\n')
}

/** The error's class and message for the log only (a client never sees these). */
export function describeError(err: unknown): LogFields {
  if (err instanceof Error) {
    return { error: err.name, error_message: err.message, stack: err.stack?.split('\n').slice(1, 6).join('\n') }
  }
  return { error: String(err) }
}
