// Email verification on a clock the test moves (test/helpers/in-process.ts): a link works until
// 24 hours after it was mailed and not after, and the limit on asking for links (5 per account)
// lets the account ask again once its 15-minute window has passed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startClocked, type ClockedService } from '../helpers/in-process.js'
import { login, newUser, type Tokens } from '../helpers/service.js'
import { mailSettings, startMailbox, tokenFrom, type Mailbox } from '../account/mailbox.js'

const MINUTE = 60 * 1000
const HOUR = 60 * MINUTE

let box: Mailbox
let svc: ClockedService

beforeAll(async () => {
  box = await startMailbox()
  svc = await startClocked(mailSettings(box))
})
afterAll(async () => {
  await svc?.stop()
  await box?.close()
})

const ask = (t: Tokens) => svc.call('POST', '/api/auth/email/verify-request', { token: t.access_token })
const verify = (token: string) => svc.call('POST', '/api/auth/email/verify', { json: { token } })
const verified = async (username: string) =>
  ((await (await svc.call('GET', `/api/users/${username}`, { token: await svc.admin() })).json()) as { email_verified: boolean }).email_verified

/** An unverified user (made by the admin) and a link mailed to it just now. */
async function mailedLink(): Promise<{ username: string; token: string }> {
  const u = await newUser(svc, await svc.admin())
  expect((await ask(await login(svc, u.username, u.password))).status).toBe(202)
  return { username: u.username, token: tokenFrom(await box.next(u.email)) }
}

describe('a verification link', () => {
  it('works 24 hours less a second after it was mailed', async () => {
    const { username, token } = await mailedLink()
    svc.advance(24 * HOUR - 1000)
    expect((await verify(token)).status).toBe(204)
    expect(await verified(username)).toBe(true)
  })

  it('is refused 24 hours after, changing nothing', async () => {
    const { username, token } = await mailedLink()
    svc.advance(24 * HOUR)
    const res = await verify(token)
    expect(res.status).toBe(400)
    expect((await res.json()).errors[0].path).toBe('token')
    expect(await verified(username)).toBe(false)
  })
})

describe('the limit on asking for links (5 per account in 15 minutes)', () => {
  it('refuses the sixth request until the window has passed', async () => {
    const u = await newUser(svc, await svc.admin())
    const t = await login(svc, u.username, u.password)
    for (let i = 0; i < 5; i++) expect((await ask(t)).status).toBe(202)
    const refused = await ask(t)
    expect(refused.status).toBe(429)
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(15 * 60)
    svc.advance(15 * MINUTE - 1000)
    expect((await ask(t)).status).toBe(429)
    svc.advance(1000)
    // A fresh token: the first may have expired while the clock moved.
    expect((await ask(await login(svc, u.username, u.password))).status).toBe(202)
    // One mail per accepted request: five, then the one after the window.
    for (let i = 0; i < 6; i++) await box.next(u.email)
    await expect(box.next(u.email, 300)).rejects.toThrow(/no mail/)
  })
})
