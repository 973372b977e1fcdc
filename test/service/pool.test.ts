// A function instance opens one client and reuses its pool across invocations.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ADMIN, login, onPrebuilt, startService, type Service } from '../helpers/service.js'

let svc: Service
beforeAll(async () => {
  svc = await startService({ LOG_LEVEL: 'debug', MONGODB_MAX_POOL_SIZE: '3' })
})
afterAll(() => svc?.stop())

const events = (name: string) =>
  svc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string })
    .filter((l) => l.msg === name).length

it('creates one MongoClient and a handful of connections for many sequential and parallel requests', async () => {
  const token = (await login(svc, ADMIN.username, ADMIN.password)).access_token
  for (let i = 0; i < 30; i++) expect((await svc.call('GET', '/api/users/me', { token })).status).toBe(200)
  // Every function this test calls has now served a request (on a deployment each is an instance of its own).
  expect((await svc.fetch('/api/health')).status).toBe(200)
  const before = events('db.connection_created')
  for (let i = 0; i < 30; i++) expect((await svc.fetch('/api/health')).status).toBe(200)
  for (let i = 0; i < 30; i++) expect((await svc.call('GET', '/api/users/me', { token })).status).toBe(200)
  // Sequential requests reuse pooled connections: none new.
  expect(events('db.connection_created')).toBe(before)
  await Promise.all(Array.from({ length: 40 }, () => svc.call('GET', '/api/users/me', { token })))
  // One client per instance: the local runner is one instance; built, login, me and health are
  // three, beside the prebuilt host's own, which created the first admin.
  expect(events('db.client_created')).toBe(onPrebuilt ? 4 : 1)
  // Parallel requests open at most the pool's size (MONGODB_MAX_POOL_SIZE).
  expect(events('db.connection_created') - before).toBeLessThanOrEqual(3)
})

it('answers /api/health with 200 and the contract body, with Server-Timing and x-request-id', async () => {
  const res = await svc.fetch('/health', { headers: { 'x-request-id': 'probe-123' } })
  expect(res.status).toBe(200)
  expect(await res.json()).toEqual({ status: 'ok', db: 'ok' })
  expect(res.headers.get('x-request-id')).toBe('probe-123')
  expect(res.headers.get('server-timing')).toMatch(/^db;dur=[\d.]+;desc="1 round trip"$/)
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
})

it('counts round trips in Server-Timing in words a reader expects (0 round trips, 1 round trip)', async () => {
  // The key set touches no database: zero, plural.
  const keys = await svc.fetch('/.well-known/jwks.json')
  expect(keys.status).toBe(200)
  expect(keys.headers.get('server-timing')).toMatch(/^db;dur=[\d.]+;desc="0 round trips"$/)
})

it('answers CORS preflights only for configured origins', async () => {
  const res = await svc.fetch('/api/users/me', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } })
  expect(res.status).toBe(204)
  expect(res.headers.get('access-control-allow-origin')).toBeNull()
})
