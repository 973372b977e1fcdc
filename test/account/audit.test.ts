// The audit trail through HTTP: each security event of a user's life shows up in
// GET /api/audit with the right actor and user, filters work, only admins may read it, and no
// entry ever holds a token, a password or a hash.
import { MongoClient } from 'mongodb'
import type { AuditView } from '../../lib/schemas.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, login, newUser, startWithAdmin, type Service, type Tokens } from '../helpers/service.js'

let svc: Service
let adminToken: string

beforeAll(async () => {
  ;({ svc, adminToken } = await startWithAdmin())
})
afterAll(() => svc?.stop())

type AuditEntry = AuditView

const sidOf = (t: Tokens) => JSON.parse(Buffer.from(t.access_token.split('.')[1]!, 'base64url').toString()).sid as string

async function audit(query: string, token = adminToken): Promise<AuditEntry[]> {
  const res = await svc.call('GET', `/api/audit?${query}`, { token })
  expect(res.status).toBe(200)
  return (await res.json()).items
}

/** The audit write follows the response: poll (up to ~2 s) until every wanted event is there. */
async function auditUntil(query: string, wanted: string[]): Promise<AuditEntry[]> {
  const deadline = Date.now() + 2000
  for (;;) {
    const items = await audit(query)
    const missing = wanted.filter((w) => !items.some((i) => i.event === w))
    if (missing.length === 0 || Date.now() > deadline) return items
  }
}

describe('GET /api/audit', () => {
  it('records each event of a user\'s life with the right actor and user, and nothing secret', async () => {
    const u = await newUser(svc, adminToken)
    const secrets: string[] = [u.password]

    // login.success, then login.failure
    const t1 = await login(svc, u.username, u.password)
    expect((await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: 'Wrong-passw0rd!' } })).status).toBe(401)
    secrets.push('Wrong-passw0rd!')

    // token.refresh is routine: named in the log line, kept out of the trail. (token.reuse needs
    // the reuse grace to pass: test/time/windows.test.ts moves the clock for it.)
    const t2 = await login(svc, u.username, u.password)
    const rotated = await svc.call('POST', '/api/auth/refresh', { json: { refresh_token: t2.refresh_token } })
    expect(rotated.status).toBe(200)
    const t2b = (await rotated.json()) as Tokens

    // logout
    const t3 = await login(svc, u.username, u.password)
    expect((await svc.call('POST', '/api/auth/logout', { token: t3.access_token })).status).toBe(204)

    // session.ended
    const t4 = await login(svc, u.username, u.password)
    expect((await svc.call('DELETE', `/api/auth/sessions/${sidOf(t4)}`, { token: t1.access_token })).status).toBe(204)

    // password.changed (by the user)
    const newPassword = 'Audit-changed-passw0rd'
    secrets.push(newPassword)
    const changed = await svc.call('PATCH', '/api/users/me', { token: t1.access_token, json: { password: newPassword, current_password: u.password } })
    expect(changed.status).toBe(200)

    // role.changed, user.disabled, user.deleted (by the admin)
    expect((await svc.call('PATCH', `/api/users/${u.username}`, { token: adminToken, json: { role: 'admin' } })).status).toBe(200)
    expect((await svc.call('PATCH', `/api/users/${u.username}`, { token: adminToken, json: { disabled: true } })).status).toBe(200)
    expect((await svc.call('DELETE', `/api/users/${u.username}`, { token: adminToken })).status).toBe(204)

    for (const t of [t1, t2, t2b, t3, t4]) secrets.push(t.access_token, t.refresh_token, t.refresh_token.split('.')[1]!)

    const expected = [
      { event: 'login.success', actor: u.username, user: u.username },
      { event: 'login.failure', actor: null, user: u.username },
      { event: 'logout', actor: u.username, user: u.username },
      { event: 'session.ended', actor: u.username, user: u.username },
      { event: 'password.changed', actor: u.username, user: u.username },
      { event: 'role.changed', actor: ADMIN.username, user: u.username },
      { event: 'user.disabled', actor: ADMIN.username, user: u.username },
      { event: 'user.deleted', actor: ADMIN.username, user: u.username },
    ]
    const items = await auditUntil(`user=${u.username}`, expected.map((e) => e.event))
    for (const e of expected) expect(items, e.event).toContainEqual(expect.objectContaining(e))
    expect(items.map((e) => e.event)).not.toContain('token.refresh')
    // Newest first; every entry has its request id and the client's address.
    expect(items[0]!.event).toBe('user.deleted')
    expect(items.every((i) => i.request_id && i.ip)).toBe(true)
    expect(items.find((i) => i.event === 'session.ended')!.detail).toEqual({ session_id: sidOf(t4) })
    expect(items.filter((i) => i.event === 'login.success')).toHaveLength(4)

    // The stored ids name the same people: the target's id is never the acting admin's.
    const client = new MongoClient(svc.env.MONGODB_URI!)
    try {
      const stored = await client.db(svc.env.MONGODB_DB).collection('audit').find({ user: u.username }).toArray()
      for (const doc of stored) {
        if (doc.user_id != null) expect(doc.user_id, doc.event).toBe(u.user.id)
      }
      expect(stored.find((d) => d.event === 'role.changed')!.user_id).toBe(u.user.id)
      expect(JSON.stringify(stored)).not.toMatch(/\$2[aby]\$/)
    } finally {
      await client.close()
    }

    const text = JSON.stringify(items)
    for (const s of secrets) expect(text).not.toContain(s)
    expect(text).not.toMatch(/\$2[aby]\$/)
    expect(text).not.toMatch(/password_hash|refresh_hash/)
  })

  it('filters by event', async () => {
    const u = await newUser(svc, adminToken)
    await login(svc, u.username, u.password)
    expect((await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: 'Not-the-passw0rd' } })).status).toBe(401)
    await auditUntil(`user=${u.username}`, ['login.success', 'login.failure'])
    const failures = await audit(`user=${u.username}&event=login.failure`)
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatchObject({ event: 'login.failure', user: u.username, actor: null })
    // The event filter alone spans users.
    const all = await audit('event=login.failure&limit=100')
    expect(all.length).toBeGreaterThanOrEqual(1)
    expect(all.every((i) => i.event === 'login.failure')).toBe(true)
  })

  it('is for admins only', async () => {
    const u = await newUser(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const res = await svc.call('GET', '/api/audit', { token: t.access_token })
    expect(res.status).toBe(403)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect((await svc.call('GET', `/api/audit?user=${u.username}`, { token: t.access_token })).status).toBe(403)
    expect((await svc.call('GET', '/api/audit')).status).toBe(401)
  })

  it.each([
    { name: 'a bad event name', query: 'event=DROP', path: 'event' },
    { name: 'an unknown parameter', query: 'actor=x', path: 'actor' },
    { name: 'a bad cursor', query: 'cursor=zzz', path: 'cursor' },
  ])('refuses $name with 400', async ({ query, path }) => {
    const res = await svc.call('GET', `/api/audit?${query}`, { token: adminToken })
    expect(res.status).toBe(400)
    expect((await res.json()).errors[0].path).toBe(path)
  })
})
