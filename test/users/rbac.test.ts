// Every user route against every kind of caller, in one table: the contract's RBAC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, newUser, startWithAdmin, type Service } from '../helpers/service.js'
import { mailSettings, startMailbox, type Mailbox } from '../account/mailbox.js'

let svc: Service
let box: Mailbox
let adminToken: string
const bodies: string[] = []

// A user's own email change mails a verification link: deployed, only with mail configured.
beforeAll(async () => {
  box = await startMailbox()
  ;({ svc, adminToken } = await startWithAdmin(mailSettings(box)))
})
afterAll(async () => {
  await svc?.stop()
  await box?.close()
})

type Caller = 'anonymous' | 'user' | 'admin' | 'disabled'
interface Ctx {
  self: { username: string; password: string; email: string }
  other: { username: string; password: string; email: string }
}
interface Case {
  route: string
  caller: Caller
  method: string
  path: (c: Ctx) => string
  body?: (c: Ctx) => unknown
  status: number
}

const fresh = (c: Ctx) => ({ username: `n${c.self.username}`.slice(0, 30), email: `new-${c.self.email}`, password: 'Fresh-passw0rd-xyz' })
const table: Case[] = [
  // anonymous: 401 everywhere
  ...(['GET /api/users', 'POST /api/users', 'GET /api/users/me', 'PATCH /api/users/me', 'GET /api/users/{other}', 'PUT /api/users/{other}', 'PATCH /api/users/{other}', 'DELETE /api/users/{other}'] as const).map(
    (r): Case => ({
      route: r,
      caller: 'anonymous',
      method: r.split(' ')[0]!,
      path: (c) => r.split(' ')[1]!.replace('{other}', c.other.username),
      body: (c) => ({ email: c.other.email, password: 'Whatever-passw0rd' }),
      status: 401,
    }),
  ),
  // a plain user on themself
  { route: 'GET /api/users', caller: 'user', method: 'GET', path: () => '/api/users', status: 403 },
  { route: 'POST /api/users', caller: 'user', method: 'POST', path: () => '/api/users', body: fresh, status: 403 },
  { route: 'GET /api/users/me', caller: 'user', method: 'GET', path: () => '/api/users/me', status: 200 },
  { route: 'PATCH /api/users/me', caller: 'user', method: 'PATCH', path: () => '/api/users/me', body: (c) => ({ email: `x-${c.self.email}`, current_password: c.self.password }), status: 200 },
  { route: 'GET /api/users/{self}', caller: 'user', method: 'GET', path: (c) => `/api/users/${c.self.username}`, status: 200 },
  { route: 'GET /api/users/{SELF} (other case)', caller: 'user', method: 'GET', path: (c) => `/api/users/${c.self.username.toUpperCase()}`, status: 200 },
  { route: 'PUT /api/users/{self}', caller: 'user', method: 'PUT', path: (c) => `/api/users/${c.self.username}`, body: (c) => ({ email: c.self.email, password: 'Another-passw0rd-1', current_password: c.self.password }), status: 200 },
  { route: 'PUT /api/users/{self} without current_password', caller: 'user', method: 'PUT', path: (c) => `/api/users/${c.self.username}`, body: (c) => ({ email: c.self.email, password: 'Another-passw0rd-1' }), status: 400 },
  { route: 'PATCH /api/users/{self}', caller: 'user', method: 'PATCH', path: (c) => `/api/users/${c.self.username}`, body: (c) => ({ email: `y-${c.self.email}`, current_password: c.self.password }), status: 200 },
  { route: 'PATCH /api/users/{self} role', caller: 'user', method: 'PATCH', path: (c) => `/api/users/${c.self.username}`, body: () => ({ role: 'admin' }), status: 403 },
  { route: 'PATCH /api/users/{self} disabled', caller: 'user', method: 'PATCH', path: (c) => `/api/users/${c.self.username}`, body: () => ({ disabled: false }), status: 403 },
  { route: 'DELETE /api/users/{self}', caller: 'user', method: 'DELETE', path: (c) => `/api/users/${c.self.username}`, status: 204 },
  // a plain user on another user: 403, before any lookup (so no 404 leaks existence)
  { route: 'GET /api/users/{other}', caller: 'user', method: 'GET', path: (c) => `/api/users/${c.other.username}`, status: 403 },
  { route: 'GET /api/users/{missing}', caller: 'user', method: 'GET', path: () => '/api/users/no-such-user', status: 403 },
  { route: 'PUT /api/users/{other}', caller: 'user', method: 'PUT', path: (c) => `/api/users/${c.other.username}`, body: (c) => ({ email: c.other.email, password: 'Another-passw0rd-1' }), status: 403 },
  { route: 'PATCH /api/users/{other}', caller: 'user', method: 'PATCH', path: (c) => `/api/users/${c.other.username}`, body: () => ({ role: 'admin' }), status: 403 },
  { route: 'DELETE /api/users/{other}', caller: 'user', method: 'DELETE', path: (c) => `/api/users/${c.other.username}`, status: 403 },
  // an admin
  { route: 'GET /api/users', caller: 'admin', method: 'GET', path: () => '/api/users', status: 200 },
  { route: 'POST /api/users', caller: 'admin', method: 'POST', path: () => '/api/users', body: fresh, status: 201 },
  { route: 'GET /api/users/me', caller: 'admin', method: 'GET', path: () => '/api/users/me', status: 200 },
  { route: 'GET /api/users/{other}', caller: 'admin', method: 'GET', path: (c) => `/api/users/${c.other.username}`, status: 200 },
  { route: 'GET /api/users/{missing}', caller: 'admin', method: 'GET', path: () => '/api/users/no-such-user', status: 404 },
  { route: 'PUT /api/users/{other} (no current_password needed)', caller: 'admin', method: 'PUT', path: (c) => `/api/users/${c.other.username}`, body: (c) => ({ email: c.other.email, password: 'Set-by-admin-passw0rd' }), status: 200 },
  { route: 'PATCH /api/users/{other} role', caller: 'admin', method: 'PATCH', path: (c) => `/api/users/${c.other.username}`, body: () => ({ role: 'admin' }), status: 200 },
  { route: 'PATCH /api/users/{other} disabled', caller: 'admin', method: 'PATCH', path: (c) => `/api/users/${c.other.username}`, body: () => ({ disabled: true }), status: 200 },
  { route: 'DELETE /api/users/{other}', caller: 'admin', method: 'DELETE', path: (c) => `/api/users/${c.other.username}`, status: 204 },
  { route: 'DELETE /api/users/{missing}', caller: 'admin', method: 'DELETE', path: () => '/api/users/no-such-user', status: 404 },
  // a disabled user: their token died with the disabling
  ...(['GET /api/users/me', 'GET /api/users/{self}', 'PATCH /api/users/me'] as const).map(
    (r): Case => ({
      route: r,
      caller: 'disabled',
      method: r.split(' ')[0]!,
      path: (c) => r.split(' ')[1]!.replace('{self}', c.self.username),
      body: (c) => ({ email: c.self.email, current_password: c.self.password }),
      status: 401,
    }),
  ),
]

describe('user routes by caller', () => {
  it.each(table)('$caller: $route → $status', async ({ caller, method, path, body, status }) => {
    const self = await newUser(svc, adminToken, caller === 'admin' ? 'admin' : 'user')
    const other = await newUser(svc, adminToken)
    const ctx: Ctx = { self, other }
    let token: string | undefined
    if (caller !== 'anonymous') token = (await login(svc, self.username, self.password)).access_token
    if (caller === 'disabled') {
      expect((await svc.call('PATCH', `/api/users/${self.username}`, { token: adminToken, json: { disabled: true } })).status).toBe(200)
    }
    const res = await svc.call(method, path(ctx), { token, json: body && method !== 'GET' && method !== 'DELETE' ? body(ctx) : undefined })
    const text = await res.text()
    bodies.push(text)
    expect(res.status, text).toBe(status)
    if (status >= 400) {
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
    } else if (status !== 204) {
      const json = JSON.parse(text)
      const users = Array.isArray(json.items) ? json.items : [json]
      for (const u of users) expect(Object.keys(u).sort()).toEqual(['created_at', 'disabled', 'email', 'email_verified', 'id', 'pending_email', 'role', 'updated_at', 'username'])
    }
    if (status === 201) expect(res.headers.get('location')).toBe(`/api/users/${JSON.parse(text).username}`)
  })

  it('no answer of any route carried a password or a bcrypt hash', () => {
    expect(bodies.length).toBe(table.length)
    for (const b of bodies) {
      expect(b).not.toMatch(/password_hash|"password"/)
      expect(b).not.toMatch(/\$2[aby]\$\d\d\$/)
    }
  })
})
