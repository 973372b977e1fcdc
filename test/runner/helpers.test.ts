// The Vercel Node.js runtime helpers as the runner provides them: req.body by content type,
// req.query, req.cookies, res.status/json/send/redirect, the 4.5 MB body limit, and what a
// crashing function answers.
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startRunner, type Runner } from '../../scripts/runner/index.js'

const fixture = fileURLToPath(new URL('../fixtures/runner-app', import.meta.url))

let runner: Runner

beforeAll(async () => {
  runner = await startRunner({ root: fixture, port: 0, watch: false })
})
afterAll(async () => {
  await runner.close()
})

interface Echo {
  query: Record<string, string | string[]>
  cookies: Record<string, string>
  body: unknown
  bodyType: string
}

async function echo(init: RequestInit & { path?: string } = {}): Promise<Echo> {
  const res = await fetch(`${runner.url}${init.path ?? '/api/echo'}`, init)
  expect(res.status).toBe(200)
  return (await res.json()) as Echo
}

describe('req.body', () => {
  it.each([
    {
      name: 'JSON',
      headers: { 'content-type': 'application/json' },
      body: '{"username":"ann","n":1}',
      expected: { username: 'ann', n: 1 },
      type: 'object',
    },
    {
      name: 'JSON with a charset',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"a":[1,2]}',
      expected: { a: [1, 2] },
      type: 'object',
    },
    {
      name: 'empty JSON',
      headers: { 'content-type': 'application/json' },
      body: '',
      expected: {},
      type: 'object',
    },
    {
      name: 'form',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=password&username=ann&password=p%26ss+word&scope=a&scope=b',
      expected: { grant_type: 'password', username: 'ann', password: 'p&ss word', scope: ['a', 'b'] },
      type: 'object',
    },
    {
      name: 'text/plain',
      headers: { 'content-type': 'text/plain' },
      body: 'just text',
      expected: 'just text',
      type: 'string',
    },
    {
      name: 'octet-stream as a Buffer',
      headers: { 'content-type': 'application/octet-stream' },
      body: 'AB',
      expected: { buffer: Buffer.from('AB').toString('base64') },
      type: 'buffer',
    },
    {
      name: 'no content type (read as empty text, like @vercel/node)',
      headers: {} as Record<string, string>,
      body: undefined,
      expected: '',
      type: 'string',
    },
  ])('$name', async ({ headers, body, expected, type }) => {
    const result = await echo({ method: 'POST', headers, body })
    expect(result.body).toEqual(expected)
    expect(result.bodyType).toBe(type)
  })

  it('leaves an unknown content type undefined', async () => {
    const res = await fetch(`${runner.url}/api/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<a/>',
    })
    const result = (await res.json()) as Record<string, unknown>
    expect(result.body).toBeUndefined()
    expect(result.bodyType).toBe('undefined')
  })

  it('answers malformed JSON with 400 when the function does not handle it', async () => {
    const res = await fetch(`${runner.url}/api/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"broken":',
    })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('Invalid JSON')
  })

  it('still lets the function read the request stream itself', async () => {
    const res = await fetch(`${runner.url}/api/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"streamed":true}',
    })
    expect(await res.json()).toEqual({ length: 17, text: '{"streamed":true}' })
  })

  it('accepts a body just under 4.5 MB', async () => {
    const size = 4.5 * 1024 * 1024 - 10
    const res = await fetch(`${runner.url}/api/stream`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x'.repeat(size),
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { length: number }).length).toBe(size)
  })

  it('refuses a body over 4.5 MB with 413 FUNCTION_PAYLOAD_TOO_LARGE', async () => {
    const res = await fetch(`${runner.url}/api/echo`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x'.repeat(4.5 * 1024 * 1024 + 1),
    })
    expect(res.status).toBe(413)
    expect(res.headers.get('x-vercel-error')).toBe('FUNCTION_PAYLOAD_TOO_LARGE')
  })
})

describe('req.query and req.cookies', () => {
  it('parses the query string, repeated keys as arrays', async () => {
    const result = await echo({ path: '/api/echo?a=1&a=2&b=x%20y&empty=' })
    expect(result.query).toEqual({ a: ['1', '2'], b: 'x y', empty: '' })
  })

  it('parses cookies: decoded, unquoted, first one wins', async () => {
    const result = await echo({ headers: { cookie: 'sid=abc; theme="dark%20blue"; sid=second; broken' } })
    expect(result.cookies).toEqual({ sid: 'abc', theme: 'dark blue' })
  })

  it('gives {} without a cookie header', async () => {
    expect((await echo()).cookies).toEqual({})
  })
})

describe('response helpers', () => {
  const send = (kind: string, init?: RequestInit) =>
    fetch(`${runner.url}/api/send?kind=${kind}`, { redirect: 'manual', ...init })

  it('res.status().json() sets status, JSON content type, length and a weak ETag', async () => {
    const res = await send('created')
    expect(res.status).toBe(201)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(res.headers.get('content-length')).toBe('16')
    expect(res.headers.get('etag')).toMatch(/^W\/"10-[A-Za-z0-9+/]{27}"$/)
    expect(await res.json()).toEqual({ created: true })
  })

  it('res.json() keeps a content type the function set, adding the charset', async () => {
    const res = await send('problem')
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
  })

  it('res.send(string) defaults to text/html', async () => {
    const res = await send('text')
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await res.text()).toBe('<p>hi</p>')
  })

  it('res.send(Buffer) defaults to application/octet-stream', async () => {
    const res = await send('buffer')
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([1, 2, 3])
  })

  it('res.send(object) sends JSON', async () => {
    const res = await send('object')
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(await res.json()).toEqual({ a: 1 })
  })

  it('res.send() with 204 drops the body and its headers', async () => {
    const res = await send('empty')
    expect(res.status).toBe(204)
    expect(res.headers.get('content-type')).toBeNull()
    expect(await res.text()).toBe('')
  })

  it('res.send() answers HEAD without a body', async () => {
    const res = await send('text', { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe('9')
    expect(await res.text()).toBe('')
  })

  it('res.redirect(url) is a 307', async () => {
    const res = await send('redirect')
    expect(res.status).toBe(307)
    expect(res.headers.get('location')).toBe('/api/hello')
  })

  it('res.redirect(status, url) uses the status', async () => {
    const res = await send('redirect301')
    expect(res.status).toBe(301)
    expect(res.headers.get('location')).toBe('https://example.com/')
  })
})

describe('a function that throws', () => {
  it.each([
    { name: 'synchronously', path: '/api/boom?sync=1' },
    { name: 'with a rejected promise', path: '/api/boom' },
  ])('$name: 500 with a plain body, the error only in the log', async ({ path }) => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const res = await fetch(runner.url + path)
      expect(res.status).toBe(500)
      expect(res.headers.get('x-vercel-error')).toBe('FUNCTION_INVOCATION_FAILED')
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
      const text = await res.text()
      expect(text).not.toContain('fixture secret detail')
      expect(text).not.toContain('boom.ts')
      expect(logged).toHaveBeenCalled()
      expect(String(logged.mock.calls.flat().map((a) => (a instanceof Error ? a.message : a)))).toContain(
        'fixture secret detail',
      )
    } finally {
      logged.mockRestore()
    }
  })
})
