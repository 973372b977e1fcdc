import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, login, newUser, startService, type Service, type Tokens } from '../helpers/service.js'

let svc: Service
let adminToken: string

beforeAll(async () => {
  svc = await startService()
  adminToken = (await login(svc, ADMIN.username, ADMIN.password)).access_token
})
afterAll(() => svc?.stop())

const me = (s: Service, t: Tokens) => s.call('GET', '/api/users/me', { token: t.access_token })
const refresh = (s: Service, t: Tokens) => s.call('POST', '/api/auth/refresh', { json: { refresh_token: t.refresh_token } })

describe('POST /api/auth/logout', () => {
  it('ends the session: the access token gets 401 on its next use and its refresh token is refused', async () => {
    const u = await newUser(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    expect((await me(svc, t)).status).toBe(200)
    const out = await svc.call('POST', '/logout', { token: t.access_token })
    expect(out.status).toBe(204)
    const after = await me(svc, t)
    expect(after.status).toBe(401)
    expect(after.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    expect(await after.json()).toMatchObject({ error: 'invalid_token', detail: 'The session has ended' })
    const r = await refresh(svc, t)
    expect(r.status).toBe(400)
    expect((await r.json()).error).toBe('invalid_grant')
    // A second logout with the dead token is refused too.
    expect((await svc.call('POST', '/api/auth/logout', { token: t.access_token })).status).toBe(401)
  })

  it.each([
    { scope: 'local', current: 401, other: 200 },
    { scope: 'others', current: 200, other: 401 },
    { scope: 'global', current: 401, other: 401 },
  ])('scope=$scope (query) ends the right sessions', async ({ scope, current, other }) => {
    const u = await newUser(svc, adminToken)
    const a = await login(svc, u.username, u.password)
    const b = await login(svc, u.username, u.password)
    const res = await svc.call('POST', `/api/auth/logout?scope=${scope}`, { token: a.access_token })
    expect(res.status).toBe(204)
    expect((await me(svc, a)).status).toBe(current)
    expect((await me(svc, b)).status).toBe(other)
    expect((await refresh(svc, b)).status).toBe(other === 200 ? 200 : 400)
  })

  it('takes scope from a JSON body and refuses a bad one with 400, changing nothing', async () => {
    const u = await newUser(svc, adminToken)
    const a = await login(svc, u.username, u.password)
    const bad = await svc.call('POST', '/api/auth/logout', { token: a.access_token, json: { scope: 'everything' } })
    expect(bad.status).toBe(400)
    expect((await bad.json()).errors[0].path).toBe('scope')
    expect((await me(svc, a)).status).toBe(200)
    const ok = await svc.call('POST', '/api/auth/logout', { token: a.access_token, json: { scope: 'global' } })
    expect(ok.status).toBe(204)
    expect((await me(svc, a)).status).toBe(401)
  })

  it('needs a token', async () => {
    const res = await svc.call('POST', '/api/auth/logout')
    expect(res.status).toBe(401)
  })
})

describe('POST /api/auth/refresh', () => {
  it('returns a new pair with no-store; the new access token works; JSON and form bodies', async () => {
    const u = await newUser(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const r = await refresh(svc, t)
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('no-store')
    const next = (await r.json()) as Tokens
    expect(next.refresh_token).not.toBe(t.refresh_token)
    expect(next.access_token).not.toBe(t.access_token)
    expect((await me(svc, next)).status).toBe(200)
    const f = await svc.call('POST', '/refresh', { form: { grant_type: 'refresh_token', refresh_token: next.refresh_token } })
    expect(f.status).toBe(200)
  })

  it.each([
    { name: 'form password', form: { grant_type: 'password' } },
    { name: 'form client_credentials', form: { grant_type: 'client_credentials' } },
    { name: 'JSON password', json: { grant_type: 'password' } },
  ])('answers another grant_type ($name) with 400 unsupported_grant_type, and the token is not spent', async ({ form, json }) => {
    const u = await newUser(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const res = form
      ? await svc.call('POST', '/refresh', { form: { ...form, refresh_token: t.refresh_token } })
      : await svc.call('POST', '/api/auth/refresh', { json: { ...json, refresh_token: t.refresh_token } })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({ status: 400, error: 'unsupported_grant_type' })
    // Read back: the refresh token still rotates, once.
    expect((await refresh(svc, t)).status).toBe(200)
  })

  it('within the reuse interval, a used refresh token gets a fresh pair and the session lives', async () => {
    const u = await newUser(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const first = (await (await refresh(svc, t)).json()) as Tokens
    const again = await refresh(svc, t)
    expect(again.status).toBe(200)
    const second = (await again.json()) as Tokens
    // Both tabs keep working.
    expect((await me(svc, first)).status).toBe(200)
    expect((await me(svc, second)).status).toBe(200)
    expect((await refresh(svc, first)).status).toBe(200)
  })

  // After the interval (10 s), a replay ends the session: test/time/windows.test.ts moves the clock.

  it.each([
    { name: 'an unknown token', token: 'AAAAAAAAAAAAAAAAAAAAAA.bm90LWEtcmVhbC10b2tlbg' },
    { name: 'garbage', token: 'x' },
  ])('refuses $name with 400 invalid_grant', async ({ token }) => {
    const r = await svc.call('POST', '/api/auth/refresh', { json: { refresh_token: token } })
    expect(r.status).toBe(400)
    expect((await r.json()).error).toBe('invalid_grant')
  })
})

describe('revocation on account changes', () => {
  it('a password change ends the other sessions and keeps the current one', async () => {
    const u = await newUser(svc, adminToken)
    const a = await login(svc, u.username, u.password)
    const b = await login(svc, u.username, u.password)
    const res = await svc.call('PATCH', '/api/users/me', {
      token: a.access_token,
      json: { password: 'A-brand-new-passw0rd', current_password: u.password },
    })
    expect(res.status).toBe(200)
    expect((await me(svc, a)).status).toBe(200)
    expect((await me(svc, b)).status).toBe(401)
    expect((await refresh(svc, b)).status).toBe(400)
    expect((await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: 'A-brand-new-passw0rd' } })).status).toBe(200)
  })

  it.each([
    { name: 'demotion', change: { role: 'user' }, role: 'admin' as const },
    { name: 'disabling', change: { disabled: true }, role: 'user' as const },
  ])('$name ends every session at once', async ({ change, role }) => {
    const u = await newUser(svc, adminToken, role)
    const a = await login(svc, u.username, u.password)
    expect((await svc.call('PATCH', `/api/users/${u.username}`, { token: adminToken, json: change })).status).toBe(200)
    expect((await me(svc, a)).status).toBe(401)
    expect((await refresh(svc, a)).status).toBe(400)
  })

  it('deletion ends every session', async () => {
    const u = await newUser(svc, adminToken)
    const a = await login(svc, u.username, u.password)
    expect((await svc.call('DELETE', `/api/users/${u.username}`, { token: adminToken })).status).toBe(204)
    expect((await me(svc, a)).status).toBe(401)
  })
})

// Concurrent authenticated requests in one instance share their session reads (lib/coalesce.ts);
// what a client can see of that is only that nothing changes: its own identity, one round trip,
// and revocation seen by every request sent after it.
describe('authentication under concurrency', () => {
  it('gives each of many parallel requests its own caller, one round trip each, and refuses an ended session among them', async () => {
    const people = await Promise.all(Array.from({ length: 6 }, () => newUser(svc, adminToken)))
    const sessions = await Promise.all(people.map(async (p) => ({ username: p.username, tokens: await login(svc, p.username, p.password) })))
    const ended = sessions.pop()!
    expect((await svc.call('POST', '/api/auth/logout', { token: ended.tokens.access_token })).status).toBe(204)
    const all = [...sessions, ended]
    const answers = await Promise.all(
      Array.from({ length: 140 }, async (_, i) => {
        const who = all[i % all.length]!
        const res = await me(svc, who.tokens)
        return { who, status: res.status, timing: res.headers.get('server-timing'), body: (await res.json()) as { username?: string } }
      }),
    )
    for (const a of answers) {
      expect(a.timing).toMatch(/desc="1 round trip"/)
      if (a.who === ended) {
        expect(a.status).toBe(401)
        expect(a.body.username).toBeUndefined()
      } else {
        expect(a.status).toBe(200)
        expect(a.body.username).toBe(a.who.username)
      }
    }
  })

  it('a logout is seen by every request sent after it, while others are in flight', async () => {
    const u = await newUser(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const seen: { sentAt: number; status: number }[] = []
    let loggedOutAt = Infinity
    let stopAfter = Infinity
    const loop = async () => {
      while (performance.now() < stopAfter) {
        const sentAt = performance.now()
        const res = await me(svc, t)
        await res.arrayBuffer()
        seen.push({ sentAt, status: res.status })
      }
    }
    const loops = Array.from({ length: 8 }, loop)
    while (seen.length < 40) await new Promise((done) => setTimeout(done, 5))
    expect((await svc.call('POST', '/api/auth/logout', { token: t.access_token })).status).toBe(204)
    loggedOutAt = performance.now()
    while (seen.filter((s) => s.sentAt > loggedOutAt).length < 40) await new Promise((done) => setTimeout(done, 5))
    stopAfter = 0
    await Promise.all(loops)
    expect(seen.filter((s) => s.sentAt < loggedOutAt && s.status === 200).length).toBeGreaterThan(0)
    const after = seen.filter((s) => s.sentAt > loggedOutAt)
    expect(after.length).toBeGreaterThanOrEqual(40)
    expect(after.filter((s) => s.status !== 401)).toEqual([])
  })
})
