import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callFrom, freshAddress } from '../helpers/address.js'
import { ADMIN, login, newUser, startService, startWithAdmin, type Service } from '../helpers/service.js'
import { mailSettings, startMailbox, type Mailbox } from '../account/mailbox.js'

let svc: Service
let mail: Mailbox
let adminToken: string

// A user's own email change mails a verification link: deployed, only with mail configured.
beforeAll(async () => {
  mail = await startMailbox()
  ;({ svc, adminToken } = await startWithAdmin(mailSettings(mail)))
})
afterAll(async () => {
  await svc?.stop()
  await mail?.close()
})

const get = async (path: string) => svc.call('GET', path, { token: adminToken })

describe('creating users', () => {
  it('20 parallel creates of one username in different letter cases give one 201 and 19 409s', async () => {
    const base = `race${Date.now().toString(36)}`
    const variants = Array.from({ length: 20 }, (_, i) =>
      [...base].map((ch, j) => ((i >> j) & 1 ? ch.toUpperCase() : ch)).join(''),
    )
    const results = await Promise.all(
      variants.map((username, i) =>
        svc.call('POST', '/api/users', { token: adminToken, json: { username, email: `${base}-${i}@example.com`, password: 'Racing-passw0rd-1' } }),
      ),
    )
    const statuses = results.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    expect(statuses.filter((s) => s === 409)).toHaveLength(19)
    const conflict = await results.find((r) => r.status === 409)!.json()
    expect(conflict.type).toBe('urn:problem:conflict')
    expect((await get(`/api/users/${base}`)).status).toBe(200)
  })

  it('refuses a duplicate email with 409', async () => {
    const u = await newUser(svc, adminToken)
    const res = await svc.call('POST', '/api/users', { token: adminToken, json: { username: `${u.username}x`, email: u.email.toUpperCase(), password: 'Dup-email-passw0rd' } })
    expect(res.status).toBe(409)
  })

  it('stores usernames NFKC-normalised and lower-cased', async () => {
    const res = await svc.call('POST', '/api/users', { token: adminToken, json: { username: 'ＷＩＤＥ.user', email: 'wide@example.com', password: 'Broad-passw0rd-123' } })
    expect(res.status).toBe(201)
    expect((await res.json()).username).toBe('wide.user')
  })

  const valid = { username: 'valid-name', email: 'valid@example.com', password: 'Sturdy-passw0rd-123' }
  it.each([
    { name: 'an unknown field', body: { ...valid, is_admin: true }, path: 'is_admin' },
    { name: 'an operator object', body: { ...valid, username: { $ne: null } }, path: 'username' },
    { name: 'a wrong type', body: { ...valid, email: 42 }, path: 'email' },
    { name: 'an over-long username', body: { ...valid, username: 'a'.repeat(33) }, path: 'username' },
    { name: 'a bad email', body: { ...valid, email: 'not-an-email' }, path: 'email' },
    { name: 'a short password', body: { ...valid, password: 'short' }, path: 'password' },
    { name: 'a 73-byte password', body: { ...valid, password: 'é'.repeat(36) + 'x' }, path: 'password' },
    { name: 'a common password', body: { ...valid, password: 'Password1' }, path: 'password' },
    { name: 'the username as password', body: { ...valid, password: 'valid-name-1' }, path: 'password' },
    { name: 'an unknown role', body: { ...valid, role: 'root' }, path: 'role' },
    { name: 'the reserved name me', body: { ...valid, username: 'me' }, path: 'username' },
    // /users/index and /api/users/index are the list (api/users/index.ts), /users/me.ts is me.ts.
    { name: 'the reserved name index', body: { ...valid, username: 'index' }, path: 'username' },
    { name: 'the reserved name INDEX (normalised)', body: { ...valid, username: 'INDEX' }, path: 'username' },
    { name: 'the reserved name me.ts', body: { ...valid, username: 'me.ts' }, path: 'username' },
    { name: 'the reserved name index.js', body: { ...valid, username: 'index.js' }, path: 'username' },
    { name: 'a __proto__ key', raw: '{"username":"valid-name","email":"valid@example.com","password":"Sturdy-passw0rd-123","__proto__":{"role":"admin"},"constructor":{"x":1}}', path: '__proto__' },
  ])('refuses $name with 400 naming $path, and creates nothing', async ({ body, raw, path }) => {
    const res = await svc.fetch('/api/users', {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: raw ?? JSON.stringify(body),
    })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const problem = await res.json()
    expect(problem.type).toBe('urn:problem:validation')
    expect(problem.errors.map((e: { path: string }) => e.path)).toContain(path)
    expect((await get('/api/users/valid-name')).status).toBe(404)
  })
})

describe('usernames with a dot', () => {
  it.each(['index.html', 'page.html', 'index.htm', 'me.smith'])('%s is served at its own path, short and long (no cleanUrls redirect)', async (username) => {
    const created = await svc.call('POST', '/api/users', {
      token: adminToken,
      json: { username, email: `${username.replace(/\./g, '-')}@example.com`, password: 'Dotted-passw0rd-77' },
    })
    expect(created.status).toBe(201)
    for (const path of [`/users/${username}`, `/api/users/${username}`]) {
      const res = await svc.fetch(path, { headers: { authorization: `Bearer ${adminToken}` }, redirect: 'manual' })
      expect(res.status, path).toBe(200)
      expect((await res.json()).username).toBe(username)
    }
    const patched = await svc.call('PATCH', `/users/${username}`, { token: adminToken, json: { disabled: true } })
    expect(patched.status).toBe(200)
  })
})

describe('changing users', () => {
  it.each([
    { name: 'an unknown field', body: { email: 'a@example.com', password: 'Sturdy-passw0rd-123', nickname: 'x' }, path: 'nickname' },
    { name: 'an operator object', body: { email: { $gt: '' }, password: 'Sturdy-passw0rd-123' }, path: 'email' },
    { name: 'a wrong type for disabled', body: { email: 'a@example.com', password: 'Sturdy-passw0rd-123', disabled: 'yes' }, path: 'disabled' },
    { name: 'a missing password (PUT is whole)', body: { email: 'a@example.com' }, path: 'password', message: 'is required' },
    { name: 'a missing email', body: { password: 'Sturdy-passw0rd-123' }, path: 'email', message: 'is required' },
    { name: 'both password and new_password', body: { email: 'a@example.com', password: 'Sturdy-passw0rd-123', new_password: 'Sturdy-passw0rd-123' }, path: 'new_password', message: 'give password or new_password, not both' },
  ])('PUT refuses $name with 400 and changes nothing', async ({ body, path, message }) => {
    const u = await newUser(svc, adminToken)
    const before = await (await get(`/api/users/${u.username}`)).json()
    const res = await svc.call('PUT', `/api/users/${u.username}`, { token: adminToken, json: body })
    expect(res.status).toBe(400)
    const { errors } = (await res.json()) as { errors: { path: string; message: string }[] }
    expect(errors.map((e) => e.path)).toContain(path)
    if (message) expect(errors).toContainEqual({ path, message })
    expect(await (await get(`/api/users/${u.username}`)).json()).toEqual(before)
    expect((await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password } })).status).toBe(200)
  })

  it('PATCH /api/users/me takes new_password as the same field as password (the name reset confirmation uses)', async () => {
    const u = await newUser(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const both = await svc.call('PATCH', '/api/users/me', { token: t.access_token, json: { password: 'Two-names-passw0rd', new_password: 'Two-names-passw0rd', current_password: u.password } })
    expect(both.status).toBe(400)
    expect((await both.json()).errors).toEqual([{ path: 'new_password', message: 'give password or new_password, not both' }])
    expect((await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password } })).status).toBe(200)

    const aliased = await svc.call('PATCH', '/api/users/me', { token: t.access_token, json: { new_password: 'Renamed-field-passw0rd', current_password: u.password } })
    expect(aliased.status).toBe(200)
    expect((await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: 'Renamed-field-passw0rd' } })).status).toBe(200)
    // The same rules as under its own name: the current password is still required.
    const unproven = await svc.call('PATCH', '/api/users/me', { token: t.access_token, json: { new_password: 'Unproven-passw0rd-1' } })
    expect(unproven.status).toBe(400)
    expect((await unproven.json()).errors).toEqual([{ path: 'current_password', message: 'is required' }])
  })

  it('a wrong current_password is refused with 400, changes nothing, and counts as a failed login', async () => {
    const u = await newUser(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const res = await svc.call('PATCH', '/api/users/me', { token: t.access_token, json: { email: 'changed@example.com', current_password: 'not-my-password' } })
    expect(res.status).toBe(400)
    expect((await res.json()).errors[0].path).toBe('current_password')
    expect((await (await svc.call('GET', '/api/users/me', { token: t.access_token })).json()).email).toBe(u.email)
    expect(svc.output()).not.toContain('not-my-password')
  })

  it('answers an unsupported content type with 415 after authentication', async () => {
    const u = await newUser(svc, adminToken)
    const res = await svc.fetch(`/api/users/${u.username}`, { method: 'PATCH', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'text/plain' }, body: 'x' })
    expect(res.status).toBe(415)
    const anon = await svc.fetch(`/api/users/${u.username}`, { method: 'PATCH', headers: { 'content-type': 'text/plain' }, body: 'x' })
    expect(anon.status).toBe(401)
  })
})

describe('the last enabled admin', () => {
  let solo: Service
  beforeAll(async () => {
    solo = await startService()
  })
  afterAll(() => solo?.stop())

  it('cannot be deleted, demoted or disabled (409), and two admins demoting each other at once leave one', async () => {
    const root = (await login(solo, ADMIN.username, ADMIN.password)).access_token
    for (const [method, body] of [['DELETE', undefined], ['PATCH', { role: 'user' }], ['PATCH', { disabled: true }]] as const) {
      const res = await solo.call(method, `/api/users/${ADMIN.username}`, { token: root, json: body })
      expect(res.status).toBe(409)
      expect((await res.json()).type).toBe('urn:problem:last-admin')
    }
    const second = await newUser(solo, root, 'admin')
    const secondToken = (await login(solo, second.username, second.password)).access_token
    const [a, b] = await Promise.all([
      solo.call('PATCH', `/api/users/${second.username}`, { token: root, json: { role: 'user' } }),
      solo.call('PATCH', `/api/users/${ADMIN.username}`, { token: secondToken, json: { role: 'user' } }),
    ])
    expect([a.status, b.status].filter((s) => s === 200)).toHaveLength(1)
    const survivor = a.status === 200 ? ADMIN : second
    const token = (await login(solo, survivor.username, survivor.password)).access_token
    const admins = await (await solo.call('GET', '/api/users?role=admin', { token })).json()
    expect(admins.items.filter((u: { disabled: boolean }) => !u.disabled)).toHaveLength(1)
  })
})

describe('listing users', () => {
  it('pages by cursor in username order, filters by role and prefix, and validates its query', async () => {
    const prefix = `pg${Date.now().toString(36)}`
    for (let i = 0; i < 7; i++) {
      const res = await svc.call('POST', '/api/users', { token: adminToken, json: { username: `${prefix}-${i}`, email: `${prefix}-${i}@example.com`, password: 'Paging-passw0rd-1', role: i % 2 ? 'admin' : 'user' } })
      expect(res.status).toBe(201)
    }
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { items: { username: string }[]; next_cursor: string | null } = await (await get(`/api/users?limit=3&q=${prefix}${cursor ? `&cursor=${cursor}` : ''}`)).json()
      expect(page.items.length).toBeLessThanOrEqual(3)
      seen.push(...page.items.map((u) => u.username))
      cursor = page.next_cursor
    } while (cursor)
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `${prefix}-${i}`))
    const admins = await (await get(`/api/users?role=admin&q=${prefix}`)).json()
    expect(admins.items.map((u: { username: string }) => u.username)).toEqual([1, 3, 5].map((i) => `${prefix}-${i}`))
    for (const bad of ['limit=0', 'limit=101', 'limit=abc', 'role=root', 'sort=username', 'cursor=%24%24%24']) {
      const res = await get(`/api/users?${bad}`)
      expect(res.status, bad).toBe(400)
    }
  })
})

describe('open sign-up (ALLOW_SIGNUP=true)', () => {
  let open: Service
  let box: Mailbox
  // A sign-up mails a verification link: deployed, only with mail configured.
  beforeAll(async () => {
    box = await startMailbox()
    open = await startService({ ALLOW_SIGNUP: 'true', ...mailSettings(box) })
  })
  afterAll(async () => {
    await open?.stop()
    await box?.close()
  })

  it('lets anyone create a plain user, never an admin', async () => {
    const ok = await open.call('POST', '/users/', { json: { username: 'signup-user', email: 'signup@example.com', password: 'Joiner-passw0rd-1' } })
    expect(ok.status).toBe(201)
    expect((await ok.json()).role).toBe('user')
    const admin = await open.call('POST', '/users/', { json: { username: 'signup-admin', email: 'signup-admin@example.com', password: 'Joiner-passw0rd-1', role: 'admin' } })
    expect(admin.status).toBe(403)
  })

  it('limits sign-ups to 10 an hour per client address: of a parallel flood of 15, 10 get 201 and 5 get 429, creating nothing', async () => {
    const from = freshAddress()
    const tag = randomBytes(3).toString('hex')
    const body = (i: number) => ({ username: `flood-${tag}-${i}`, email: `flood-${tag}-${i}@example.com`, password: 'Joiner-passw0rd-1' })
    const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => callFrom(from, `${open.url}/api/users`, 'POST', { json: body(i) })))
    expect(answers.map((r) => r.status).sort()).toEqual([...Array(10).fill(201), ...Array(5).fill(429)])
    for (const refused of answers.filter((r) => r.status === 429)) {
      expect(refused.headers.get('content-type')).toBe('application/problem+json')
      const retry = Number(refused.headers.get('retry-after'))
      expect(retry).toBeGreaterThan(0)
      expect(retry).toBeLessThanOrEqual(3600)
    }
    // Read back: exactly the ten answered 201 exist.
    const admin = (await login(open, ADMIN.username, ADMIN.password)).access_token
    const page = await open.call('GET', `/api/users?q=flood-${tag}&limit=100`, { token: admin })
    expect((await page.json()).items).toHaveLength(10)
    // Another address may still sign up, and an admin from the flooded one may still create users.
    expect((await callFrom(freshAddress(), `${open.url}/api/users`, 'POST', { json: body(20) })).status).toBe(201)
    expect((await callFrom(from, `${open.url}/api/users`, 'POST', { json: body(21), token: admin })).status).toBe(201)
  })
})
