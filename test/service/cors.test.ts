// CORS with CORS_ORIGINS set: a listed origin gets its own origin back (and Vary: Origin) on
// preflights, answers and problems alike, with the route's methods and the headers a browser
// client needs; any other origin gets no CORS header at all; `*` allows every origin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startService, type Service } from '../helpers/service.js'

const APP = 'https://app.example'
let svc: Service
let open: Service

beforeAll(async () => {
  ;[svc, open] = await Promise.all([startService({ CORS_ORIGINS: `${APP}, https://admin.example` }), startService({ CORS_ORIGINS: '*' })])
})
afterAll(() => Promise.all([svc?.stop(), open?.stop()]))

const preflight = (s: Service, path: string, origin: string) =>
  s.fetch(path, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } })

describe('CORS_ORIGINS lists the allowed origins', () => {
  it('answers a preflight from a listed origin with that origin, the route\'s methods and the allowed headers', async () => {
    const res = await preflight(svc, '/api/users', APP)
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
    expect(res.headers.get('vary')).toBe('Origin')
    expect(res.headers.get('access-control-allow-methods')).toBe('POST, GET, HEAD, OPTIONS')
    expect(res.headers.get('access-control-allow-headers')).toBe('Authorization, Content-Type, x-request-id')
    expect(res.headers.get('access-control-max-age')).toBe('600')
    expect(res.headers.get('allow')).toBe('POST, GET, HEAD, OPTIONS')
  })

  it('lets a listed origin read answers and problems, and the headers a client needs', async () => {
    for (const [path, status] of [['/api/health', 200], ['/api/users/me', 401]] as const) {
      const res = await svc.fetch(path, { headers: { origin: 'https://admin.example' } })
      expect(res.status).toBe(status)
      expect(res.headers.get('access-control-allow-origin')).toBe('https://admin.example')
      expect(res.headers.get('vary')).toBe('Origin')
      expect(res.headers.get('access-control-expose-headers')).toBe('Location, Retry-After, WWW-Authenticate, x-request-id, Server-Timing')
      // Preflight-only headers stay off ordinary answers.
      expect(res.headers.get('access-control-allow-methods')).toBeNull()
    }
  })

  it.each([
    { name: 'another origin', origin: 'https://evil.example' },
    { name: 'a listed origin with another scheme', origin: 'http://app.example' },
    { name: 'a listed origin with a path suffix trick', origin: 'https://app.example.evil.example' },
  ])('gives $name no CORS header, on a preflight or an answer', async ({ origin }) => {
    const pre = await preflight(svc, '/api/users', origin)
    expect(pre.status).toBe(204)
    const res = await svc.fetch('/api/health', { headers: { origin } })
    for (const r of [pre, res]) {
      expect(r.headers.get('access-control-allow-origin')).toBeNull()
      expect(r.headers.get('access-control-allow-methods')).toBeNull()
      expect(r.headers.get('access-control-expose-headers')).toBeNull()
    }
  })

  it('with `*`, allows any origin (answered `*`)', async () => {
    const res = await open.fetch('/api/health', { headers: { origin: 'https://anyone.example' } })
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    const pre = await preflight(open, '/api/auth/login', 'https://anyone.example')
    expect(pre.headers.get('access-control-allow-origin')).toBe('*')
    expect(pre.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS')
  })
})
