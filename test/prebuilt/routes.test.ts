// The prebuilt host routes by the build's config.json as Vercel's proxy does: redirects before
// the filesystem, functions and files, rewrites with `check` that fall through to dynamic routes,
// and the error phase. A table over the shapes `vercel build` writes for this project.
import { describe, expect, it } from 'vitest'
import { routeRequest, type BuildRoute, type Filesystem } from '../../scripts/prebuilt/routes.js'

const ROUTES: BuildRoute[] = [
  { src: '^/(?:(.+)/)?index(?:\\.html)?/?$', headers: { Location: '/$1' }, status: 308 },
  { src: '^/(.*)\\.html/?$', headers: { Location: '/$1' }, status: 308 },
  { handle: 'filesystem' },
  { src: '^/login$', dest: '/api/auth/login', check: true },
  { src: '^/users(?:/([^/]+?))$', dest: '/api/users/$1', check: true },
  { src: '^/api/users/([^/]+)(/|/index)?$', dest: '/api/users/[username]/index?username=$1', check: true },
  { src: '^/api(/.*)?$', status: 404 },
  { handle: 'error' },
  { status: 404, src: '^(?!/api).*$', dest: '/404' },
]

const FUNCTIONS = new Set(['api/auth/login', 'api/users/index', 'api/users/me', 'api/users/[username]/index'])
const fs: Filesystem = (path) => {
  const name = path.slice(1)
  if (FUNCTIONS.has(name)) return { kind: 'function', name }
  if (FUNCTIONS.has(`${name}/index`)) return { kind: 'function', name: `${name}/index` }
  if (path === '/robots.txt' || path === '/404') return { kind: 'static', file: `static${path === '/404' ? '/404.html' : path}` }
  return undefined
}

describe('routeRequest', () => {
  it.each([
    { path: '/api/users/me', expected: { kind: 'function', name: 'api/users/me' } },
    { path: '/api/users', expected: { kind: 'function', name: 'api/users/index' } },
    { path: '/login', expected: { kind: 'function', name: 'api/auth/login' } },
    { path: '/users/alice', expected: { kind: 'function', name: 'api/users/[username]/index', query: 'username=alice' } },
    { path: '/api/users/alice', query: 'username=bob&x=1', expected: { kind: 'function', name: 'api/users/[username]/index', query: 'x=1&username=alice' } },
    { path: '/robots.txt', expected: { kind: 'static', file: 'static/robots.txt' } },
    { path: '/users/index', expected: { kind: 'status', status: 308, location: '/users' } },
    { path: '/api/nothing/here', expected: { kind: 'status', status: 404 } },
    { path: '/nothing', expected: { kind: 'static', file: 'static/404.html', status: 404 } },
  ])('$path → $expected.kind', ({ path, query, expected }) => {
    const r = routeRequest(ROUTES, fs, 'GET', path, new URLSearchParams(query ?? ''))
    expect(r.kind).toBe(expected.kind)
    if ('name' in expected) expect(r).toMatchObject({ name: expected.name })
    if ('file' in expected) expect(r).toMatchObject({ file: expected.file })
    if ('status' in expected) expect(r).toMatchObject({ status: expected.status })
    if ('location' in expected) expect(r.headers.location).toBe(expected.location)
    if (expected.query !== undefined) expect(r.query.toString()).toBe(expected.query)
  })

  it('matches without regard to case unless a route says otherwise', () => {
    expect(routeRequest(ROUTES, fs, 'GET', '/LOGIN', new URLSearchParams())).toMatchObject({ kind: 'function', name: 'api/auth/login' })
    const strict: BuildRoute[] = [{ handle: 'filesystem' }, { src: '^/login$', dest: '/api/auth/login', caseSensitive: true }]
    expect(routeRequest(strict, fs, 'GET', '/LOGIN', new URLSearchParams())).toMatchObject({ kind: 'status', status: 404 })
  })
})
