// The local runner routes like Vercel: files under api/, index files, [param] segments,
// vercel.json redirects, headers and rewrites, cleanUrls, 404. Uses the database-free fixture
// app in test/fixtures/runner-app.
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRunner, type Runner } from '../../scripts/runner/index.js'

const fixture = fileURLToPath(new URL('../fixtures/runner-app', import.meta.url))

let runner: Runner

beforeAll(async () => {
  runner = await startRunner({ root: fixture, port: 0, watch: false })
})
afterAll(async () => {
  await runner.close()
})

function get(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(runner.url + path, { redirect: 'manual', ...init })
}

async function json(path: string): Promise<Record<string, unknown>> {
  const res = await get(path)
  expect(res.status, path).toBe(200)
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
  return (await res.json()) as Record<string, unknown>
}

describe('filesystem routes', () => {
  it.each([
    { name: 'file route', path: '/api/hello', route: 'hello' },
    { name: 'api/index.ts at /api', path: '/api', route: 'index' },
    { name: 'api/things/index.ts at /api/things', path: '/api/things', route: 'things' },
    { name: 'dynamic [id]', path: '/api/things/42', route: 'thing' },
    { name: 'nested dynamic [id]/parts', path: '/api/things/42/parts', route: 'parts' },
    { name: 'a static file beats [id]', path: '/api/things/special', route: 'special' },
    { name: 'a trailing slash on a file route', path: '/api/hello/', route: 'hello' },
  ])('$name: $path', async ({ path, route }) => {
    expect((await json(path)).route).toBe(route)
  })

  it('puts [param] values into req.query next to the query string', async () => {
    const body = await json('/api/things/42?expand=1')
    expect(body.query).toEqual({ id: '42', expand: '1' })
    expect(body.url).toBe('/api/things/42?expand=1&id=42')
  })

  it('puts nested [param] values into req.query', async () => {
    expect((await json('/api/things/a%20b/parts')).query).toEqual({ id: 'a b' })
  })

  it('lets the path param win over a client query parameter of the same name', async () => {
    expect((await json('/api/things/42?id=evil')).query).toEqual({ id: '42' })
  })

  it.each([
    { name: 'no such function', path: '/api/nope' },
    { name: 'outside api/', path: '/nothing-here' },
    { name: '_ helper file', path: '/api/_helper' },
    { name: 'file in a _ directory', path: '/api/_private/secret' },
    { name: '.d.ts file', path: '/api/types' },
    { name: 'too deep for [id]', path: '/api/things/1/2/3' },
  ])('404 for $name ($path) with Vercel’s NOT_FOUND', async ({ path }) => {
    const res = await get(path)
    expect(res.status).toBe(404)
    expect(res.headers.get('x-vercel-error')).toBe('NOT_FOUND')
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await res.text()).toContain('The page could not be found')
  })
})

describe('vercel.json rewrites', () => {
  it('rewrites a short path with a :param onto a dynamic function', async () => {
    const body = await json('/things/7')
    expect(body.route).toBe('thing')
    expect(body.query).toEqual({ id: '7' })
    // The function sees the path the client asked for, as on Vercel.
    expect(body.url).toBe('/things/7?id=7')
  })

  it('rewrites onto a nested dynamic function', async () => {
    const body = await json('/things/7/parts')
    expect(body.route).toBe('parts')
    expect(body.query).toEqual({ id: '7' })
  })

  it('rewrites a fixed path and keeps the query string', async () => {
    const body = await json('/h?x=1')
    expect(body.route).toBe('hello')
    expect(body.query).toEqual({ x: '1' })
  })

  it('passes params the destination does not use as query parameters', async () => {
    const body = await json('/p/my-slug')
    expect(body.query).toEqual({ slug: 'my-slug' })
  })

  it('merges the destination’s own query with the unused params', async () => {
    const body = await json('/tagged/a%20b')
    expect(body.query).toEqual({ via: 'rewrite', tag: 'a b' })
  })

  it('matches sources strictly: no trailing slash unless the source has one', async () => {
    expect((await get('/h/')).status).toBe(404)
  })
})

describe('vercel.json redirects', () => {
  it('permanent: false gives 307 and keeps the query string', async () => {
    const res = await get('/old-hello?a=b')
    expect(res.status).toBe(307)
    expect(res.headers.get('location')).toBe('/api/hello?a=b')
  })

  it('defaults to 308 and substitutes :params', async () => {
    const res = await get('/legacy/3')
    expect(res.status).toBe(308)
    expect(res.headers.get('location')).toBe('/api/things/3')
  })

  it('uses statusCode and external destinations', async () => {
    const res = await get('/moved')
    expect(res.status).toBe(301)
    expect(res.headers.get('location')).toBe('https://example.com/new')
  })
})

describe('vercel.json headers', () => {
  it('adds matching headers to function responses', async () => {
    const res = await get('/api/hello')
    expect(res.headers.get('x-fixture')).toBe('yes')
    expect(res.headers.get('x-thing')).toBeNull()
  })

  it('substitutes :params into header values', async () => {
    const res = await get('/api/things/9')
    expect(res.headers.get('x-thing')).toBe('thing-9')
  })

  it('matches the requested path, not the rewritten one', async () => {
    const res = await get('/things/9')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-fixture')).toBeNull()
  })

  it('applies to 404s under a matching source', async () => {
    const res = await get('/api/nope')
    expect(res.status).toBe(404)
    expect(res.headers.get('x-fixture')).toBe('yes')
  })
})

describe('cleanUrls', () => {
  it.each([
    { path: '/api/things/index', location: '/api/things' },
    { path: '/api/index', location: '/api' },
    { path: '/api/hello.ts', location: '/api/hello' },
    { path: '/page.html', location: '/page' },
  ])('redirects $path to $location with 308', async ({ path, location }) => {
    const res = await get(path)
    expect(res.status).toBe(308)
    expect(res.headers.get('location')).toBe(location)
  })
})

describe('redirects never leave the site', () => {
  /** A request with its path sent exactly as written (fetch would normalise it first). */
  function rawGet(path: string): Promise<{ status: number; location: string | undefined }> {
    return new Promise((resolve, reject) => {
      const req = request(runner.url, { path, method: 'GET' }, (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }))
      })
      req.on('error', reject)
      req.end()
    })
  }

  it.each([
    { path: '/.//evil.com/a.html', location: '/evil.com/a' },
    { path: '/.///evil.com/a.html', location: '/evil.com/a' },
    { path: '/./%2F/evil.com/index', location: '/%2F/evil.com' },
  ])('$path redirects to the path $location, never to another host', async ({ path, location }) => {
    const res = await rawGet(path)
    expect(res.status).toBe(308)
    expect(res.location).toBe(location)
    expect(res.location).not.toMatch(/^[/\\]{2}/)
  })
})

describe('proxy headers', () => {
  it('overwrites x-forwarded-for and x-real-ip with the socket address, like Vercel', async () => {
    const res = await get('/api/echo', { headers: { 'x-forwarded-for': '6.6.6.6', 'x-real-ip': '6.6.6.6' } })
    const body = (await res.json()) as Record<string, string>
    expect(body.forwardedFor).toBe('127.0.0.1')
    expect(body.realIp).toBe('127.0.0.1')
    expect(body.forwardedProto).toBe('http')
    expect(body.forwardedHost).toBe(new URL(runner.url).host)
    expect(body.vercelId).toMatch(/^dev1::/)
    expect(res.headers.get('x-vercel-id')).toBe(body.vercelId)
  })
})
