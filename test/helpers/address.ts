// Requests from another loopback address (127.0.0.2 and up). The runner, like Vercel, takes the
// client address from the socket, never from a header the client sends; a test whose requests
// must not share the per-address limits with the rest of its file sends them from an address
// of its own. node:http rather than fetch, which cannot choose its source address.
import { request } from 'node:http'

let next = 2

/** A loopback address no other caller in this test process has been given. */
export function freshAddress(): string {
  if (next > 254) throw new Error('out of loopback addresses')
  return `127.0.0.${next++}`
}

export interface FromOptions {
  json?: unknown
  token?: string
  headers?: Record<string, string>
}

/** `method url` sent from `address`; answers a fetch Response. */
export function callFrom(address: string, url: string, method: string, opts: FromOptions = {}): Promise<Response> {
  const body = opts.json === undefined ? undefined : JSON.stringify(opts.json)
  const headers: Record<string, string> = { ...opts.headers }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, localAddress: address }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const out = new Headers()
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(', ') : v)
        const status = res.statusCode ?? 0
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: out }))
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}
