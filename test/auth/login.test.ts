import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, newUser, startWithAdmin, type Service } from '../helpers/service.js'

let svc: Service
let adminToken: string

beforeAll(async () => {
  ;({ svc, adminToken } = await startWithAdmin())
})
afterAll(() => svc?.stop())

describe('POST /api/auth/login', () => {
  it('answers a JSON login with an RFC 6749 token response that works on /api/users/me', async () => {
    const u = await newUser(svc, adminToken)
    const res = await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password } })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const body = await res.json()
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    expect(body.token_type).toBe('bearer')
    expect(body.expires_in).toBe(900)
    const me = await svc.call('GET', '/api/users/me', { token: body.access_token })
    expect(me.status).toBe(200)
    expect((await me.json()).username).toBe(u.username)
    // bcrypt ran on its worker threads: the worker loads bcryptjs by a resolved path, which a
    // bundle missing the file would turn into a silent fall-back to the main thread.
    expect(svc.output()).not.toContain('passwords.worker_unavailable')
  })

  it('accepts the OAuth2 form body (grant_type, scope, client_id ignored) on the short path /login', async () => {
    const u = await newUser(svc, adminToken)
    const res = await svc.call('POST', '/login', {
      form: { grant_type: 'password', username: u.username, password: u.password, scope: '', client_id: 'swagger' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = await res.json()
    const me = await svc.call('GET', '/users/me', { token: body.access_token })
    expect(me.status).toBe(200)
  })

  it('accepts the email as username, in any letter case', async () => {
    const u = await newUser(svc, adminToken)
    const res = await svc.call('POST', '/api/auth/login', { json: { username: u.email.toUpperCase(), password: u.password } })
    expect(res.status).toBe(200)
  })

  it('gives byte-identical 401 answers for an unknown user and a wrong password', async () => {
    const u = await newUser(svc, adminToken)
    const unknown = await svc.call('POST', '/api/auth/login', { json: { username: 'nobody-here', password: 'whatever-pass' } })
    const wrong = await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: 'whatever-pass' } })
    expect(unknown.status).toBe(401)
    expect(wrong.status).toBe(401)
    expect(unknown.headers.get('content-type')).toBe('application/problem+json')
    expect(unknown.headers.get('www-authenticate')).toBe('Bearer')
    const a = await unknown.text()
    const b = await wrong.text()
    expect(a).toBe(b)
    expect(JSON.parse(a)).toMatchObject({ status: 401, error: 'invalid_grant' })
  })

  it('answers the sixth wrong password for a username within the window with 429 and Retry-After', async () => {
    const u = await newUser(svc, adminToken)
    for (let i = 0; i < 5; i++) {
      const res = await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: `wrong-${i}-pass` } })
      expect(res.status).toBe(401)
    }
    const sixth = await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: 'wrong-6-pass' } })
    expect(sixth.status).toBe(429)
    const retry = Number(sixth.headers.get('retry-after'))
    expect(retry).toBeGreaterThan(0)
    expect(retry).toBeLessThanOrEqual(15 * 60)
    // Even the right password waits until the window ends.
    const right = await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password } })
    expect(right.status).toBe(429)
  })

  it('tells a disabled account so only after a correct password', async () => {
    const u = await newUser(svc, adminToken)
    const dis = await svc.call('PATCH', `/api/users/${u.username}`, { token: adminToken, json: { disabled: true } })
    expect(dis.status).toBe(200)
    const wrong = await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: 'not-the-password' } })
    expect(wrong.status).toBe(401)
    const right = await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password } })
    expect(right.status).toBe(403)
  })

  it.each([
    { name: 'broken JSON', init: { headers: { 'content-type': 'application/json' }, body: '{"username":' }, status: 400 },
    { name: 'missing password', init: { headers: { 'content-type': 'application/json' }, body: '{"username":"a"}' }, status: 400 },
    { name: 'operator object', init: { headers: { 'content-type': 'application/json' }, body: '{"username":{"$ne":null},"password":"x"}' }, status: 400 },
    { name: 'unknown JSON field', init: { headers: { 'content-type': 'application/json' }, body: '{"username":"a","password":"b","admin":true}' }, status: 400 },
    { name: 'unknown form field', init: { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=a&password=b&role=admin' }, status: 400 },
    { name: 'wrong grant_type', init: { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&username=a&password=b' }, status: 400 },
    { name: 'text body', init: { headers: { 'content-type': 'text/plain' }, body: 'username=a' }, status: 415 },
    { name: 'body over 16 KiB', init: { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'a', password: 'x'.repeat(17_000) }) }, status: 413 },
  ])('refuses $name with $status problem+json', async ({ init, status }) => {
    const res = await svc.fetch('/api/auth/login', { method: 'POST', ...init })
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const body = await res.json()
    expect(body.status).toBe(status)
    if (status === 400) expect(body.error).toBe('invalid_request')
  })

  it.each([
    { name: 'password', body: { username: 'someone' } },
    { name: 'username', body: { password: 'something' } },
  ])('names a missing $name as required (not "must be a JSON object")', async ({ name, body }) => {
    const res = await svc.call('POST', '/api/auth/login', { json: body })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ type: 'urn:problem:validation', error: 'invalid_request', detail: `${name}: is required`, errors: [{ path: name, message: 'is required' }] })
  })

  it('answers other methods with 405 and Allow', async () => {
    const res = await svc.fetch('/api/auth/login')
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toContain('POST')
  })

  it('never writes a password or token to its log', async () => {
    const u = await newUser(svc, adminToken)
    const tokens = await login(svc, u.username, u.password)
    await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: 'Secret-wrong-pass' } })
    const out = svc.output()
    expect(out).toContain('login.success')
    expect(out).not.toContain(u.password)
    expect(out).not.toContain('Secret-wrong-pass')
    expect(out).not.toContain(tokens.access_token)
    expect(out).not.toContain(tokens.refresh_token)
    expect(out).not.toMatch(/\$2[aby]\$/)
  })
})
