// Email verification through HTTP, with the in-process SMTP server: the sign-up link verifies
// once, a GET on any verification URL changes nothing, a user's own email change waits for the
// link from the new mailbox (the old one gets a notice), a later change or a password change
// kills earlier links, a confirmed reset verifies, admins set email_verified, verify-request
// mails the address awaiting verification (5 per 15 minutes), and REQUIRE_VERIFIED_EMAIL=true
// refuses an unverified account only after a correct password.
import { randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditView } from '../../lib/schemas.js'
import { ADMIN, login, startService, type Service, type Tokens } from '../helpers/service.js'
import { callFrom, freshAddress } from '../helpers/address.js'
import { mailSettings, startMailbox, tokenFrom, type Mailbox, type Message } from './mailbox.js'


let box: Mailbox
let svc: Service
let adminToken: string

/** A service mailing to `box`, with open sign-up. */
async function start(extra: Record<string, string> = {}): Promise<{ service: Service; admin: string }> {
  const service = await startService({ ...mailSettings(box), ALLOW_SIGNUP: 'true', ...extra })
  return { service, admin: (await login(service, ADMIN.username, ADMIN.password)).access_token }
}

beforeAll(async () => {
  box = await startMailbox()
  ;({ service: svc, admin: adminToken } = await start())
})
afterAll(async () => {
  await svc?.stop()
  await box?.close()
})

interface UserJson {
  username: string
  email: string
  email_verified: boolean
  pending_email: string | null
}

const tag = () => `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
const password = () => `Pw-${randomBytes(9).toString('base64url')}`

/** A user an admin creates (no mail is sent for it). */
async function adminCreates(service: Service, admin: string, emailVerified?: boolean) {
  const username = `ev${tag()}`
  const body = { username, email: `${username}@example.com`, password: password(), ...(emailVerified !== undefined && { email_verified: emailVerified }) }
  const res = await service.call('POST', '/api/users', { token: admin, json: body })
  expect(res.status, await res.clone().text()).toBe(201)
  return { ...body, json: (await res.json()) as UserJson }
}

// Sign-ups are limited per client address (10 an hour): each sign-up comes from an address of its own.
async function signUp(service: Service) {
  const username = `su${tag()}`
  const body = { username, email: `${username}@example.com`, password: password() }
  const res = await callFrom(freshAddress(), `${service.url}/api/users`, 'POST', { json: body })
  expect(res.status, await res.clone().text()).toBe(201)
  return { ...body, json: (await res.json()) as UserJson }
}

const verify = (token: unknown, service = svc) => service.call('POST', '/api/auth/email/verify', { json: { token } })
const userAsAdmin = async (username: string, service = svc, admin = adminToken) => {
  const res = await service.call('GET', `/api/users/${username}`, { token: admin })
  expect(res.status).toBe(200)
  return (await res.json()) as UserJson
}
const changeOwnEmail = (t: Tokens, email: string, current_password: string) =>
  svc.call('PATCH', '/api/users/me', { token: t.access_token, json: { email, current_password } })
const tryLogin = (service: Service, username: string, pw: string) => service.call('POST', '/api/auth/login', { json: { username, password: pw } })

/** The link in a verification mail, checked to point at VERIFY_URL_BASE. */
function linkIn(message: Message): string {
  const link = /https?:\/\/\S+\?token=[A-Za-z0-9_-]{43}/.exec(message.text)?.[0]
  if (!link) throw new Error(`no link in:\n${message.text}`)
  expect(link.startsWith(`${mailSettings(box).VERIFY_URL_BASE}?token=`)).toBe(true)
  return link
}

async function auditOf(username: string, event: string, service = svc, admin = adminToken): Promise<AuditView[]> {
  // The audit write follows the response: poll for a while.
  const deadline = Date.now() + 3000
  for (;;) {
    const res = await service.call('GET', `/api/audit?user=${username}&event=${event}`, { token: admin })
    const items = (await res.json()).items as AuditView[]
    if (items.length > 0 || Date.now() > deadline) return items
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('sign-up (ALLOW_SIGNUP=true)', () => {
  it('mails a link at once, and its token verifies the address once', async () => {
    const u = await signUp(svc)
    expect(u.json).toMatchObject({ email: u.email, email_verified: false, pending_email: null })
    const mail = await box.next(u.email)
    expect(mail.text).toContain('Subject: Confirm your email address')
    expect(mail.text).toContain('From: auth@app.example')
    const token = tokenFrom(mail)
    linkIn(mail)

    const res = await verify(token)
    expect(res.status).toBe(204)
    expect((await userAsAdmin(u.username)).email_verified).toBe(true)

    const again = await verify(token)
    expect(again.status).toBe(400)
    expect(again.headers.get('content-type')).toBe('application/problem+json')
    expect((await again.json()).errors).toEqual([{ path: 'token', message: expect.any(String) }])

    expect((await auditOf(u.username, 'email.verification_requested'))[0]?.detail).toEqual({ reason: 'signup' })
    expect(await auditOf(u.username, 'email.verified')).toHaveLength(1)
    // Tokens travel by mail only: never in the service's log or the audit trail.
    expect(svc.output()).not.toContain(token)
  })

  it('deployed without mail: the account is still created, unverified; with REQUIRE_VERIFIED_EMAIL, 501 and nothing created', async () => {
    for (const [extra, expected] of [[{}, 201], [{ REQUIRE_VERIFIED_EMAIL: 'true' }, 501]] as const) {
      const deployed = await startService({ VERCEL: '1', ALLOW_SIGNUP: 'true', ...extra })
      try {
        const username = `nm${tag()}`
        const body = { username, email: `${username}@example.com`, password: password() }
        const res = await callFrom(freshAddress(), `${deployed.url}/api/users`, 'POST', { json: body })
        expect(res.status).toBe(expected)
        const admin = (await login(deployed, ADMIN.username, ADMIN.password)).access_token
        const read = await deployed.call('GET', `/api/users/${username}`, { token: admin })
        if (expected === 201) {
          expect(await read.json()).toMatchObject({ username, email_verified: false, pending_email: null })
        } else {
          expect(res.headers.get('content-type')).toBe('application/problem+json')
          expect((await res.json()).detail).toContain('VERIFY_URL_BASE')
          expect(read.status).toBe(404)
        }
      } finally {
        await deployed.stop()
      }
    }
  })

  it('refuses email_verified from anyone but an admin, creating nothing and mailing nothing', async () => {
    const username = `su${tag()}`
    const body = { username, email: `${username}@example.com`, password: password(), email_verified: true }
    const res = await callFrom(freshAddress(), `${svc.url}/api/users`, 'POST', { json: body })
    expect(res.status).toBe(403)
    expect((await svc.call('GET', `/api/users/${username}`, { token: adminToken })).status).toBe(404)
    await expect(box.next(body.email, 300)).rejects.toThrow(/no mail/)
  })
})

describe('a GET on a verification URL', () => {
  it('changes nothing: the token stays unused and the address unverified until the POST', async () => {
    const u = await signUp(svc)
    const mail = await box.next(u.email)
    const token = tokenFrom(mail)
    const link = new URL(linkIn(mail))
    const urls = [
      `/api/auth/email/verify?token=${token}`,
      `/api/auth/email/verify-request?token=${token}`,
      // The mailed link's path and query, on the service itself (what a scanner might open).
      `${link.pathname}${link.search}`,
      `/verify-email?token=${token}`,
    ]
    for (const path of urls) {
      for (const method of ['GET', 'HEAD']) {
        const res = await svc.fetch(path, { method })
        expect(res.status, `${method} ${path}`).not.toBe(204)
        expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400)
      }
    }
    // The routes themselves answer 405 with Allow: POST.
    const get = await svc.fetch(`/api/auth/email/verify?token=${token}`)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toContain('POST')

    expect((await userAsAdmin(u.username)).email_verified).toBe(false)
    expect((await verify(token)).status).toBe(204)
    expect((await userAsAdmin(u.username)).email_verified).toBe(true)
  })
})

describe('a user changing their own email', () => {
  it('keeps `email` until the link from the new mailbox is confirmed; the old mailbox gets a notice', async () => {
    const u = await adminCreates(svc, adminToken, true)
    const t = await login(svc, u.username, u.password)
    const newEmail = `new-${tag()}@example.com`

    const res = await changeOwnEmail(t, newEmail, u.password)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ email: u.email, email_verified: true, pending_email: newEmail })

    const notice = await box.next(u.email)
    expect(notice.text).toContain('Subject: Your email address is about to change')
    expect(notice.text).toContain(newEmail)
    expect(notice.text).not.toContain('token=')
    const token = tokenFrom(await box.next(newEmail))

    // Until confirmed, the account is reached by its old address only.
    expect((await tryLogin(svc, newEmail, u.password)).status).toBe(401)
    expect((await tryLogin(svc, u.email, u.password)).status).toBe(200)
    expect((await svc.call('GET', '/api/users/me', { token: t.access_token }).then((r) => r.json())).email).toBe(u.email)

    expect((await verify(token)).status).toBe(204)
    const after = await userAsAdmin(u.username)
    expect(after).toMatchObject({ email: newEmail, email_verified: true, pending_email: null })
    expect((await tryLogin(svc, newEmail, u.password)).status).toBe(200)
    expect((await tryLogin(svc, u.email, u.password)).status).toBe(401)
    // The session the change was made from lives on (an email change is no credential change).
    expect((await svc.call('GET', '/api/users/me', { token: t.access_token })).status).toBe(200)
    expect(await auditOf(u.username, 'email.changed')).toHaveLength(1)
  })

  it('a second change invalidates the first link', async () => {
    const u = await adminCreates(svc, adminToken, true)
    const t = await login(svc, u.username, u.password)
    const [first, second] = [`first-${tag()}@example.com`, `second-${tag()}@example.com`]
    expect((await changeOwnEmail(t, first, u.password)).status).toBe(200)
    const firstToken = tokenFrom(await box.next(first))
    expect((await changeOwnEmail(t, second, u.password)).status).toBe(200)
    const secondToken = tokenFrom(await box.next(second))

    const stale = await verify(firstToken)
    expect(stale.status).toBe(400)
    expect((await stale.json()).errors[0].path).toBe('token')
    expect(await userAsAdmin(u.username)).toMatchObject({ email: u.email, pending_email: second })

    // Back to the first address again: still a new change, so the first link stays dead.
    expect((await changeOwnEmail(t, first, u.password)).status).toBe(200)
    const thirdToken = tokenFrom(await box.next(first))
    expect((await verify(firstToken)).status).toBe(400)
    expect((await verify(secondToken)).status).toBe(400)
    expect((await verify(thirdToken)).status).toBe(204)
    expect(await userAsAdmin(u.username)).toMatchObject({ email: first, pending_email: null, email_verified: true })
  })

  it('asking for the current address again withdraws the pending change and its link', async () => {
    const u = await adminCreates(svc, adminToken, true)
    const t = await login(svc, u.username, u.password)
    const other = `other-${tag()}@example.com`
    expect((await changeOwnEmail(t, other, u.password)).status).toBe(200)
    const token = tokenFrom(await box.next(other))
    const back = await changeOwnEmail(t, u.email, u.password)
    expect(back.status).toBe(200)
    expect(await back.json()).toMatchObject({ email: u.email, pending_email: null })
    expect((await verify(token)).status).toBe(400)
    expect((await userAsAdmin(u.username)).email).toBe(u.email)
  })

  it('needs the current password, and a wrong one changes nothing and mails nothing', async () => {
    const u = await adminCreates(svc, adminToken, true)
    const t = await login(svc, u.username, u.password)
    const target = `nope-${tag()}@example.com`
    const missing = await svc.call('PATCH', '/api/users/me', { token: t.access_token, json: { email: target } })
    expect(missing.status).toBe(400)
    const wrong = await changeOwnEmail(t, target, 'Not-the-passw0rd')
    expect(wrong.status).toBe(400)
    expect((await wrong.json()).errors[0].path).toBe('current_password')
    expect(await userAsAdmin(u.username)).toMatchObject({ email: u.email, pending_email: null })
    await expect(box.next(target, 300)).rejects.toThrow(/no mail/)
  })

  it('refuses an address another account has (409), and a link whose address was taken meanwhile', async () => {
    const a = await adminCreates(svc, adminToken, true)
    const b = await adminCreates(svc, adminToken, true)
    const t = await login(svc, a.username, a.password)
    const taken = await changeOwnEmail(t, b.email, a.password)
    expect(taken.status).toBe(409)
    expect((await userAsAdmin(a.username)).pending_email).toBeNull()

    const wanted = `wanted-${tag()}@example.com`
    expect((await changeOwnEmail(t, wanted, a.password)).status).toBe(200)
    const token = tokenFrom(await box.next(wanted))
    // An admin gives the address to another account before the link is confirmed.
    expect((await svc.call('PATCH', `/api/users/${b.username}`, { token: adminToken, json: { email: wanted } })).status).toBe(200)
    expect((await verify(token)).status).toBe(409)
    expect((await userAsAdmin(a.username)).email).toBe(a.email)
  })

  it('a password change kills a pending link', async () => {
    const u = await adminCreates(svc, adminToken, true)
    const t = await login(svc, u.username, u.password)
    const target = `pw-${tag()}@example.com`
    expect((await changeOwnEmail(t, target, u.password)).status).toBe(200)
    const token = tokenFrom(await box.next(target))
    const newPassword = password()
    const changed = await svc.call('PATCH', '/api/users/me', { token: t.access_token, json: { password: newPassword, current_password: u.password } })
    expect(changed.status).toBe(200)
    expect((await verify(token)).status).toBe(400)
    expect((await userAsAdmin(u.username)).email).toBe(u.email)
  })
})

describe('POST /api/auth/email/verify-request', () => {
  const ask = (t: Tokens, service = svc) => service.call('POST', '/api/auth/email/verify-request', { token: t.access_token })

  it('mails the unverified address a link; 409 when nothing awaits verification', async () => {
    const u = await adminCreates(svc, adminToken)
    expect(u.json.email_verified).toBe(false)
    const t = await login(svc, u.username, u.password)
    const res = await ask(t)
    expect(res.status).toBe(202)
    expect((await res.json()).status).toBe('accepted')
    const mail = await box.next(u.email)
    expect(mail.text).toContain('Subject: Confirm your email address')
    expect((await verify(tokenFrom(mail))).status).toBe(204)

    const nothing = await ask(t)
    expect(nothing.status).toBe(409)
    expect(nothing.headers.get('content-type')).toBe('application/problem+json')
    await expect(box.next(u.email, 300)).rejects.toThrow(/no mail/)
  })

  it('mails the pending address when a change waits', async () => {
    const u = await adminCreates(svc, adminToken, true)
    const t = await login(svc, u.username, u.password)
    const pending = `pend-${tag()}@example.com`
    expect((await changeOwnEmail(t, pending, u.password)).status).toBe(200)
    const first = tokenFrom(await box.next(pending))
    await box.next(u.email) // the notice
    expect((await ask(t)).status).toBe(202)
    const second = tokenFrom(await box.next(pending))
    // Both links name the same pending change: the first confirmed wins, the other is then dead.
    expect((await verify(second)).status).toBe(204)
    expect((await verify(first)).status).toBe(400)
    expect((await userAsAdmin(u.username)).email).toBe(pending)
  })

  it('allows 5 requests in 15 minutes per account, then 429 with Retry-After', async () => {
    const u = await adminCreates(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await ask(t)).status)
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429])
    const limited = await ask(t)
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
    for (let i = 0; i < 5; i++) await box.next(u.email)
    await expect(box.next(u.email, 300)).rejects.toThrow(/no mail/)
  })

  it('needs a bearer token and takes no fields', async () => {
    expect((await svc.call('POST', '/api/auth/email/verify-request')).status).toBe(401)
    const u = await adminCreates(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const res = await svc.call('POST', '/api/auth/email/verify-request', { token: t.access_token, json: { email: 'x@example.com' } })
    expect(res.status).toBe(400)
    expect((await res.json()).errors[0].path).toBe('email')
  })
})

describe('POST /api/auth/email/verify', () => {
  it.each([
    { name: 'no token', body: {} },
    { name: 'an unknown token', body: { token: randomBytes(32).toString('base64url') } },
    { name: 'a token that is no string', body: { token: { $ne: null } } },
    { name: 'an unknown field', body: { token: 'abc', user: 'root-admin' } },
  ])('refuses $name with 400', async ({ body }) => {
    const res = await svc.call('POST', '/api/auth/email/verify', { json: body })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })
})

describe('admins and email_verified', () => {
  it('create with email_verified (default false) and set another user\'s email at once, unverified unless told', async () => {
    expect((await adminCreates(svc, adminToken)).json.email_verified).toBe(false)
    const u = await adminCreates(svc, adminToken, true)
    expect(u.json).toMatchObject({ email_verified: true, pending_email: null })

    const moved = `moved-${tag()}@example.com`
    const res = await svc.call('PATCH', `/api/users/${u.username}`, { token: adminToken, json: { email: moved } })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ email: moved, email_verified: false, pending_email: null })
    await expect(box.next(moved, 300)).rejects.toThrow(/no mail/)

    const marked = await svc.call('PATCH', `/api/users/${u.username}`, { token: adminToken, json: { email_verified: true } })
    expect(await marked.json()).toMatchObject({ email: moved, email_verified: true })
  })

  it('is refused (403) to a user on their own account, changing nothing', async () => {
    const u = await adminCreates(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const res = await svc.call('PATCH', `/api/users/${u.username}`, { token: t.access_token, json: { email_verified: true } })
    expect(res.status).toBe(403)
    expect((await userAsAdmin(u.username)).email_verified).toBe(false)
    const me = await svc.call('PATCH', '/api/users/me', { token: t.access_token, json: { email_verified: true, current_password: u.password } })
    expect(me.status).toBe(400)
  })
})

describe('users stored before verification existed', () => {
  it('read as unverified with nothing pending, and log in as before', async () => {
    const u = await adminCreates(svc, adminToken, true)
    const client = new MongoClient(svc.env.MONGODB_URI!)
    try {
      await client.db(svc.env.MONGODB_DB).collection('users').updateOne({ username: u.username }, { $unset: { email_verified: '', pending_email: '', email_version: '' } })
    } finally {
      await client.close()
    }
    expect(await userAsAdmin(u.username)).toMatchObject({ email: u.email, email_verified: false, pending_email: null })
    expect((await tryLogin(svc, u.username, u.password)).status).toBe(200)
  })
})

describe('a confirmed password reset', () => {
  it('marks the email verified', async () => {
    const u = await adminCreates(svc, adminToken)
    expect((await svc.call('POST', '/api/auth/password-reset', { json: { email: u.email } })).status).toBe(202)
    const token = tokenFrom(await box.next(u.email))
    expect((await userAsAdmin(u.username)).email_verified).toBe(false)
    expect((await svc.call('POST', '/api/auth/password-reset/confirm', { json: { token, new_password: password() } })).status).toBe(204)
    expect((await userAsAdmin(u.username)).email_verified).toBe(true)
  })
})

describe('REQUIRE_VERIFIED_EMAIL=true', () => {
  let strict: Service
  let strictAdmin: string
  beforeAll(async () => {
    // The first admin (created by the runner, as `npm run dev` does) is verified: it logs in.
    ;({ service: strict, admin: strictAdmin } = await start({ REQUIRE_VERIFIED_EMAIL: 'true' }))
  })
  afterAll(() => strict?.stop())

  it('gives 403 email_not_verified only after a correct password; a wrong one stays 401 and counts', async () => {
    const u = await signUp(strict)
    const token = tokenFrom(await box.next(u.email))

    const wrong = await tryLogin(strict, u.username, 'Wrong-passw0rd-1')
    expect(wrong.status).toBe(401)
    expect((await wrong.json()).error).toBe('invalid_grant')

    const refused = await tryLogin(strict, u.username, u.password)
    expect(refused.status).toBe(403)
    expect(refused.headers.get('content-type')).toBe('application/problem+json')
    const body = await refused.json()
    expect(body).toMatchObject({ status: 403, error: 'email_not_verified', type: 'urn:problem:email-not-verified' })
    expect(body).not.toHaveProperty('access_token')

    expect((await verify(token, strict)).status).toBe(204)
    expect((await tryLogin(strict, u.username, u.password)).status).toBe(200)
  })

  it('counts wrong passwords on an unverified account like any other: after 5, even the right one gets 429', async () => {
    const u = await adminCreates(strict, strictAdmin)
    for (let i = 0; i < 5; i++) expect((await tryLogin(strict, u.username, `Wrong-${i}-passw0rd`)).status).toBe(401)
    expect((await tryLogin(strict, u.username, u.password)).status).toBe(429)
  })

  it('lets in a user an admin created verified, and one an admin marked verified', async () => {
    const verified = await adminCreates(strict, strictAdmin, true)
    expect((await tryLogin(strict, verified.username, verified.password)).status).toBe(200)
    const later = await adminCreates(strict, strictAdmin)
    expect((await tryLogin(strict, later.username, later.password)).status).toBe(403)
    expect((await strict.call('PATCH', `/api/users/${later.username}`, { token: strictAdmin, json: { email_verified: true } })).status).toBe(200)
    expect((await tryLogin(strict, later.username, later.password)).status).toBe(200)
  })
})
