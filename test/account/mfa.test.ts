// Multi-factor authentication through HTTP: TOTP enrolment and activation, the two-step login
// (403 mfa_required + mfa_token, then POST /api/auth/mfa/verify), amr/aal claims, what is
// refused (replayed, old and wrong codes, bad mfa_tokens, used recovery codes), the wrong-code
// limit, MFA_REQUIRED_ROLES, an admin's reset, removal, and the secret at rest. Codes come from
// a second TOTP implementation on node:crypto (test/helpers/totp.ts: RFC 4226 5.3, RFC 6238 4),
// not from the service's library, so the service must interoperate with any authenticator app.
import { createHash, randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { totpCode } from '../../lib/mfa/totp.js'
import { ADMIN, login, newUser, onPrebuilt, startService, startWithAdmin, type Service, type Tokens } from '../helpers/service.js'
import { base32Decode, codeAt, enrolledUser as enrolledWith, hotp, mfaTokenOf } from '../helpers/totp.js'

// --- helpers --------------------------------------------------------------------------------

const MFA_KEY = randomBytes(32).toString('hex')
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())

let svc: Service
let adminToken: string

beforeAll(async () => {
  ;({ svc, adminToken } = await startWithAdmin({ MFA_ENCRYPTION_KEY: MFA_KEY }))
})
afterAll(() => svc?.stop())

const enrolledUser = (on: Service = svc, token = adminToken) => enrolledWith(on, token)
const mfaToken = (u: { username: string; password: string }, on: Service = svc) => mfaTokenOf(on, u)

const verify = (body: Record<string, unknown>, on: Service = svc) => on.call('POST', '/api/auth/mfa/verify', { json: body })

// --- the library as used ----------------------------------------------------------------------

describe('TOTP codes', () => {
  // RFC 6238 Appendix B, the SHA-1 rows: the 20-byte ASCII seed, 8 digits, at the given times.
  const seed = Buffer.from('12345678901234567890')
  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ])('at %i s the service computes %s, as the RFC and the test implementation do', async (seconds, expected) => {
    expect(await totpCode(seed, seconds * 1000, 8)).toBe(expected)
    expect(hotp(seed, Math.floor(seconds / 30), 8)).toBe(expected)
  })
})

// --- enrolment and the two-step login -----------------------------------------------------------

describe('TOTP enrolment and login', () => {
  it('enrolls with a code from an independent implementation, then logs in in two steps with amr pwd+otp and aal2', async () => {
    const u = await newUser(svc, adminToken)
    const first = await login(svc, u.username, u.password)
    expect(claimsOf(first.access_token)).toMatchObject({ amr: ['pwd'], aal: 'aal1' })

    const started = await svc.call('POST', '/api/auth/mfa/totp', { token: first.access_token, json: { current_password: u.password } })
    expect(started.status).toBe(201)
    expect(started.headers.get('cache-control')).toBe('no-store')
    const enrolment = await started.json()
    expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/)
    const uri = new URL(enrolment.otpauth_uri)
    expect(uri.protocol).toBe('otpauth:')
    expect(uri.host).toBe('totp')
    expect(uri.searchParams.get('secret')).toBe(enrolment.secret)
    expect(uri.searchParams.get('algorithm')).toBe('SHA1')
    expect(uri.searchParams.get('digits')).toBe('6')
    expect(uri.searchParams.get('period')).toBe('30')
    expect(decodeURIComponent(uri.pathname)).toContain(u.username)
    expect(enrolment.qr_svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/)

    // Pending: not active yet, and logins still give a pair.
    expect((await (await svc.call('GET', '/api/users/me', { token: first.access_token })).json()).mfa).toEqual({ totp: false })
    const other = await login(svc, u.username, u.password)

    const wrong = await svc.call('POST', '/api/auth/mfa/totp/activate', { token: first.access_token, json: { code: codeAt(enrolment.secret, -90) } })
    expect(wrong.status).toBe(400)
    expect((await wrong.json()).errors).toEqual([{ path: 'code', message: 'is not correct' }])

    const activated = await svc.call('POST', '/api/auth/mfa/totp/activate', { token: first.access_token, json: { code: codeAt(enrolment.secret) } })
    expect(activated.status).toBe(200)
    const { recovery_codes } = await activated.json()
    expect(recovery_codes).toHaveLength(10)
    for (const code of recovery_codes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/)
    expect(new Set(recovery_codes).size).toBe(10)

    // Activation ended the other session, kept this one, and the user JSON says so.
    expect((await svc.call('GET', '/api/users/me', { token: other.access_token })).status).toBe(401)
    const me = await svc.call('GET', '/api/users/me', { token: first.access_token })
    expect((await me.json()).mfa).toEqual({ totp: true })
    const again = await svc.call('POST', '/api/auth/mfa/totp', { token: first.access_token, json: { current_password: u.password } })
    expect(again.status).toBe(409)

    // The password step: 403 mfa_required, an mfa_token, the methods, and no token pair.
    const step1 = await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password } })
    expect(step1.status).toBe(403)
    expect(step1.headers.get('content-type')).toBe('application/problem+json')
    expect(step1.headers.get('cache-control')).toBe('no-store')
    const problem = await step1.json()
    expect(problem).toMatchObject({ status: 403, error: 'mfa_required', mfa_methods: ['totp', 'recovery_code'] })
    expect(typeof problem.mfa_token).toBe('string')
    expect(problem).not.toHaveProperty('access_token')
    expect(problem).not.toHaveProperty('refresh_token')
    // An mfa_token is no access token.
    expect((await svc.call('GET', '/api/users/me', { token: problem.mfa_token })).status).toBe(401)

    // The activation used this step's code: the next step's code (accepted one step early) logs in.
    const res = await verify({ mfa_token: problem.mfa_token, code: codeAt(enrolment.secret, 30) })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const pair = (await res.json()) as Tokens
    expect(pair.token_type).toBe('bearer')
    expect(claimsOf(pair.access_token)).toMatchObject({ amr: ['pwd', 'otp'], aal: 'aal2', preferred_username: u.username })
    expect((await svc.call('GET', '/api/users/me', { token: pair.access_token })).status).toBe(200)

    // A refresh keeps the session's assurance.
    const refreshed = await svc.call('POST', '/api/auth/refresh', { json: { refresh_token: pair.refresh_token } })
    expect(refreshed.status).toBe(200)
    expect(claimsOf((await refreshed.json()).access_token)).toMatchObject({ amr: ['pwd', 'otp'], aal: 'aal2' })
  })

  it('a wrong password of a TOTP user is the same 401 as for anyone, with no mfa_token', async () => {
    const u = await enrolledUser()
    const res = await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password + 'x' } })
    expect(res.status).toBe(401)
    expect(await res.json()).not.toHaveProperty('mfa_token')
  })

  it('enrolment needs the current password', async () => {
    const u = await newUser(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const missing = await svc.call('POST', '/api/auth/mfa/totp', { token: t.access_token, json: {} })
    expect(missing.status).toBe(400)
    const wrong = await svc.call('POST', '/api/auth/mfa/totp', { token: t.access_token, json: { current_password: 'not-it' } })
    expect(wrong.status).toBe(400)
    expect((await wrong.json()).errors).toEqual([{ path: 'current_password', message: 'is not correct' }])
    expect((await svc.call('POST', '/api/auth/mfa/totp', { json: { current_password: u.password } })).status).toBe(401)
  })
})

// --- what verify refuses ------------------------------------------------------------------------

describe('POST /api/auth/mfa/verify refuses', () => {
  it('a code already accepted (replay), and a code two steps old', async () => {
    const u = await enrolledUser()
    const code = codeAt(u.secret, 30)
    expect((await verify({ mfa_token: await mfaToken(u), code })).status).toBe(200)
    const replay = await verify({ mfa_token: await mfaToken(u), code })
    expect(replay.status).toBe(400)
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant', errors: [{ path: 'code', message: 'is not correct' }] })
    // The activation's own code is spent too.
    expect((await verify({ mfa_token: await mfaToken(u), code: u.activationCode })).status).toBe(400)

    const v = await enrolledUser()
    const old = await verify({ mfa_token: await mfaToken(v), code: codeAt(v.secret, -60) })
    expect(old.status).toBe(400)
  })

  it('an mfa_token already exchanged, even raced with two different good factors', async () => {
    const u = await enrolledUser()
    const token = await mfaToken(u)
    // Two good factors at once (the next step's code and a recovery code): each passes its own
    // check, and the token's single use must still let exactly one through.
    const raced = await Promise.all([verify({ mfa_token: token, code: codeAt(u.secret, 30) }), verify({ mfa_token: token, recovery_code: u.recovery[0] })])
    expect(raced.map((r) => r.status).sort()).toEqual([200, 400])
    const refused = raced.find((r) => r.status === 400)!
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' })
    // Afterwards, the spent token is refused with any factor.
    const again = await verify({ mfa_token: token, recovery_code: u.recovery[1] })
    expect(again.status).toBe(400)
    expect((await again.json()).detail).toMatch(/already used/)
  })

  it('wrong codes: five are answered 400, the sixth 429 with Retry-After, even with the right code', async () => {
    const u = await enrolledUser()
    const token = await mfaToken(u)
    const right = codeAt(u.secret, 30)
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    for (let i = 0; i < 5; i++) {
      const res = await verify({ mfa_token: i < 3 ? token : await mfaToken(u), code: wrong })
      expect(res.status).toBe(400)
    }
    const blocked = await verify({ mfa_token: await mfaToken(u), code: right })
    expect(blocked.status).toBe(429)
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('an expired mfa_token, one signed with another key, an access token, and a malformed one', async () => {
    const u = await enrolledUser()
    const good = await mfaToken(u)
    const header = JSON.parse(Buffer.from(good.split('.')[0]!, 'base64url').toString())
    const claims = claimsOf(good)
    const secret = new TextEncoder().encode(svc.env.JWT_SECRET)
    const sign = (key: Uint8Array, exp: number) =>
      new SignJWT({ cv: claims.cv }).setProtectedHeader(header).setIssuer(claims.iss).setAudience(claims.aud).setSubject(claims.sub)
        .setJti(claims.jti).setIssuedAt(exp - 300).setExpirationTime(exp).sign(key)
    const expired = await sign(secret, Math.floor(Date.now() / 1000) - 120)
    const foreign = await sign(randomBytes(32), Math.floor(Date.now() / 1000) + 120)
    const pair = await (async () => {
      const plain = await newUser(svc, adminToken)
      return login(svc, plain.username, plain.password)
    })()
    for (const mfa_token of [expired, foreign, pair.access_token, 'not-a-token']) {
      const res = await verify({ mfa_token, code: codeAt(u.secret, 30) })
      expect(res.status, mfa_token.slice(0, 20)).toBe(400)
      expect((await res.json()).error).toBe('invalid_grant')
    }
    // The right code still works with the real token: the refusals above consumed nothing.
    expect((await verify({ mfa_token: good, code: codeAt(u.secret, 30) })).status).toBe(200)
    // And that token is spent.
    expect((await verify({ mfa_token: good, code: u.recovery[0] })).status).toBe(400)
  })

  it('another user\'s mfa_token does not log in as that user with one\'s own code', async () => {
    const a = await enrolledUser()
    const b = await enrolledUser()
    const res = await verify({ mfa_token: await mfaToken(a), code: codeAt(b.secret, 30) })
    expect(res.status).toBe(400)
  })

  it('a recovery code logs in once, in any case and without hyphens, and never again', async () => {
    const u = await enrolledUser()
    const code = u.recovery[3]!
    const res = await verify({ mfa_token: await mfaToken(u), recovery_code: code.toUpperCase().replace(/-/g, '') })
    expect(res.status).toBe(200)
    expect(claimsOf((await res.json()).access_token)).toMatchObject({ amr: ['pwd', 'otp'], aal: 'aal2' })
    const again = await verify({ mfa_token: await mfaToken(u), recovery_code: code })
    expect(again.status).toBe(400)
    expect((await again.json()).errors).toEqual([{ path: 'recovery_code', message: 'is not correct' }])
    // The others still work.
    expect((await verify({ mfa_token: await mfaToken(u), recovery_code: u.recovery[4] })).status).toBe(200)
  })

  it.each([
    { name: 'no factor', body: { mfa_token: 'x' } },
    { name: 'both factors', body: { mfa_token: 'x', code: '123456', recovery_code: 'abcd-efgh-ijkl-mnop' } },
    { name: 'a code of 5 digits', body: { mfa_token: 'x', code: '12345' } },
    { name: 'an unknown field', body: { mfa_token: 'x', code: '123456', extra: 1 } },
    { name: 'no token', body: { code: '123456' } },
  ])('a malformed body: $name (400 invalid_request)', async ({ body }) => {
    const res = await verify(body)
    expect(res.status).toBe(400)
    expect((await res.json()).error).toBe('invalid_request')
  })
})

// --- recovery codes, removal, the admin's reset --------------------------------------------------

describe('managing MFA', () => {
  it('new recovery codes replace the old ones', async () => {
    const u = await enrolledUser()
    const res = await svc.call('POST', '/api/auth/mfa/recovery-codes', {
      token: u.tokens.access_token,
      json: { current_password: u.password, code: codeAt(u.secret, 30) },
    })
    expect(res.status).toBe(200)
    const { recovery_codes } = await res.json()
    expect(recovery_codes).toHaveLength(10)
    expect((await verify({ mfa_token: await mfaToken(u), recovery_code: u.recovery[0] })).status).toBe(400)
    expect((await verify({ mfa_token: await mfaToken(u), recovery_code: recovery_codes[0] })).status).toBe(200)
  })

  it('removal needs the password and a code; then logins give a pair at once', async () => {
    const u = await enrolledUser()
    const noCode = await svc.call('DELETE', '/api/auth/mfa/totp', { token: u.tokens.access_token, json: { current_password: u.password } })
    expect(noCode.status).toBe(400)
    const removed = await svc.call('DELETE', '/api/auth/mfa/totp', {
      token: u.tokens.access_token,
      json: { current_password: u.password, recovery_code: u.recovery[0] },
    })
    expect(removed.status).toBe(204)
    // The session it was done from lives on; logins need no second step any more.
    const me = await svc.call('GET', '/api/users/me', { token: u.tokens.access_token })
    expect((await me.json()).mfa).toEqual({ totp: false })
    const pair = await login(svc, u.username, u.password)
    expect(claimsOf(pair.access_token)).toMatchObject({ amr: ['pwd'], aal: 'aal1' })
  })

  it('an admin\'s reset removes MFA and ends every session of the user; only admins may', async () => {
    const u = await enrolledUser()
    const pair = (await (await verify({ mfa_token: await mfaToken(u), code: codeAt(u.secret, 30) })).json()) as Tokens
    const pendingToken = await mfaToken(u)

    const byUser = await svc.call('DELETE', `/api/users/${u.username}/mfa`, { token: pair.access_token })
    expect(byUser.status).toBe(403)
    const res = await svc.call('DELETE', `/api/users/${u.username}/mfa`, { token: adminToken })
    expect(res.status).toBe(204)
    expect((await svc.call('DELETE', '/api/users/nobody-here/mfa', { token: adminToken })).status).toBe(404)

    expect((await svc.call('GET', '/api/users/me', { token: pair.access_token })).status).toBe(401)
    expect((await svc.call('GET', '/api/users/me', { token: u.tokens.access_token })).status).toBe(401)
    expect((await svc.call('POST', '/api/auth/refresh', { json: { refresh_token: pair.refresh_token } })).status).toBe(400)
    // An mfa_token issued before the reset is dead too (the credential version moved).
    expect((await verify({ mfa_token: pendingToken, recovery_code: u.recovery[0] })).status).toBe(400)
    const fresh = await login(svc, u.username, u.password)
    expect((await (await svc.call('GET', '/api/users/me', { token: fresh.access_token })).json()).mfa).toEqual({ totp: false })
  })
})

// --- at rest, in the trail and in the log -------------------------------------------------------

describe('secrets', () => {
  it('the TOTP secret and the recovery codes are not readable in the database without the key', async () => {
    const u = await enrolledUser()
    const client = new MongoClient(svc.env.MONGODB_URI!)
    try {
      const doc = await client.db(svc.env.MONGODB_DB).collection('users').findOne({ username: u.username })
      const stored = JSON.stringify(doc)
      const raw = base32Decode(u.secret)
      for (const form of [u.secret, u.secret.toLowerCase(), raw.toString('hex'), raw.toString('base64'), raw.toString('base64url'), raw.toString('latin1')]) {
        expect(stored).not.toContain(form)
      }
      for (const code of u.recovery) {
        expect(stored).not.toContain(code)
        expect(stored).not.toContain(code.replace(/-/g, ''))
        expect(stored).not.toContain(createHash('sha256').update(code.replace(/-/g, '')).digest('hex'))
      }
      expect(doc!.mfa.totp.secret).toMatch(/^v1\./)
    } finally {
      await client.close()
    }
  })

  it('the audit trail has every MFA event, and neither it nor the log holds a secret or a code', async () => {
    const u = await enrolledUser()
    const wrong = String((Number(codeAt(u.secret, 30)) + 1) % 1_000_000).padStart(6, '0')
    await verify({ mfa_token: await mfaToken(u), code: wrong })
    await verify({ mfa_token: await mfaToken(u), recovery_code: u.recovery[0] })
    await svc.call('DELETE', `/api/users/${u.username}/mfa`, { token: adminToken })
    const wanted = ['mfa.enrolled', 'mfa.activated', 'login.mfa_required', 'mfa.failed', 'mfa.recovery_code_used', 'mfa.verified', 'mfa.admin_reset']
    let events: string[] = []
    let text = ''
    for (const deadline = Date.now() + 3000; Date.now() < deadline; ) {
      const res = await svc.call('GET', `/api/audit?user=${u.username}&limit=100`, { token: adminToken })
      text = await res.text()
      events = JSON.parse(text).items.map((i: { event: string }) => i.event)
      if (wanted.every((w) => events.includes(w))) break
    }
    expect(events).toEqual(expect.arrayContaining(wanted))
    for (const where of [text, svc.output()]) {
      expect(where).not.toContain(u.secret)
      for (const code of u.recovery) expect(where).not.toContain(code)
    }
  })
})

// --- MFA_REQUIRED_ROLES ----------------------------------------------------------------------------

describe('MFA_REQUIRED_ROLES=admin', () => {
  let strict: Service
  beforeAll(async () => {
    strict = await startService({ MFA_ENCRYPTION_KEY: MFA_KEY, MFA_REQUIRED_ROLES: 'admin' })
  })
  afterAll(() => strict?.stop())

  it('keeps an aal1 admin out of admin routes but lets it enroll; with aal2 it is in', async () => {
    const aal1 = await login(strict, ADMIN.username, ADMIN.password)
    const out = await strict.call('GET', '/api/users', { token: aal1.access_token })
    expect(out.status).toBe(403)
    expect(await out.json()).toMatchObject({ error: 'mfa_required' })
    expect((await strict.call('GET', '/api/audit', { token: aal1.access_token })).status).toBe(403)
    expect((await strict.call('PATCH', '/api/users/me', { token: aal1.access_token, json: { current_password: ADMIN.password } })).status).toBe(403)
    expect((await strict.call('GET', '/api/users/me', { token: aal1.access_token })).status).toBe(200)

    const started = await strict.call('POST', '/api/auth/mfa/totp', { token: aal1.access_token, json: { current_password: ADMIN.password } })
    expect(started.status).toBe(201)
    const { secret } = await started.json()
    const activated = await strict.call('POST', '/api/auth/mfa/totp/activate', { token: aal1.access_token, json: { code: codeAt(secret) } })
    expect(activated.status).toBe(200)
    // Still aal1 in this session: still out.
    expect((await strict.call('GET', '/api/users', { token: aal1.access_token })).status).toBe(403)

    const res = await verify({ mfa_token: await mfaToken(ADMIN, strict), code: codeAt(secret, 30) }, strict)
    expect(res.status).toBe(200)
    const aal2 = (await res.json()) as Tokens
    expect((await strict.call('GET', '/api/users', { token: aal2.access_token })).status).toBe(200)
    // A plain user is not concerned.
    const u = await newUser(strict, aal2.access_token)
    const plain = await login(strict, u.username, u.password)
    expect((await strict.call('GET', `/api/users/${u.username}`, { token: plain.access_token })).status).toBe(200)
    expect((await strict.call('POST', '/api/auth/logout', { token: aal1.access_token })).status).toBe(204)
  })
})

// --- deployed without a key ------------------------------------------------------------------------

describe.skipIf(!onPrebuilt)('deployed without MFA_ENCRYPTION_KEY', () => {
  let bare: Service
  beforeAll(async () => {
    bare = await startService()
  })
  afterAll(() => bare?.stop())

  it('enrolment answers 501, and everything else works as before', async () => {
    const t = await login(bare, ADMIN.username, ADMIN.password)
    const res = await bare.call('POST', '/api/auth/mfa/totp', { token: t.access_token, json: { current_password: ADMIN.password } })
    expect(res.status).toBe(501)
    expect((await bare.call('GET', '/api/users', { token: t.access_token })).status).toBe(200)
  })
})
