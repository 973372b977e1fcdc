// Failed-login limits per account, whatever the spelling (contract, "Credentials and identity").
// The review got around the per-username limit with `ｄave`, `𝐝ave`, `DAVE` and the email, and a
// parallel burst of 30 wrong passwords got 30 compares. Each test sends from a loopback address
// of its own, so the per-address limit (50) never mixes into what it shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callFrom, freshAddress } from '../helpers/address.js'
import { login, newUser, startWithAdmin, type Service } from '../helpers/service.js'

let svc: Service
let adminToken: string

beforeAll(async () => {
  // debug: one `password.compare` line per bcrypt compare, to count them
  ;({ svc, adminToken } = await startWithAdmin({ LOG_LEVEL: 'debug' }))
})
afterAll(() => svc?.stop())

const loginFrom = (address: string, username: string, password: string, requestId?: string) =>
  callFrom(address, `${svc.url}/api/auth/login`, 'POST', { json: { username, password }, headers: requestId ? { 'x-request-id': requestId } : {} })

const lines = () => svc.output().split('\n').filter((l) => l.startsWith('{'))
const compares = () => lines().filter((l) => JSON.parse(l).msg === 'password.compare').length

/** Waits until the service has logged the request line of every id (written after each answer). */
async function loggedAll(ids: string[]): Promise<void> {
  await expect.poll(() => ids.filter((id) => svc.output().includes(`"request_id":"${id}"`)).length, { timeout: 5000 }).toBe(ids.length)
}

/** The same name in other code points that NFKC and lower case fold back to it. */
function spell(name: string, how: 'fullwidth' | 'bold', at = 0): string {
  const c = name[at]!
  const folded = /[a-z]/.test(c)
    ? String.fromCodePoint((how === 'fullwidth' ? 0xff41 : 0x1d41a) + c.charCodeAt(0) - 0x61)
    : String.fromCodePoint((how === 'fullwidth' ? 0xff10 : 0x1d7ce) + c.charCodeAt(0) - 0x30)
  return name.slice(0, at) + folded + name.slice(at + 1)
}

async function auditOf(username: string, event: string): Promise<{ user: string | null }[]> {
  const res = await svc.call('GET', `/api/audit?user=${username}&event=${event}&limit=100`, { token: adminToken })
  expect(res.status).toBe(200)
  return (await res.json()).items
}

describe('failed logins count per account, whatever the spelling', () => {
  it('five failures through five spellings lock every spelling out, the right password included', async () => {
    const u = await newUser(svc, adminToken)
    const from = freshAddress()
    const spellings = [spell(u.username, 'fullwidth'), spell(u.username, 'bold'), u.username.toUpperCase(), u.email, u.email.toUpperCase()]
    for (const name of spellings) expect((await loginFrom(from, name, 'Wrong-guess-123')).status, name).toBe(401)
    for (const name of [u.username, spell(u.username, 'fullwidth', 1), u.email]) {
      const res = await loginFrom(from, name, u.password)
      expect(res.status, name).toBe(429)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
    }
    // The audit trail names the account for every spelling.
    await expect.poll(async () => (await auditOf(u.username, 'login.failure')).length, { timeout: 3000 }).toBe(5)
    expect((await auditOf(u.username, 'login.failure')).every((e) => e.user === u.username)).toBe(true)
    await expect.poll(async () => (await auditOf(u.username, 'login.throttled')).length, { timeout: 3000 }).toBe(3)
  })

  it('a right password through any spelling logs in and clears the count', async () => {
    const u = await newUser(svc, adminToken)
    const from = freshAddress()
    for (let i = 0; i < 4; i++) expect((await loginFrom(from, u.email, 'Wrong-guess-123')).status).toBe(401)
    expect((await loginFrom(from, spell(u.username, 'bold'), u.password)).status).toBe(200)
    // Cleared: five more failures before the limit.
    for (let i = 0; i < 5; i++) expect((await loginFrom(from, u.username, 'Wrong-guess-123')).status).toBe(401)
    expect((await loginFrom(from, u.username, 'Wrong-guess-123')).status).toBe(429)
  })

  it.each([
    { name: 'an account', target: async () => (await newUser(svc, adminToken)).username },
    { name: 'an unknown name', target: async () => `nobody-${Date.now().toString(36)}` },
  ])('a parallel burst of 30 wrong passwords for $name gets exactly five compares and 25 × 429', async ({ target }) => {
    const name = await target()
    const from = freshAddress()
    const ids = Array.from({ length: 30 }, (_, i) => `burst-${name}-${i}`)
    const before = compares()
    const answers = await Promise.all(ids.map((id) => loginFrom(from, name, 'Wrong-guess-123', id)))
    const statuses = answers.map((r) => r.status).sort()
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(25).fill(429)])
    await loggedAll(ids)
    expect(compares() - before).toBe(5)
  })

  it('the burst leaves the account locked for its right password too (read back)', async () => {
    const u = await newUser(svc, adminToken)
    const from = freshAddress()
    await Promise.all(Array.from({ length: 30 }, () => loginFrom(from, u.username, 'Wrong-guess-123')))
    expect((await loginFrom(freshAddress(), u.username, u.password)).status).toBe(429)
    // Another account is not touched by it.
    const other = await newUser(svc, adminToken)
    expect((await login(svc, other.username, other.password)).access_token).toBeTruthy()
  })
})
