// Routing decisions without a server: trailingSlash, `has`/`missing` conditions, rewrite
// chains and ordering, on the fixture's api/ with configs given inline.
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { buildFunctionTable } from '../../scripts/runner/functions.js'
import { resolveRoute } from '../../scripts/runner/router.js'
import { compileConfig, type RequestFacts, type VercelConfig } from '../../scripts/runner/rules.js'

const table = buildFunctionTable(fileURLToPath(new URL('../fixtures/runner-app', import.meta.url)))

function route(config: VercelConfig, path: string, facts: Partial<RequestFacts> = {}) {
  const url = new URL(path, 'http://x')
  return resolveRoute(
    url.pathname,
    { headers: {}, query: url.searchParams, host: 'localhost', cookies: () => ({}), ...facts },
    compileConfig(config, table.extensions),
    table,
  )
}

function target(result: ReturnType<typeof route>): string {
  switch (result.kind) {
    case 'function':
      return `${result.fn.source}?${result.query.toString()}`
    case 'redirect':
      return `${result.status} ${result.location}`
    default:
      return result.kind
  }
}

describe('trailingSlash', () => {
  it('false: redirects /x/ to /x', () => {
    expect(target(route({ trailingSlash: false }, '/api/hello/'))).toBe('308 /api/hello')
    expect(target(route({ trailingSlash: false }, '/api/hello'))).toBe('api/hello.ts?')
  })
  it('true: redirects /x to /x/ and serves /x/', () => {
    expect(target(route({ trailingSlash: true }, '/api/hello'))).toBe('308 /api/hello/')
    expect(target(route({ trailingSlash: true }, '/api/hello/'))).toBe('api/hello.ts?')
  })
  it('unset: serves both', () => {
    expect(target(route({}, '/api/hello/'))).toBe('api/hello.ts?')
    expect(target(route({}, '/api/hello'))).toBe('api/hello.ts?')
  })
})

describe('has and missing', () => {
  const config: VercelConfig = {
    rewrites: [
      {
        source: '/v/:rest*',
        destination: '/api/echo?tenant=:tenant',
        has: [{ type: 'header', key: 'X-Tenant', value: '(?<tenant>[a-z]+)' }],
      },
      { source: '/beta', destination: '/api/hello', missing: [{ type: 'cookie', key: 'optout' }] },
      { source: '/q', destination: '/api/echo', has: [{ type: 'query', key: 'key' }] },
    ],
  }
  it('matches a header with a named group usable in the destination', () => {
    // The destination's path uses no param, so Vercel also passes the source's params as query.
    expect(target(route(config, '/v/a/b', { headers: { 'x-tenant': 'acme' } }))).toBe(
      'api/echo.ts?tenant=acme&rest=a%2Fb',
    )
    expect(target(route(config, '/v/a/b', { headers: { 'x-tenant': 'ACME' } }))).toBe('not-found')
  })
  it('honours missing', () => {
    expect(target(route(config, '/beta'))).toBe('api/hello.ts?')
    expect(target(route(config, '/beta', { cookies: () => ({ optout: '1' }) }))).toBe('not-found')
  })
  it('passes a valueless query condition through as a param', () => {
    expect(target(route(config, '/q?key=v'))).toBe('api/echo.ts?key=v')
  })
})

describe('rewrites', () => {
  it('chain: a miss continues with the rewritten path, then reaches [param] routes', () => {
    const config: VercelConfig = {
      rewrites: [
        { source: '/a/:id', destination: '/b/:id' },
        { source: '/b/:id', destination: '/api/things/:id' },
      ],
    }
    expect(target(route(config, '/a/5'))).toBe('api/things/[id].ts?id=5')
  })
  it('the filesystem wins over a rewrite with the same source', () => {
    const config: VercelConfig = { rewrites: [{ source: '/api/hello', destination: '/api/echo' }] }
    expect(target(route(config, '/api/hello'))).toBe('api/hello.ts?')
  })
  it('a rewrite wins over a generated [param] route', () => {
    const config: VercelConfig = { rewrites: [{ source: '/api/things/:id', destination: '/api/echo' }] }
    expect(target(route(config, '/api/things/5'))).toBe('api/echo.ts?id=5')
  })
  it('(.*) groups are usable as $1', () => {
    const config: VercelConfig = { rewrites: [{ source: '/old-api/(.*)', destination: '/api/$1' }] }
    expect(target(route(config, '/old-api/hello'))).toBe('api/hello.ts?')
  })
  it('an external destination is reported, not served', () => {
    const config: VercelConfig = { rewrites: [{ source: '/ext', destination: 'https://example.com/x' }] }
    expect(route(config, '/ext')).toEqual({ kind: 'external', url: 'https://example.com/x' })
  })
  it('refuses the legacy routes property', () => {
    expect(() => route({ routes: [] }, '/')).toThrow(/routes/)
  })
})

describe('redirects before everything', () => {
  it('a redirect shadows an existing function', () => {
    const config: VercelConfig = { redirects: [{ source: '/api/hello', destination: '/api', permanent: true }] }
    expect(target(route(config, '/api/hello'))).toBe('308 /api')
  })
})
