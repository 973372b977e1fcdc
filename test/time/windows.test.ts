// What only time shows, on a clock the test moves (test/helpers/in-process.ts): the refresh
// reuse grace, the access token's and the session's lifetimes, the login and reset-request
// throttle windows, and the reset link's expiry. Each is checked on both sides of its edge.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startClocked, type ClockedService } from '../helpers/in-process.js'
import { login, newUser, type Tokens } from '../helpers/service.js'

const SECOND = 1000
const MINUTE = 60 * SECOND

let svc: ClockedService

beforeAll(async () => {
  svc = await startClocked()
})
afterAll(() => svc?.stop())

const me = (t: Tokens) => svc.call('GET', '/api/users/me', { token: t.access_token })
const refresh = (t: Tokens) => svc.call('POST', '/api/auth/refresh', { json: { refresh_token: t.refresh_token } })
const tryLogin = (username: string, password: string) => svc.call('POST', '/api/auth/login', { json: { username, password } })

/** The audit write follows the response: poll until the event is there. */
async function auditedEvents(username: string, wanted: string): Promise<{ event: string; actor: string | null; user: string | null }[]> {
  for (let i = 0; i < 40; i++) {
    const res = await svc.call('GET', `/api/audit?user=${username}`, { token: await svc.admin() })
    const items = (await res.json()).items as { event: string; actor: string | null; user: string | null }[]
    if (items.some((e) => e.event === wanted)) return items
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${wanted} never reached the audit trail of ${username}`)
}

describe('the refresh reuse grace (REFRESH_REUSE_INTERVAL, 10 s)', () => {
  it('a used refresh token replayed 9.999 s after its rotation gets a fresh pair; the session lives', async () => {
    const u = await newUser(svc, await svc.admin())
    const t = await login(svc, u.username, u.password)
    const first = (await (await refresh(t)).json()) as Tokens
    svc.advance(10 * SECOND - 1)
    const again = await refresh(t)
    expect(again.status).toBe(200)
    const second = (await again.json()) as Tokens
    expect((await me(first)).status).toBe(200)
    expect((await me(second)).status).toBe(200)
  })

  it('replayed 10 s after, it is taken as stolen: 400 invalid_grant, the whole session ends, token.reuse is audited', async () => {
    const u = await newUser(svc, await svc.admin())
    const t = await login(svc, u.username, u.password)
    const next = (await (await refresh(t)).json()) as Tokens
    svc.advance(10 * SECOND)
    const reuse = await refresh(t)
    expect(reuse.status).toBe(400)
    expect(reuse.headers.get('content-type')).toBe('application/problem+json')
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant', detail: 'The refresh token was already used; the session has ended' })
    // The thief's use ended the session, the legitimate holder's tokens included.
    const after = await me(next)
    expect(after.status).toBe(401)
    expect(after.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    expect((await refresh(next)).status).toBe(400)
    const items = await auditedEvents(u.username, 'token.reuse')
    expect(items).toContainEqual(expect.objectContaining({ event: 'token.reuse', actor: u.username, user: u.username }))
  })
})

describe('lifetimes', () => {
  it('an access token works until ACCESS_TOKEN_TTL (15 min) plus 30 s of skew, then 401 "expired"', async () => {
    const u = await newUser(svc, await svc.admin())
    const t = await login(svc, u.username, u.password)
    svc.advance(15 * MINUTE + 29 * SECOND)
    expect((await me(t)).status).toBe(200)
    svc.advance(2 * SECOND)
    const res = await me(t)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    expect(await res.json()).toMatchObject({ error: 'invalid_token', detail: 'The access token has expired' })
  })

  it('a refresh token works until REFRESH_TOKEN_TTL (7 days), then 400 invalid_grant', async () => {
    const u = await newUser(svc, await svc.admin())
    const early = await login(svc, u.username, u.password)
    const late = await login(svc, u.username, u.password)
    svc.advance(7 * 24 * 60 * MINUTE - SECOND)
    expect((await refresh(early)).status).toBe(200)
    svc.advance(SECOND)
    const res = await refresh(late)
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'invalid_grant', detail: 'The refresh token is not valid' })
  })
})

describe('throttle windows', () => {
  it('five failed logins lock the account for 15 minutes from the first, with a Retry-After that counts down', async () => {
    const u = await newUser(svc, await svc.admin())
    for (let i = 0; i < 5; i++) expect((await tryLogin(u.username, 'Wrong-guess-123')).status).toBe(401)
    const locked = await tryLogin(u.username, u.password)
    expect(locked.status).toBe(429)
    expect(locked.headers.get('retry-after')).toBe('900')
    svc.advance(10 * MINUTE)
    const still = await tryLogin(u.username, u.password)
    expect(still.status).toBe(429)
    expect(still.headers.get('retry-after')).toBe('300')
    svc.advance(5 * MINUTE)
    expect((await tryLogin(u.username, u.password)).status).toBe(200)
  })

  it('reset requests: five per account per 15 minutes, then 429 until the window ends', async () => {
    const u = await newUser(svc, await svc.admin())
    const request = () => svc.call('POST', '/api/auth/password-reset', { json: { email: u.email } })
    for (let i = 0; i < 5; i++) expect((await request()).status).toBe(202)
    const refused = await request()
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('900')
    svc.advance(15 * MINUTE - SECOND)
    expect((await request()).status).toBe(429)
    svc.advance(SECOND)
    expect((await request()).status).toBe(202)
  })
})

describe('reset link expiry (30 minutes)', () => {
  const issue = async (username: string) => {
    const res = await svc.call('POST', `/api/users/${username}/password-reset`, { token: await svc.admin() })
    expect(res.status).toBe(200)
    return new URL(((await res.json()) as { reset_url: string }).reset_url).searchParams.get('token')!
  }
  const confirm = (token: string, password: string) => svc.call('POST', '/api/auth/password-reset/confirm', { json: { token, new_password: password } })

  it('a link works until 30 minutes after it was issued, and not at 30 minutes; the refusal changes nothing', async () => {
    const admin = await svc.admin()
    const [a, b] = await Promise.all([newUser(svc, admin), newUser(svc, admin)])
    const [tokenA, tokenB] = [await issue(a.username), await issue(b.username)]
    svc.advance(30 * MINUTE - SECOND)
    expect((await confirm(tokenA, 'Just-in-time-passw0rd')).status).toBe(204)
    expect((await tryLogin(a.username, 'Just-in-time-passw0rd')).status).toBe(200)
    svc.advance(SECOND)
    const late = await confirm(tokenB, 'Too-late-passw0rd-1')
    expect(late.status).toBe(400)
    expect((await late.json()).errors).toEqual([{ path: 'token', message: 'is invalid, expired or already used' }])
    expect((await tryLogin(b.username, b.password)).status).toBe(200)
    expect((await tryLogin(b.username, 'Too-late-passw0rd-1')).status).toBe(401)
  })
})
