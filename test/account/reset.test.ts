// Password reset through HTTP: no account enumeration, the mailed single-use token, expiry,
// the admin link, the policy on the new password, and the deployment without mail.
import { createHash, randomBytes } from 'node:crypto'
import { MongoClient, ObjectId } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, login, newUser, onPrebuilt, startService, type Service, type Tokens } from '../helpers/service.js'
import { startMailbox, tokenFrom, type Mailbox } from './mailbox.js'
import { callFrom } from '../helpers/address.js'

const RESET_URL_BASE = 'http://app.example/reset'

let svc: Service
let box: Mailbox
let adminToken: string

beforeAll(async () => {
  box = await startMailbox()
  svc = await startService({ SMTP_URL: `smtp://127.0.0.1:${box.port}`, RESET_URL_BASE, VERIFY_URL_BASE: 'http://app.example/verify-email', MAIL_FROM: 'auth@app.example' })
  adminToken = (await login(svc, ADMIN.username, ADMIN.password)).access_token
})
afterAll(async () => {
  await svc?.stop()
  await box?.close()
})

const ask = (body: unknown) => svc.call('POST', '/api/auth/password-reset', { json: body })
const confirm = (token: string, new_password: string) => svc.call('POST', '/api/auth/password-reset/confirm', { json: { token, new_password } })
const me = (t: Tokens) => svc.call('GET', '/api/users/me', { token: t.access_token })
const tryLogin = (username: string, password: string) => svc.call('POST', '/api/auth/login', { json: { username, password } })
const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url')
const roundTrips = (res: Response) => /"(\d+) round trips?"/.exec(res.headers.get('server-timing') ?? '')?.[1]

/** A reset token for the user, by the mail route. */
async function mailedToken(email: string): Promise<string> {
  expect((await ask({ email })).status).toBe(202)
  return tokenFrom(await box.next(email))
}

async function withDbOf<T>(service: Service, fn: (db: import('mongodb').Db) => Promise<T>): Promise<T> {
  const client = new MongoClient(service.env.MONGODB_URI!)
  try {
    return await fn(client.db(service.env.MONGODB_DB))
  } finally {
    await client.close()
  }
}

const withDb = <T>(fn: (db: import('mongodb').Db) => Promise<T>) => withDbOf(svc, fn)

describe('POST /api/auth/password-reset', () => {
  it.each([
    { by: 'email', unknown: { email: 'nobody-here@example.com' }, known: (u: { email: string }) => ({ email: u.email }) },
    { by: 'username', unknown: { username: 'nobody-here' }, known: (u: { username: string }) => ({ username: u.username }) },
  ])('answers an unknown and a known $by byte-identically, and mails only the known one', async ({ unknown, known }) => {
    const u = await newUser(svc, adminToken)
    // A function's first request also creates its indexes (more round trips); on a deployment
    // every function is its own instance, so warm this one before comparing two answers.
    await ask({ username: 'warm-up-only' })
    const a = await ask(unknown)
    const b = await ask(known(u))
    const [textA, textB] = [await a.text(), await b.text()]
    expect(a.status).toBe(202)
    expect(b.status).toBe(a.status)
    expect(textB).toBe(textA)
    expect(JSON.parse(textA)).toEqual({ status: 'accepted', detail: 'If the account exists, a reset link has been sent' })
    expect(b.headers.get('content-type')).toBe(a.headers.get('content-type'))
    expect(a.headers.get('cache-control')).toBe('no-store')
    // Server-Timing counts database round trips: it must not tell the two apart either.
    expect(roundTrips(a)).toBeDefined()
    expect(roundTrips(b)).toBe(roundTrips(a))

    const mail = await box.next(u.email)
    expect(mail.text).toContain(`${RESET_URL_BASE}?token=`)
    expect(mail.text).toContain('From: auth@app.example')
    expect(box.messages.some((m) => m.to.some((to) => to.startsWith('nobody-here')))).toBe(false)
  })

  it('throttles per identifier after 5 requests, the same way for known and unknown accounts', async () => {
    const u = await newUser(svc, adminToken)
    const statuses = async (body: unknown) => {
      const out: number[] = []
      for (let i = 0; i < 6; i++) out.push((await ask(body)).status)
      return out
    }
    const unknown = await statuses({ email: `ghost-${randomBytes(3).toString('hex')}@example.com` })
    const known = await statuses({ email: u.email })
    expect(unknown).toEqual([202, 202, 202, 202, 202, 429])
    expect(known).toEqual(unknown)
    const limited = await ask({ email: u.email })
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(limited.headers.get('content-type')).toBe('application/problem+json')
    // Logging in is not affected by reset requests.
    expect((await tryLogin(u.username, u.password)).status).toBe(200)
  })

  it('counts per account whatever the spelling: email, username, letter case and NFKC variants share one limit', async () => {
    const u = await newUser(svc, adminToken)
    const wide = String.fromCodePoint(u.username.codePointAt(0)! - 0x61 + 0xff41) + u.username.slice(1)
    const spellings = [{ email: u.email }, { username: u.username }, { username: u.username.toUpperCase() }, { email: u.email.toUpperCase() }, { username: wide }]
    for (const body of spellings) expect((await ask(body)).status, JSON.stringify(body)).toBe(202)
    const sixth = await ask({ username: u.username })
    expect(sixth.status).toBe(429)
    expect(sixth.headers.get('retry-after')).toMatch(/^\d+$/)
    // Five links went out for the five accepted requests, none for the refused one.
    for (let i = 0; i < 5; i++) await box.next(u.email)
    await expect(box.next(u.email, 300)).rejects.toThrow(/no mail/)
  })

  it.each([
    { name: 'no field', body: {}, path: '' },
    { name: 'both fields', body: { email: 'a@example.com', username: 'abc' }, path: '' },
    { name: 'an unknown field', body: { email: 'a@example.com', admin: true }, path: 'admin' },
    { name: 'a bad email', body: { email: 'not-an-email' }, path: 'email' },
    { name: 'an operator object', body: { username: { $ne: null } }, path: 'username' },
  ])('refuses $name with 400', async ({ body, path }) => {
    const res = await ask(body)
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect((await res.json()).errors[0].path).toBe(path)
  })
})

describe('POST /api/auth/password-reset/confirm', () => {
  it('the mailed token sets a new password once and ends every session', async () => {
    const u = await newUser(svc, adminToken)
    const a = await login(svc, u.username, u.password)
    const b = await login(svc, u.username, u.password)
    const token = await mailedToken(u.email)

    const newPassword = `Reset-${randomBytes(6).toString('hex')}`
    const res = await confirm(token, newPassword)
    expect(res.status).toBe(204)
    expect((await me(a)).status).toBe(401)
    expect((await me(b)).status).toBe(401)
    expect((await svc.call('POST', '/api/auth/refresh', { json: { refresh_token: b.refresh_token } })).status).toBe(400)
    expect((await tryLogin(u.username, u.password)).status).toBe(401)
    expect((await tryLogin(u.username, newPassword)).status).toBe(200)

    const again = await confirm(token, `Other-${randomBytes(6).toString('hex')}`)
    expect(again.status).toBe(400)
    expect(again.headers.get('content-type')).toBe('application/problem+json')
    expect((await again.json()).errors).toEqual([{ path: 'token', message: expect.any(String) }])
    expect((await tryLogin(u.username, newPassword)).status).toBe(200)

    // Tokens travel by mail only: never in the service's log.
    expect(svc.output()).not.toContain(token)
  })

  it('refuses a weak new_password with 400 naming it, and the token still works afterwards', async () => {
    const u = await newUser(svc, adminToken)
    const token = await mailedToken(u.email)
    for (const weak of ['password', 'Password1', u.username, `${u.username}123`, 'x'.repeat(73), 'short']) {
      const res = await confirm(token, weak)
      expect(res.status, weak).toBe(400)
      const body = await res.json()
      expect(body.errors.length).toBeGreaterThan(0)
      expect(body.errors.every((e: { path: string }) => e.path === 'new_password')).toBe(true)
    }
    expect((await tryLogin(u.username, u.password)).status).toBe(200)
    expect((await confirm(token, 'A-much-better-passw0rd')).status).toBe(204)
  })

  it('takes `password` as the same field as `new_password` (the name the user routes use), but not both', async () => {
    const u = await newUser(svc, adminToken)
    const token = await mailedToken(u.email)
    const both = await svc.call('POST', '/api/auth/password-reset/confirm', { json: { token, new_password: 'Both-names-passw0rd', password: 'Both-names-passw0rd' } })
    expect(both.status).toBe(400)
    expect((await both.json()).errors).toEqual([{ path: 'password', message: 'give new_password or password, not both' }])

    // The refused request used nothing up: the token sets the password given as `password`.
    const aliased = await svc.call('POST', '/api/auth/password-reset/confirm', { json: { token, password: 'Aliased-reset-passw0rd' } })
    expect(aliased.status).toBe(204)
    expect((await tryLogin(u.username, 'Aliased-reset-passw0rd')).status).toBe(200)
  })

  // Expiry (30 minutes) is tested on a moved clock: test/time/windows.test.ts.

  it('lifts a login lockout of the account', async () => {
    const u = await newUser(svc, adminToken)
    for (let i = 0; i < 5; i++) expect((await tryLogin(u.username, 'Wrong-guess-123')).status).toBe(401)
    expect((await tryLogin(u.username, u.password)).status).toBe(429)
    const token = await mailedToken(u.email)
    expect((await confirm(token, 'After-the-lockout-1')).status).toBe(204)
    expect((await tryLogin(u.username, 'After-the-lockout-1')).status).toBe(200)
  })

  it('refuses the token of an account disabled since it was issued', async () => {
    const u = await newUser(svc, adminToken)
    const token = await mailedToken(u.email)
    expect((await svc.call('PATCH', `/api/users/${u.username}`, { token: adminToken, json: { disabled: true } })).status).toBe(200)
    const res = await confirm(token, 'Disabled-meanwhile-1')
    expect(res.status).toBe(400)
    expect((await res.json()).errors[0].path).toBe('token')
  })

  it.each([
    { name: 'an unknown token', body: { token: randomBytes(32).toString('base64url'), new_password: 'Good-enough-pw1' }, path: 'token' },
    { name: 'a missing token', body: { new_password: 'Good-enough-pw1' }, path: 'token' },
    { name: 'a missing new_password', body: { token: 'x' }, path: 'new_password' },
    { name: 'an unknown field', body: { token: 'x', new_password: 'Good-enough-pw1', username: 'root-admin' }, path: 'username' },
  ])('refuses $name with 400', async ({ name, body, path }) => {
    const res = await svc.call('POST', '/api/auth/password-reset/confirm', { json: body })
    expect(res.status).toBe(400)
    const { errors } = await res.json()
    expect(errors[0].path).toBe(path)
    if (name.startsWith('a missing')) expect(errors[0].message).toBe('is required')
  })

  it('stores only the hash of a token, and the audit trail records request and reset', async () => {
    const u = await newUser(svc, adminToken)
    const token = await mailedToken(u.email)
    const docs = await withDb((db) => db.collection('password_resets').find({ user_id: new ObjectId(u.user.id) }).toArray())
    expect(docs.map((d) => d._id)).toEqual([sha256(token)])
    expect(JSON.stringify(docs)).not.toContain(token)
    expect((await confirm(token, 'Audited-new-passw0rd')).status).toBe(204)
    // Redeeming one link kills the others of the same user.
    expect(await withDb((db) => db.collection('password_resets').countDocuments({ user_id: new ObjectId(u.user.id) }))).toBe(0)

    const events = await auditOf(u.username, 'password.reset')
    expect(events).toContainEqual(expect.objectContaining({ event: 'password.reset_requested', actor: null, user: u.username }))
    expect(events).toContainEqual(expect.objectContaining({ event: 'password.reset', actor: u.username, user: u.username }))
    expect(JSON.stringify(events)).not.toContain(token)
  })
})

type AuditItem = { event: string; actor: string | null; user: string | null; detail?: Record<string, unknown> }

/** The audit trail of `username` once `awaited` is in it (written after the answer), or after 2 s. */
async function auditOf(username: string, awaited: string): Promise<AuditItem[]> {
  const deadline = Date.now() + 2000
  let events: AuditItem[] = []
  while (Date.now() < deadline) {
    const res = await svc.call('GET', `/api/audit?user=${username}`, { token: adminToken })
    events = (await res.json()).items
    if (events.some((e) => e.event === awaited)) break
  }
  return events
}

describe('a link dies when the email or the password changes', () => {
  type Account = Awaited<ReturnType<typeof newUser>>
  const CHANGES: { name: string; change: (u: Account, own: Tokens) => Promise<Response> }[] = [
    {
      // A user's own new address becomes the account's when the link mailed to it is confirmed.
      name: 'the user changes their email (PATCH /api/users/me, then the link from the new mailbox)',
      change: async (u, own) => {
        const asked = await svc.call('PATCH', '/api/users/me', { token: own.access_token, json: { email: `new-${u.email}`, current_password: u.password } })
        expect(asked.status).toBe(200)
        return svc.call('POST', '/api/auth/email/verify', { json: { token: tokenFrom(await box.next(`new-${u.email}`)) } })
      },
    },
    { name: 'an admin changes the email (PATCH)', change: (u) => svc.call('PATCH', `/api/users/${u.username}`, { token: adminToken, json: { email: `new-${u.email}` } }) },
    {
      name: 'the user changes their password (PATCH /api/users/me)',
      change: (u, own) => svc.call('PATCH', '/api/users/me', { token: own.access_token, json: { password: 'Chosen-by-owner-77', current_password: u.password } }),
    },
    {
      name: 'an admin sets the password (PUT)',
      change: (u) => svc.call('PUT', `/api/users/${u.username}`, { token: adminToken, json: { email: u.email, password: 'Chosen-by-admin-77' } }),
    },
  ]

  it.each(CHANGES)('mailed link, then $name: refused, and the account is as the change left it', async ({ change }) => {
    const u = await newUser(svc, adminToken)
    const own = await login(svc, u.username, u.password)
    const token = await mailedToken(u.email)
    expect((await change(u, own)).ok).toBe(true)
    const res = await confirm(token, 'Taken-over-passw0rd')
    expect(res.status).toBe(400)
    expect((await res.json()).errors[0].path).toBe('token')
    expect((await tryLogin(u.username, 'Taken-over-passw0rd')).status).toBe(401)
    // The link is spent: not even a second try after the change gets through.
    expect((await confirm(token, 'Taken-over-passw0rd')).status).toBe(400)
  })

  it.each(CHANGES)('admin link, then $name: refused', async ({ change }) => {
    const u = await newUser(svc, adminToken)
    const own = await login(svc, u.username, u.password)
    const link = await svc.call('POST', `/api/users/${u.username}/password-reset`, { token: adminToken })
    const token = new URL(((await link.json()) as { reset_url: string }).reset_url).searchParams.get('token')!
    expect((await change(u, own)).ok).toBe(true)
    expect((await confirm(token, 'Taken-over-passw0rd')).status).toBe(400)
    expect((await tryLogin(u.username, 'Taken-over-passw0rd')).status).toBe(401)
  })

  it('a link issued after the change works', async () => {
    const u = await newUser(svc, adminToken)
    const changed = await svc.call('PATCH', `/api/users/${u.username}`, { token: adminToken, json: { email: `later-${u.email}` } })
    expect(changed.status).toBe(200)
    const token = await mailedToken(`later-${u.email}`)
    expect((await confirm(token, 'After-the-change-1')).status).toBe(204)
    expect((await tryLogin(u.username, 'After-the-change-1')).status).toBe(200)
  })
})

describe('POST /api/users/{username}/password-reset', () => {
  it('gives an admin a reset_url whose token works once', async () => {
    const u = await newUser(svc, adminToken)
    const old = await login(svc, u.username, u.password)
    const res = await svc.call('POST', `/api/users/${u.username}/password-reset`, { token: adminToken })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = (await res.json()) as { reset_url: string; expires_at: string }
    expect(Object.keys(body).sort()).toEqual(['expires_at', 'reset_url'])
    expect(body.reset_url.startsWith(`${RESET_URL_BASE}?token=`)).toBe(true)
    const minutes = (Date.parse(body.expires_at) - Date.now()) / 60_000
    expect(minutes).toBeGreaterThan(29)
    expect(minutes).toBeLessThanOrEqual(30)

    const token = new URL(body.reset_url).searchParams.get('token')!
    expect((await confirm(token, 'Admin-handed-passw0rd')).status).toBe(204)
    expect((await me(old)).status).toBe(401)
    expect((await tryLogin(u.username, 'Admin-handed-passw0rd')).status).toBe(200)
    expect((await confirm(token, 'Admin-handed-passw0rd2')).status).toBe(400)
    expect(await auditOf(u.username, 'password.reset')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ event: 'password.reset_requested', actor: ADMIN.username, user: u.username, detail: { via: 'admin' } }),
        expect.objectContaining({ event: 'password.reset', actor: u.username, user: u.username }),
      ]),
    )
  })

  it('is for admins only: 401 without a token, 403 for a plain user (even on themself); 404 for no such user, 409 for a disabled one', async () => {
    const u = await newUser(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    expect((await svc.call('POST', `/api/users/${u.username}/password-reset`)).status).toBe(401)
    const own = await svc.call('POST', `/api/users/${u.username}/password-reset`, { token: t.access_token })
    expect(own.status).toBe(403)
    expect((await svc.call('POST', `/api/users/${ADMIN.username}/password-reset`, { token: t.access_token })).status).toBe(403)
    expect((await svc.call('POST', '/api/users/no-such-user/password-reset', { token: adminToken })).status).toBe(404)
    const d = await newUser(svc, adminToken)
    expect((await svc.call('PATCH', `/api/users/${d.username}`, { token: adminToken, json: { disabled: true } })).status).toBe(200)
    expect((await svc.call('POST', `/api/users/${d.username}/password-reset`, { token: adminToken })).status).toBe(409)
    const extra = await svc.call('POST', `/api/users/${u.username}/password-reset`, { token: adminToken, json: { password: 'x' } })
    expect(extra.status).toBe(400)
    expect((await svc.call('GET', `/api/users/${u.username}/password-reset`, { token: adminToken })).status).toBe(405)
  })
})

describe('without SMTP_URL', () => {
  // The log outbox exists only off Vercel: the prebuilt lane runs in production mode.
  it.skipIf(onPrebuilt)('the local runner writes the mail, marked local-only, to its log', async () => {
    const local = await startService()
    try {
      const admin = (await login(local, ADMIN.username, ADMIN.password)).access_token
      const u = await newUser(local, admin)
      expect((await local.call('POST', '/api/auth/password-reset', { json: { email: u.email } })).status).toBe(202)
      const deadline = Date.now() + 2000
      while (!local.output().includes('mail.local_outbox') && Date.now() < deadline) await new Promise((r) => setImmediate(r))
      const line = local.output().split('\n').find((l) => l.includes('mail.local_outbox'))!
      expect(line).toContain('LOCAL DEVELOPMENT ONLY')
      const body = JSON.parse(line).body as string
      const token = /\?token=([A-Za-z0-9_-]{43})/.exec(body)![1]!
      // Without RESET_URL_BASE the link points at the origin the request came to.
      expect(body).toContain(`${local.url}/reset-password?token=`)
      expect((await local.call('POST', '/api/auth/password-reset/confirm', { json: { token, new_password: 'From-the-log-passw0rd' } })).status).toBe(204)
    } finally {
      await local.stop()
    }
  })

  it('a deployment builds links from RESET_URL_BASE only, whatever Host and X-Forwarded-Host say', async () => {
    const deployed = await startService({ NODE_ENV: 'production', SMTP_URL: `smtp://127.0.0.1:${box.port}`, RESET_URL_BASE, MAIL_FROM: 'auth@app.example' })
    try {
      const admin = (await login(deployed, ADMIN.username, ADMIN.password)).access_token
      const u = await newUser(deployed, admin)
      const forged = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }
      const asked = await callFrom('127.0.0.1', `${deployed.url}/api/auth/password-reset`, 'POST', { json: { email: u.email }, headers: forged })
      expect(asked.status).toBe(202)
      const mail = await box.next(u.email)
      expect(mail.text).toContain(`${RESET_URL_BASE}?token=`)
      expect(mail.text).not.toContain('evil.example')

      const link = await callFrom('127.0.0.1', `${deployed.url}/api/users/${u.username}/password-reset`, 'POST', { token: admin, headers: forged })
      expect(link.status).toBe(200)
      expect(((await link.json()) as { reset_url: string }).reset_url.startsWith(`${RESET_URL_BASE}?token=`)).toBe(true)
    } finally {
      await deployed.stop()
    }
  })

  it('a deployment answers 501 on the mail route, and on the admin link route without RESET_URL_BASE', async () => {
    const deployed = await startService({ VERCEL: '1' })
    try {
      const admin = (await login(deployed, ADMIN.username, ADMIN.password)).access_token
      const u = await newUser(deployed, admin)
      const res = await deployed.call('POST', '/api/auth/password-reset', { json: { email: u.email } })
      expect(res.status).toBe(501)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect((await res.json()).detail).toContain('SMTP_URL')
      // Deployed, a link never takes its origin from the request: without RESET_URL_BASE, none is made.
      const link = await deployed.call('POST', `/api/users/${u.username}/password-reset`, { token: admin })
      expect(link.status).toBe(501)
      expect(link.headers.get('content-type')).toBe('application/problem+json')
      expect((await link.json()).detail).toContain('RESET_URL_BASE')
      expect(await withDbOf(deployed, (db) => db.collection('password_resets').countDocuments({}))).toBe(0)
    } finally {
      await deployed.stop()
    }
  })
})