// Session management through HTTP: listing one's sessions, ending one, and what a user may not
// do to another user's sessions (and an admin may).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SessionView } from '../../lib/schemas.js'
import { login, newUser, startWithAdmin, type Service, type Tokens } from '../helpers/service.js'

let svc: Service
let adminToken: string

beforeAll(async () => {
  ;({ svc, adminToken } = await startWithAdmin())
})
afterAll(() => svc?.stop())


const me = (t: Tokens) => svc.call('GET', '/api/users/me', { token: t.access_token })
const refresh = (t: Tokens) => svc.call('POST', '/api/auth/refresh', { json: { refresh_token: t.refresh_token } })
const sidOf = (t: Tokens) => JSON.parse(Buffer.from(t.access_token.split('.')[1]!, 'base64url').toString()).sid as string

async function sessionsOf(t: Tokens): Promise<SessionView[]> {
  const res = await svc.call('GET', '/api/auth/sessions', { token: t.access_token })
  expect(res.status).toBe(200)
  return (await res.json()).items
}

describe('GET /api/auth/sessions', () => {
  it('lists both sessions of two logins, marks the current one, and truncates the address', async () => {
    const u = await newUser(svc, adminToken)
    const a = await login(svc, u.username, u.password)
    const b = await svc
      .call('POST', '/api/auth/login', { json: { username: u.username, password: u.password }, headers: { 'user-agent': 'second-device/1.0' } })
      .then((r) => r.json() as Promise<Tokens>)

    const seenByA = await sessionsOf(a)
    expect(seenByA.map((s) => s.id).sort()).toEqual([sidOf(a), sidOf(b)].sort())
    expect(seenByA.find((s) => s.id === sidOf(a))!.current).toBe(true)
    expect(seenByA.find((s) => s.id === sidOf(b))!.current).toBe(false)
    expect(seenByA.find((s) => s.id === sidOf(b))!.user_agent).toBe('second-device/1.0')
    const seenByB = await sessionsOf(b)
    expect(seenByB.find((s) => s.id === sidOf(b))!.current).toBe(true)
    expect(seenByB.find((s) => s.id === sidOf(a))!.current).toBe(false)

    for (const s of seenByA) {
      // The runner serves 127.0.0.1; only its /24 is shown.
      expect(s.ip).toBe('127.0.0.0/24')
      expect(Object.keys(s).sort()).toEqual(['created_at', 'current', 'expires_at', 'id', 'ip', 'last_used_at', 'user_agent'])
    }
    const text = JSON.stringify(seenByA)
    expect(text).not.toContain(a.refresh_token.split('.')[1])
    expect(text).not.toContain('hash')
  })

  it('needs a token', async () => {
    const res = await svc.call('GET', '/api/auth/sessions')
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
  })
})

describe('DELETE /api/auth/sessions/{id}', () => {
  it('ends another of the caller\'s sessions: its access token is 401 at once and its refresh token refused', async () => {
    const u = await newUser(svc, adminToken)
    const a = await login(svc, u.username, u.password)
    const b = await login(svc, u.username, u.password)
    const res = await svc.call('DELETE', `/api/auth/sessions/${sidOf(b)}`, { token: a.access_token })
    expect(res.status).toBe(204)
    expect((await me(b)).status).toBe(401)
    const r = await refresh(b)
    expect(r.status).toBe(400)
    expect((await r.json()).error).toBe('invalid_grant')
    // The caller's own session lives on, and the list shows only it.
    expect((await me(a)).status).toBe(200)
    expect((await sessionsOf(a)).map((s) => s.id)).toEqual([sidOf(a)])
    // Ending it again: it is gone.
    expect((await svc.call('DELETE', `/api/auth/sessions/${sidOf(b)}`, { token: a.access_token })).status).toBe(404)
  })

  it('answers 404 for another user\'s session id and leaves that session alive', async () => {
    const u = await newUser(svc, adminToken)
    const v = await newUser(svc, adminToken)
    const tu = await login(svc, u.username, u.password)
    const tv = await login(svc, v.username, v.password)
    const res = await svc.call('DELETE', `/api/auth/sessions/${sidOf(tv)}`, { token: tu.access_token })
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect((await me(tv)).status).toBe(200)
    expect((await refresh(tv)).status).toBe(200)
  })
})

describe('/api/users/{username}/sessions', () => {
  it('is refused (403) to a plain user, for another user and for themself, and changes nothing', async () => {
    const u = await newUser(svc, adminToken)
    const v = await newUser(svc, adminToken)
    const tu = await login(svc, u.username, u.password)
    const tv = await login(svc, v.username, v.password)
    for (const method of ['GET', 'DELETE']) {
      for (const name of [v.username, u.username]) {
        const res = await svc.call(method, `/api/users/${name}/sessions`, { token: tu.access_token })
        expect(res.status, `${method} ${name}`).toBe(403)
      }
    }
    expect((await me(tv)).status).toBe(200)
    expect((await me(tu)).status).toBe(200)
    expect((await svc.call('GET', `/api/users/${v.username}/sessions`)).status).toBe(401)
  })

  it('lets an admin list a user\'s sessions and end all of them', async () => {
    const u = await newUser(svc, adminToken)
    const a = await login(svc, u.username, u.password)
    const b = await login(svc, u.username, u.password)
    const list = await svc.call('GET', `/api/users/${u.username}/sessions`, { token: adminToken })
    expect(list.status).toBe(200)
    const items = (await list.json()).items as SessionView[]
    expect(items.map((s) => s.id).sort()).toEqual([sidOf(a), sidOf(b)].sort())
    expect(items.every((s) => s.current === false)).toBe(true)

    const end = await svc.call('DELETE', `/api/users/${u.username}/sessions`, { token: adminToken })
    expect(end.status).toBe(204)
    expect((await me(a)).status).toBe(401)
    expect((await me(b)).status).toBe(401)
    expect((await refresh(a)).status).toBe(400)
    const after = await svc.call('GET', `/api/users/${u.username}/sessions`, { token: adminToken })
    expect((await after.json()).items).toEqual([])
    // The admin's own session is untouched; an unknown user is 404 to an admin.
    expect((await svc.call('GET', `/api/users/no-such-user/sessions`, { token: adminToken })).status).toBe(404)
  })
})
