// Request bodies and answers: reading a JSON or form body with a size limit and content types
// (413/415), validating bodies, queries and parameters against a route's description (400 +
// errors[]), and writing a JSON answer.
import * as v from 'valibot'
import { badRequest, tooLarge, unsupportedMediaType, type FieldError } from '../problem.js'
import { BODY_LIMIT_BYTES, type BodySpec, type OperationSpec } from '../routes.js'
import type { Request, Response } from './route.js'

/** Writes a JSON answer (or an empty one for 204). */
export function send(res: Response, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  for (const [k, val] of Object.entries(headers)) res.setHeader(k, val)
  if (!res.hasHeader('Cache-Control')) res.setHeader('Cache-Control', 'no-store')
  res.statusCode = status
  if (status === 204 || body === undefined) {
    res.end()
    return
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.end(JSON.stringify(body))
}

export type Body = { kind: 'json'; value: unknown } | { kind: 'form'; value: Record<string, string> } | { kind: 'empty'; value: undefined }

function readRaw(req: Request): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    // Event listeners rather than async iteration: Vercel's helpers replay a buffered body
    // through 'data'/'end' listeners.
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > BODY_LIMIT_BYTES) {
        done = true
        reject(tooLarge(BODY_LIMIT_BYTES))
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks))
      done = true
    })
    req.on('error', (err) => {
      if (!done) reject(err)
      done = true
    })
  })
}

/** Reads a JSON or form body (413 beyond the limit, 415 for other types, 400 for broken JSON). */
export async function readBody(req: Request): Promise<Body> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > BODY_LIMIT_BYTES) {
    throw tooLarge(BODY_LIMIT_BYTES)
  }
  const raw = await readRaw(req)
  if (raw.length === 0) return { kind: 'empty', value: undefined }
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/json' || /^application\/[a-z.+-]+\+json$/.test(type)) {
    try {
      return { kind: 'json', value: JSON.parse(raw.toString('utf8')) }
    } catch {
      throw badRequest('The body is not valid JSON', undefined, 'invalid_request')
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const params = new URLSearchParams(raw.toString('utf8'))
    const value: Record<string, string> = Object.create(null)
    for (const [k, val] of params) {
      if (k in value) throw badRequest(`The field ${k} is given more than once`, [{ path: k, message: 'given more than once' }], 'invalid_request')
      value[k] = val
    }
    return { kind: 'form', value: { ...value } }
  }
  throw unsupportedMediaType('Send application/json or application/x-www-form-urlencoded', {
    'Accept-Post': 'application/json, application/x-www-form-urlencoded',
  })
}

type Output<S> = S extends v.GenericSchema ? v.InferOutput<S> : never
/** What a body of this description parses to: the JSON schema's output, or the form schema's. */
export type InputOf<B extends BodySpec> = Output<B['json']> | Output<B['form']>

/**
 * Validates a body read by readBody against the operation's description: a form body with its
 * form schema (415 where the route takes none), anything else with its JSON schema, an empty
 * body as `{}`. A refusal carries the OAuth error the description names.
 */
export function parseBody<O extends { body: BodySpec }>(op: O, body: Body): InputOf<O['body']> {
  const { json, form, oauthError } = op.body
  if (body.kind === 'form') {
    if (!form) throw unsupportedMediaType('Send application/json')
    return parse(form, body.value, oauthError) as InputOf<O['body']>
  }
  return parse(json ?? v.strictObject({}), body.value ?? {}, oauthError) as InputOf<O['body']>
}

/** Reads and validates the body the operation describes (400, 413, 415). */
export async function readInput<O extends { body: BodySpec }>(req: Request, op: O): Promise<InputOf<O['body']>> {
  return parseBody(op, await readBody(req))
}

/** Validates the query string against the operation's query schema (400 + errors[]). */
export function readQuery<Q extends NonNullable<OperationSpec['query']>>(req: Request, op: { query: Q }): v.InferOutput<Q> {
  return parse(op.query, queryOf(req))
}

/** Validates input against a schema; 400 with one entry in errors[] per problem. */
export function parse<S extends v.GenericSchema>(schema: S, input: unknown, oauthError?: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input, { abortPipeEarly: true })
  if (result.success) return result.output
  const errors: FieldError[] = result.issues.map((issue) => ({
    path: v.getDotPath(issue) ?? '',
    message: issue.message,
  }))
  throw badRequest(
    errors.length === 1 ? `${errors[0]!.path || 'body'}: ${errors[0]!.message}` : 'The request has invalid fields',
    errors,
    oauthError,
  )
}

/** A single query or path parameter as a string (arrays and absence give undefined). */
export function param(req: Request, name: string): string | undefined {
  const value = req.query?.[name] ?? new URL(req.url ?? '/', 'http://x').searchParams.get(name) ?? undefined
  return typeof value === 'string' ? value : undefined
}

/** The query string as a plain object (repeated keys refused by the schema as arrays). */
export function queryOf(req: Request, exclude: string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const params = new URL(req.url ?? '/', 'http://x').searchParams
  for (const key of new Set(params.keys())) {
    if (exclude.includes(key)) continue
    const all = params.getAll(key)
    out[key] = all.length === 1 ? all[0]! : all
  }
  return out
}
