// The memory of verified access tokens must never let through what a fresh check would refuse:
// a token that verified is refused once it expires, a changed byte is checked from scratch, and
// a refused token is refused again. The clock is injected (fake Date), nothing sleeps.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose'

process.env.MONGODB_URI = 'mongodb://127.0.0.1:1'
process.env.JWT_SECRET = 'a-test-secret-of-more-than-thirty-two-bytes'
process.env.ACCESS_TOKEN_TTL = '600'

const { signAccessToken, verifyAccessToken } = await import('../../lib/tokens.js')

const claims = { sub: '65a000000000000000000001', preferred_username: 'ann', role: 'user' as const, sid: 'A'.repeat(22) }
const statusOf = (err: unknown) => (err as { status?: number }).status

describe('verified-token memory', () => {
  let token: string
  beforeAll(async () => {
    token = (await signAccessToken(claims)).token
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('answers the same claims again for the same token', async () => {
    const first = await verifyAccessToken(token)
    const again = await verifyAccessToken(token)
    expect(again).toEqual(first)
    expect(again.sid).toBe(claims.sid)
  })

  it('refuses a remembered token once it has expired (past the clock tolerance)', async () => {
    await verifyAccessToken(token)
    const exp = decodeJwt(token).exp!
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime((exp + 29) * 1000)
    expect((await verifyAccessToken(token)).sub).toBe(claims.sub)
    vi.setSystemTime((exp + 31) * 1000)
    const err = await verifyAccessToken(token).catch((e: unknown) => e)
    expect(statusOf(err)).toBe(401)
    expect((err as Error).message + JSON.stringify(err)).toMatch(/expired/)
  })

  it('checks a token with one byte changed from scratch', async () => {
    await verifyAccessToken(token)
    const [h, p, s] = token.split('.')
    const flipped = `${h}.${p}.${s!.slice(0, -2)}${s!.endsWith('AA') ? 'BB' : 'AA'}`
    expect(statusOf(await verifyAccessToken(flipped).catch((e: unknown) => e))).toBe(401)
  })

  it('refuses a token signed with another key every time, never remembering it', async () => {
    const { kid } = decodeProtectedHeader(token)
    const forged = await new SignJWT({ ...decodeJwt(token) })
      .setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
      .sign(new TextEncoder().encode('another-secret-of-more-than-thirty-two-bytes'))
    for (let i = 0; i < 3; i++) expect(statusOf(await verifyAccessToken(forged).catch((e: unknown) => e))).toBe(401)
  })
})
