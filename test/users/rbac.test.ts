// Every user route against every kind of caller, in one table: the contract's RBAC. Each row
// makes its own users and checks its own answer, so rows run in any order; a refused request is
// shown to have changed nothing by reading both users back (and, for a refused creation, that
// the user does not exist).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, newUser, startWithAdmin, type Service } from '../helpers/service.js'
import { mailSettings, startMailbox, type Mailbox } from '../account/mailbox.js'

let svc: Service
let box: Mailbox
let adminToken: string

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

/** A user as an admin reads it, or the status when it cannot be read. */
async function readBack(username: string): Promise<unknown> {
  const res = await svc.call('GET', `/api/users/${username}`, { token: adminToken })
  return res.status === 200 ? await res.json() : res.status
}

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
    const before = await Promise.all([readBack(self.username), readBack(other.username)])
    const json = body && method !== 'GET' && method !== 'DELETE' ? body(ctx) : undefined
    const res = await svc.call(method, path(ctx), { token, json })
    const text = await res.text()
    expect(res.status, text).toBe(status)
    // No answer of any route carries a password or a bcrypt hash.
    expect(text).not.toMatch(/password_hash|"password"/)
    expect(text).not.toMatch(/\$2[aby]\$\d\d\$/)
    if (status >= 400) {
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      const problem = JSON.parse(text)
      if (status === 401) {
        // RFC 6750 3.1: no error code without a token; invalid_token for one that no longer works.
        expect(res.headers.get('www-authenticate')).toBe(caller === 'anonymous' ? 'Bearer' : 'Bearer error="invalid_token"')
        expect(problem).toEqual(
          caller === 'anonymous'
            ? { type: 'urn:problem:unauthorized', title: 'Unauthorized', status: 401, detail: 'Authentication is required' }
            : { type: 'urn:problem:unauthorized', title: 'Unauthorized', status: 401, detail: 'The session has ended', error: 'invalid_token' },
        )
      }
      if (status === 403) expect(problem).toMatchObject({ type: 'urn:problem:forbidden', status: 403 })
      // Refused: both users read back as they were, and a refused creation created nobody.
      expect(await Promise.all([readBack(self.username), readBack(other.username)])).toEqual(before)
      if (method === 'POST') expect(await readBack((json as { username: string }).username)).toBe(404)
    } else if (status !== 204) {
      const answer = JSON.parse(text)
      const users = Array.isArray(answer.items) ? answer.items : [answer]
      for (const u of users) expect(Object.keys(u).sort()).toEqual(['created_at', 'disabled', 'email', 'email_verified', 'id', 'mfa', 'pending_email', 'role', 'updated_at', 'username'])
    }
    if (status === 201) expect(res.headers.get('location')).toBe(`/api/users/${JSON.parse(text).username}`)
  })
})
