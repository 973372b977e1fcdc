// MFA on a clock the test moves (test/helpers/in-process.ts): the TOTP window of one step either
// side and the replay rule at its edges, the mfa_token's five minutes, and the wrong-code window
// of 15 minutes. Codes come from the independent implementation in test/helpers/totp.ts, at the
// service's time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startClocked, type ClockedService } from '../helpers/in-process.js'
import { codeAt, enrolledUser, mfaTokenOf } from '../helpers/totp.js'

const SECOND = 1000
const MINUTE = 60 * SECOND

let svc: ClockedService

beforeAll(async () => {
  svc = await startClocked()
})
afterAll(() => svc?.stop())

const verify = (body: Record<string, unknown>) => svc.call('POST', '/api/auth/mfa/verify', { json: body })
/** The code of the step `steps` away from the service's current one. */
const code = (secret: string, steps: number) => codeAt(secret, steps * 30, svc.nowMs())

describe('the TOTP window', () => {
  it('accepts one step either side, not two; only a step later than the last accepted one', async () => {
    const u = await enrolledUser(svc, await svc.admin(), svc.nowMs)
    // Activation spent the current step: move to the start of a step two later.
    svc.advance(2 * 30 * SECOND - (svc.nowMs() % (30 * SECOND)))
    for (const steps of [-2, 2]) expect((await verify({ mfa_token: await mfaTokenOf(svc, u), code: code(u.secret, steps) })).status, `${steps}`).toBe(400)
    expect((await verify({ mfa_token: await mfaTokenOf(svc, u), code: code(u.secret, -1) })).status).toBe(200)
    expect((await verify({ mfa_token: await mfaTokenOf(svc, u), code: code(u.secret, 0) })).status).toBe(200)
    expect((await verify({ mfa_token: await mfaTokenOf(svc, u), code: code(u.secret, 1) })).status).toBe(200)
    // Each of those is spent now, and so is everything before the last.
    for (const steps of [-1, 0, 1]) expect((await verify({ mfa_token: await mfaTokenOf(svc, u), code: code(u.secret, steps) })).status, `${steps}`).toBe(400)
    // To the last millisecond of this step nothing later is left to accept; once it turns, the next is.
    svc.advance(30 * SECOND - 1)
    expect((await verify({ mfa_token: await mfaTokenOf(svc, u), code: code(u.secret, 1) })).status).toBe(400)
    svc.advance(1)
    expect((await verify({ mfa_token: await mfaTokenOf(svc, u), code: code(u.secret, 1) })).status).toBe(200)
  })
})

describe('the mfa_token (5 minutes)', () => {
  it('works at 4 min 59 s, and not once 5 minutes and the 30 s clock tolerance have passed', async () => {
    const u = await enrolledUser(svc, await svc.admin(), svc.nowMs)
    const early = await mfaTokenOf(svc, u)
    const late = await mfaTokenOf(svc, u)
    svc.advance(5 * MINUTE - SECOND)
    const ok = await verify({ mfa_token: early, code: code(u.secret, 0) })
    expect(ok.status, await ok.clone().text()).toBe(200)
    svc.advance(31 * SECOND + SECOND)
    const res = await verify({ mfa_token: late, code: code(u.secret, 0) })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'invalid_grant', detail: expect.stringMatching(/expired/) })
  })
})

describe('the wrong-code window (5 in 15 minutes)', () => {
  it('blocks the sixth attempt until the window has passed', async () => {
    const u = await enrolledUser(svc, await svc.admin(), svc.nowMs)
    svc.advance(30 * SECOND)
    const wrong = String((Number(code(u.secret, 0)) + 1) % 1_000_000).padStart(6, '0')
    for (let i = 0; i < 5; i++) expect((await verify({ mfa_token: await mfaTokenOf(svc, u), code: wrong })).status).toBe(400)
    const blocked = await verify({ mfa_token: await mfaTokenOf(svc, u), code: code(u.secret, 0) })
    expect(blocked.status).toBe(429)
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(14 * 60)
    svc.advance(15 * MINUTE)
    expect((await verify({ mfa_token: await mfaTokenOf(svc, u), code: code(u.secret, 0) })).status).toBe(200)
  })
})
