// Owns the Vercel Node.js runtime helpers a function sees: `req.query`, `req.cookies`, the lazy
// `req.body` (parsed by content type), `res.status/json/send/redirect`, and the 4.5 MB request
// body limit. Written to behave like @vercel/node's helpers (its dist bundles them privately,
// so they cannot be imported robustly); the function still gets a readable request stream.
import { createHash } from 'node:crypto'
import { IncomingMessage, type ServerResponse } from 'node:http'
import { parse as parseQueryString } from 'node:querystring'
import type { VercelRequest, VercelResponse } from '@vercel/node'

/** Vercel refuses request bodies over 4.5 MB with 413 FUNCTION_PAYLOAD_TOO_LARGE. */
export const MAX_BODY_BYTES = 4.5 * 1024 * 1024

export class PayloadTooLargeError extends Error {
  constructor() {
    super('request body exceeds 4.5 MB')
  }
}

/** Thrown by the `req.body` getter on malformed JSON; the runner answers 400 like Vercel. */
export class BodyParseError extends Error {
  readonly statusCode = 400
  constructor() {
    super('Invalid JSON')
  }
}

/** Reads the whole request body, refusing it as soon as it passes the limit. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new PayloadTooLargeError())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let refused = false
    req.on('data', (chunk: Buffer) => {
      if (refused) return
      size += chunk.length
      if (size > limit) {
        refused = true
        chunks.length = 0
        reject(new PayloadTooLargeError())
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!refused) resolve(Buffer.concat(chunks))
    })
    req.on('error', reject)
  })
}

/** `type/subtype` of a content-type header, lower-cased, without parameters. */
function mediaType(header: string): string {
  return (header.split(';')[0] ?? '').trim().toLowerCase()
}

function parseBody(body: Buffer, contentType: string | undefined): unknown {
  // Like @vercel/node: no content type reads as text/plain (and then the body is empty).
  const type = contentType ? mediaType(contentType) : 'text/plain'
  switch (type) {
    case 'application/json': {
      const text = body.toString()
      if (!text) return {}
      try {
        return JSON.parse(text) as unknown
      } catch {
        throw new BodyParseError()
      }
    }
    case 'application/octet-stream':
      return body
    case 'application/x-www-form-urlencoded':
      return parseQueryString(body.toString())
    case 'text/plain':
      return body.toString()
    default:
      return undefined
  }
}

function parseQuery(url: string | undefined): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {}
  new URL(url ?? '/', 'http://localhost').searchParams.forEach((value, key) => {
    const existing = query[key]
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value]
  })
  return query
}

/** Cookie header → object; the first occurrence of a name wins, quoted values are unquoted. */
export function parseCookies(header: string | string[] | undefined): Record<string, string> {
  const cookies: Record<string, string> = {}
  if (!header) return cookies
  for (const pair of (Array.isArray(header) ? header.join(';') : header).split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1) continue
    const name = pair.slice(0, eq).trim()
    if (!name || name in cookies) continue
    let value = pair.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    try {
      cookies[name] = value.includes('%') ? decodeURIComponent(value) : value
    } catch {
      cookies[name] = value
    }
  }
  return cookies
}

/** Defines a property computed on first read and then fixed; assigning replaces it. */
function defineLazy<T extends object>(target: T, prop: string, compute: () => unknown): void {
  const settle = (value: unknown) =>
    Object.defineProperty(target, prop, { value, writable: true, configurable: true, enumerable: true })
  Object.defineProperty(target, prop, {
    configurable: true,
    enumerable: true,
    get() {
      const value = compute()
      settle(value)
      return value
    },
    set(value: unknown) {
      settle(value)
    },
  })
}

/**
 * The request the function receives: a fresh IncomingMessage carrying the original socket,
 * method and (rewritten) headers and url, whose stream replays the already-read body, so a
 * function may use `req.body` or read the stream itself, as on Vercel.
 */
export function createFunctionRequest(
  original: IncomingMessage,
  url: string,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): VercelRequest {
  const req = new IncomingMessage(original.socket)
  req.method = original.method
  req.url = url
  req.httpVersion = original.httpVersion
  req.httpVersionMajor = original.httpVersionMajor
  req.httpVersionMinor = original.httpVersionMinor
  req.headers = headers
  req.rawHeaders = Object.entries(headers).flatMap(([k, v]) =>
    v === undefined ? [] : Array.isArray(v) ? v.flatMap((x) => [k, x]) : [k, v],
  )
  req.complete = true
  // The data is pushed below; never pull from the socket, which belongs to the outer request.
  req._read = () => {}
  if (body.length > 0) req.push(body)
  req.push(null)

  const vreq = req as VercelRequest
  defineLazy(vreq, 'query', () => parseQuery(vreq.url))
  defineLazy(vreq, 'cookies', () => parseCookies(vreq.headers.cookie))
  // @vercel/node only reads a body when a content type is given.
  const contentType = headers['content-type']
  const type = Array.isArray(contentType) ? contentType[0] : contentType
  defineLazy(vreq, 'body', () => parseBody(type === undefined ? Buffer.alloc(0) : body, type))
  return vreq
}

/** The weak ETag @vercel/node adds to `send()` bodies: length and SHA-1, like the `etag` package. */
function weakEtag(chunk: Buffer): string {
  const hash = createHash('sha1').update(chunk).digest('base64').slice(0, 27)
  return `W/"${chunk.length.toString(16)}-${hash}"`
}

function withUtf8Charset(contentType: string): string {
  const [type = '', ...params] = contentType.split(';')
  const kept = params
    .map((p) => p.trim())
    .filter((p) => p && !/^charset=/i.test(p))
  const all = [...kept, 'charset=utf-8'].sort((a, b) => a.localeCompare(b))
  return [type.trim().toLowerCase(), ...all].join('; ')
}

function send(req: IncomingMessage, res: VercelResponse, body: unknown): VercelResponse {
  let chunk: string | Buffer | undefined
  switch (typeof body) {
    case 'string':
      if (!res.getHeader('content-type')) res.setHeader('content-type', 'text/html')
      chunk = body
      break
    case 'boolean':
    case 'number':
    case 'object':
      if (body === null) {
        chunk = ''
        break
      }
      if (Buffer.isBuffer(body)) {
        if (!res.getHeader('content-type')) res.setHeader('content-type', 'application/octet-stream')
        chunk = body
        break
      }
      return json(req, res, body)
    case 'undefined':
      chunk = undefined
      break
    default:
      throw new Error('`body` is not a valid string, object, boolean, number, Stream, or Buffer')
  }
  let buffer: Buffer | undefined
  if (typeof chunk === 'string') {
    const type = res.getHeader('content-type')
    if (typeof type === 'string') res.setHeader('content-type', withUtf8Charset(type))
    buffer = Buffer.from(chunk, 'utf8')
  } else {
    buffer = chunk
  }
  if (buffer !== undefined) {
    res.setHeader('content-length', buffer.length)
    if (!res.getHeader('etag')) res.setHeader('etag', weakEtag(buffer))
  }
  if (res.statusCode === 204 || res.statusCode === 304) {
    res.removeHeader('content-type')
    res.removeHeader('content-length')
    res.removeHeader('transfer-encoding')
    buffer = undefined
  }
  if (req.method === 'HEAD' || buffer === undefined) res.end()
  else res.end(buffer)
  return res
}

function json(req: IncomingMessage, res: VercelResponse, value: unknown): VercelResponse {
  const text = JSON.stringify(value) as string | undefined
  if (!res.getHeader('content-type')) res.setHeader('content-type', 'application/json; charset=utf-8')
  return send(req, res, text)
}

/** Adds Vercel's response helpers to the server response. */
export function addResponseHelpers(req: IncomingMessage, response: ServerResponse): VercelResponse {
  const res = response as VercelResponse
  res.status = (code: number) => {
    res.statusCode = code
    return res
  }
  res.send = (body: unknown) => send(req, res, body)
  res.json = (value: unknown) => json(req, res, value)
  res.redirect = (statusOrUrl: string | number, url?: string) => {
    // One argument means a 307 to that URL, as in @vercel/node.
    const [status, location] = typeof statusOrUrl === 'string' ? [307, statusOrUrl] : [statusOrUrl, url]
    if (typeof status !== 'number' || typeof location !== 'string') {
      throw new Error(
        "Invalid redirect arguments. Use res.redirect('/destination') or res.redirect(307, '/destination').",
      )
    }
    res.writeHead(status, { Location: location }).end()
    return res
  }
  return res
}
