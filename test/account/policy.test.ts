// The password policy on every route that sets a password: creating a user, changing one's own,
// and redeeming a reset token. Each refusal is a 400 whose errors[] name the field and say why,
// and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, newUser, startWithAdmin, type Service } from '../helpers/service.js'

// Reset links need their base when deployed (the prebuilt lane runs in production mode).
const RESET_URL_BASE = 'https://app.example/reset-password'

let svc: Service
let adminToken: string

beforeAll(async () => {
  ;({ svc, adminToken } = await startWithAdmin({ RESET_URL_BASE }))
})
afterAll(() => svc?.stop())

// `who` is the account's username; each case builds its password from it where it needs to.
const WEAK = [
  { name: 'a common password', password: () => 'password', reason: /common/ },
  { name: 'a common password with a capital and a digit', password: () => 'Password1', reason: /common/ },
  { name: 'the username', password: (who: string) => who, reason: /username/ },
  { name: 'the username and digits', password: (who: string) => `${who}2024`, reason: /username/ },
  { name: 'a 73-byte password', password: () => 'A1-' + 'x'.repeat(70), reason: /72 bytes/ },
  { name: '72 bytes in multi-byte characters plus one', password: () => 'é'.repeat(36) + 'x', reason: /72 bytes/ },
  { name: 'a short password', password: () => 'Sh0rt!', reason: /at least 8/ },
]

interface ProblemBody {
  status: number
  errors: { path: string; message: string }[]
}

async function expectRefused(res: Response, path: string, reason: RegExp): Promise<void> {
  expect(res.status).toBe(400)
  expect(res.headers.get('content-type')).toBe('application/problem+json')
  const body = (await res.json()) as ProblemBody
  expect(body.errors.length).toBeGreaterThan(0)
  expect(body.errors.some((e) => e.path === path && reason.test(e.message)), JSON.stringify(body.errors)).toBe(true)
}

describe.each(WEAK)('refuses $name', ({ password, reason }) => {
  it('on POST /api/users (and no user is created)', async () => {
    const username = `policy${Math.random().toString(36).slice(2, 8)}`
    const res = await svc.call('POST', '/api/users', {
      token: adminToken,
      json: { username, email: `${username}@example.com`, password: password(username) },
    })
    await expectRefused(res, 'password', reason)
    expect((await svc.call('GET', `/api/users/${username}`, { token: adminToken })).status).toBe(404)
  })

  it('on PATCH /api/users/me (and the old password still works)', async () => {
    const u = await newUser(svc, adminToken)
    const t = await login(svc, u.username, u.password)
    const res = await svc.call('PATCH', '/api/users/me', { token: t.access_token, json: { password: password(u.username), current_password: u.password } })
    await expectRefused(res, 'password', reason)
    expect((await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password } })).status).toBe(200)
  })

  it('on POST /api/auth/password-reset/confirm (and the token survives)', async () => {
    const u = await newUser(svc, adminToken)
    const link = await svc.call('POST', `/api/users/${u.username}/password-reset`, { token: adminToken })
    const token = new URL(((await link.json()) as { reset_url: string }).reset_url).searchParams.get('token')!
    const res = await svc.call('POST', '/api/auth/password-reset/confirm', { json: { token, new_password: password(u.username) } })
    await expectRefused(res, 'new_password', reason)
    expect((await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password } })).status).toBe(200)
    expect((await svc.call('POST', '/api/auth/password-reset/confirm', { json: { token, new_password: 'Survived-the-refusal-1' } })).status).toBe(204)
  })
})

it('accepts a password of exactly 72 bytes', async () => {
  const username = `policy${Math.random().toString(36).slice(2, 8)}`
  const password = 'Zq9-' + 'é'.repeat(34)
  expect(Buffer.byteLength(password)).toBe(72)
  const res = await svc.call('POST', '/api/users', { token: adminToken, json: { username, email: `${username}@example.com`, password } })
  expect(res.status).toBe(201)
  expect((await svc.call('POST', '/api/auth/login', { json: { username, password } })).status).toBe(200)
})
