import { createHash, generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SignJWT, decodeJwt, decodeProtectedHeader, base64url } from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import { createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { ADMIN, login, newUser, startService, type Service } from '../helpers/service.js'

describe('access tokens (HS256)', () => {
  let svc: Service
  let good: string
  let secret: Uint8Array
  let kid: string
  let claims: Record<string, unknown>

  beforeAll(async () => {
    svc = await startService()
    const admin = await login(svc, ADMIN.username, ADMIN.password)
    const u = await newUser(svc, admin.access_token)
    good = (await login(svc, u.username, u.password)).access_token
    secret = new TextEncoder().encode(svc.env.JWT_SECRET)
    kid = decodeProtectedHeader(good).kid!
    claims = decodeJwt(good)
  })
  afterAll(() => svc?.stop())

  const now = () => Math.floor(Date.now() / 1000)
  const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = {}, key: Uint8Array = secret) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt', ...header } as never).sign(key)
  const unsigned = (payload: Record<string, unknown>) =>
    `${base64url.encode(JSON.stringify({ alg: 'none', kid, typ: 'at+jwt' }))}.${base64url.encode(JSON.stringify(payload))}.`

  it('carries the contract claims', () => {
    expect(Object.keys(claims).sort()).toEqual(['aal', 'amr', 'aud', 'exp', 'iat', 'iss', 'jti', 'preferred_username', 'role', 'sid', 'sub'])
    expect(claims.role).toBe('user')
    expect(kid).toBe('hs-' + createHash('sha256').update(secret).digest('base64url').slice(0, 12))
  })

  it('accepts a token the test signs like the service (proves the refusals below are about the one change)', async () => {
    const token = await sign({ ...claims, iat: now(), exp: now() + 60 })
    expect((await svc.call('GET', '/api/users/me', { token })).status).toBe(200)
  })

  // Every refusal says the same thing but for an expired token and one that is no JWT at all.
  const cases: { name: string; make: () => Promise<string> | string; detail?: string }[] = [
    { name: 'alg none', make: () => unsigned({ ...claims, exp: now() + 60 }) },
    { name: 'a wrong key', make: () => sign({ ...claims, exp: now() + 60 }, {}, new TextEncoder().encode('x'.repeat(40))) },
    { name: 'a wrong algorithm (HS512 with the same secret)', make: () => sign({ ...claims, exp: now() + 60 }, { alg: 'HS512' }) },
    { name: 'a wrong issuer', make: () => sign({ ...claims, iss: 'someone-else', exp: now() + 60 }) },
    { name: 'a wrong audience', make: () => sign({ ...claims, aud: 'another-api', exp: now() + 60 }) },
    { name: 'no exp', make: () => sign({ ...claims, exp: undefined }) },
    { name: 'an expired exp', make: () => sign({ ...claims, iat: now() - 3600, exp: now() - 600 }), detail: 'The access token has expired' },
    { name: 'no sid', make: () => sign({ ...claims, sid: undefined, exp: now() + 60 }) },
    { name: 'another typ', make: () => sign({ ...claims, exp: now() + 60 }, { typ: 'JWT' }) },
    {
      name: 'a tampered payload (role admin)',
      make: () => {
        const [h, , s] = good.split('.')
        return `${h}.${base64url.encode(JSON.stringify({ ...claims, role: 'admin' }))}.${s}`
      },
    },
    { name: 'a jwk header', make: () => sign({ ...claims, exp: now() + 60 }, { jwk: { kty: 'oct', k: base64url.encode(secret) } }) },
    { name: 'a jku header', make: () => sign({ ...claims, exp: now() + 60 }, { jku: 'http://127.0.0.1:1/jwks.json' }) },
    { name: 'an unknown kid', make: () => sign({ ...claims, exp: now() + 60 }, { kid: 'other' }) },
    { name: 'garbage', make: () => 'not.a.jwt', detail: 'The access token is malformed' },
  ]

  it.each(cases)('refuses $name with 401, invalid_token and WWW-Authenticate', async ({ make, detail }) => {
    const res = await svc.call('GET', '/api/users/me', { token: await make() })
    expect(res.status).toBe(401)
    // RFC 6750 3.1: a token was presented, so the challenge names the error.
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toEqual({
      type: 'urn:problem:unauthorized',
      title: 'Unauthorized',
      status: 401,
      detail: detail ?? 'The access token is not acceptable',
      error: 'invalid_token',
    })
  })

  it('answers a request with no token 401 without an error code (RFC 6750 3.1)', async () => {
    const res = await svc.fetch('/api/users/me')
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
  })

  it('publishes no key for HS256', async () => {
    const res = await svc.fetch('/.well-known/jwks.json')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ keys: [] })
  })
})

describe.each([
  { name: 'EdDSA (Ed25519)', pair: () => generateKeyPairSync('ed25519'), alg: 'EdDSA' },
  { name: 'ES256', pair: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }), alg: 'ES256' },
])('access tokens with JWT_PRIVATE_KEY ($name)', ({ pair, alg }) => {
  let svc: Service
  beforeAll(async () => {
    const { privateKey } = pair()
    svc = await startService({ JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), JWT_KID: 'key-1' })
  })
  afterAll(() => svc?.stop())

  it('signs tokens that another JWT library verifies with the published JWKS', async () => {
    const tokens = await login(svc, ADMIN.username, ADMIN.password)
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg, kid: 'key-1' })
    const jwks = (await (await svc.fetch('/.well-known/jwks.json')).json()) as { keys: (Record<string, string> & { kid: string })[] }
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({ kid: 'key-1', alg, use: 'sig' })
    expect(JSON.stringify(jwks)).not.toMatch(/"d"/)
    const pem = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
    if (alg === 'ES256') {
      const payload = jsonwebtoken.verify(tokens.access_token, pem, {
        algorithms: ['ES256'],
        issuer: 'vercel-mongo-auth',
        audience: 'vercel-mongo-auth',
      }) as Record<string, unknown>
      expect(payload.preferred_username).toBe(ADMIN.username)
    } else {
      // jsonwebtoken has no EdDSA: check the Ed25519 signature with Node's crypto directly.
      const [h, p, s] = tokens.access_token.split('.') as [string, string, string]
      expect(cryptoVerify(null, Buffer.from(`${h}.${p}`), pem, Buffer.from(s, 'base64url'))).toBe(true)
    }
    expect((await svc.call('GET', '/api/users/me', { token: tokens.access_token })).status).toBe(200)
  })
})
