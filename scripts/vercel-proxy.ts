// What Vercel's proxy does to every request before a function sees it, shared by the local
// runner (scripts/runner/) and the prebuilt host (scripts/prebuilt/): the request id, the
// forwarded headers it overwrites, and its plain-text error answers. Local tooling only.
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** A plain-text error like Vercel's own (`x-vercel-error` names the code). */
export function sendVercelError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.end()
    return
  }
  const body = `${message}\n\n${code}\n`
  res.statusCode = status
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  res.setHeader('content-length', Buffer.byteLength(body))
  res.setHeader('x-vercel-error', code)
  res.end(body)
}

/** Same shape as Vercel's `<region>::<random>-<ms>-<random>`, with "dev1" as the region. */
export function vercelId(): string {
  return `dev1::${randomBytes(3).toString('hex')}-${Date.now()}-${randomBytes(6).toString('hex')}`
}

function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1'
  return address.startsWith('::ffff:') ? address.slice(7) : address
}

/**
 * The request's headers as a function receives them. Vercel's proxy overwrites these with what
 * it saw, whatever the client sent: the client IP (its own x-forwarded-for is not trusted), the
 * original host and scheme. Doing the same locally, with the socket address as the client IP,
 * keeps address-based logic (rate limits, session IPs) behaving identically here and deployed.
 */
export function proxyHeaders(req: IncomingMessage, id: string): Record<string, string | string[] | undefined> {
  const address = clientAddress(req)
  return {
    ...req.headers,
    'x-forwarded-for': address,
    'x-real-ip': address,
    'x-forwarded-proto': 'http',
    'x-forwarded-host': req.headers.host ?? 'localhost',
    'x-vercel-id': id,
  }
}
