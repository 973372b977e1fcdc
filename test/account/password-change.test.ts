// A session lives only as long as the credentials it was started with (contract, "Credentials
// and identity"). The review's race: logins with the old password straddle a password change;
// a login that read the old hash before the change wrote the new one used to insert its session
// after the change had ended the others, and that session lived on. Here every route that
// changes a password runs that race a few times, and no session started with the old password
// may pass /users/me or /refresh afterwards; the one a user changed their password from stays.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, newUser, startWithAdmin, type Service, type Tokens } from '../helpers/service.js'
import { loginsDuring, usable } from '../helpers/race.js'

let svc: Service
let adminToken: string

beforeAll(async () => {
  // The admin link route needs RESET_URL_BASE where the service runs as deployed (prebuilt lane).
  ;({ svc, adminToken } = await startWithAdmin({ RESET_URL_BASE: 'http://app.example/reset' }))
})
afterAll(() => svc?.stop())

const RUNS = 3
const newPassword = () => `Changed-${randomBytes(6).toString('hex')}`
const sidOf = (t: Tokens) => JSON.parse(Buffer.from(t.access_token.split('.')[1]!, 'base64url').toString()).sid as string

type Account = Awaited<ReturnType<typeof newUser>>

interface Route {
  name: string
  /** the change, made with the old password known; `own` is a session of the user, for self-service */
  change: (u: Account, password: string, own: Tokens) => Promise<Response>
  /** a user changing their own password keeps the session they changed it from */
  keepsOwn: boolean
}

const ROUTES: Route[] = [
  {
    name: 'admin PATCH /api/users/{username}',
    change: (u, password) => svc.call('PATCH', `/api/users/${u.username}`, { token: adminToken, json: { password } }),
    keepsOwn: false,
  },
  {
    name: 'admin PUT /api/users/{username}',
    change: (u, password) => svc.call('PUT', `/api/users/${u.username}`, { token: adminToken, json: { email: u.email, password } }),
    keepsOwn: false,
  },
  {
    name: 'self PATCH /api/users/me',
    change: (u, password, own) => svc.call('PATCH', '/api/users/me', { token: own.access_token, json: { password, current_password: u.password } }),
    keepsOwn: true,
  },
  {
    name: 'self PATCH /api/users/{username}',
    change: (u, password, own) =>
      svc.call('PATCH', `/api/users/${u.username}`, { token: own.access_token, json: { password, current_password: u.password } }),
    keepsOwn: true,
  },
  {
    name: 'self PUT /api/users/{username}',
    change: (u, password, own) =>
      svc.call('PUT', `/api/users/${u.username}`, { token: own.access_token, json: { email: u.email, password, current_password: u.password } }),
    keepsOwn: true,
  },
  {
    name: 'reset confirm (admin link)',
    change: async (u, password) => {
      const link = await svc.call('POST', `/api/users/${u.username}/password-reset`, { token: adminToken })
      const token = new URL(((await link.json()) as { reset_url: string }).reset_url).searchParams.get('token')!
      return svc.call('POST', '/api/auth/password-reset/confirm', { json: { token, new_password: password } })
    },
    keepsOwn: false,
  },
]

describe('a password change ends every session started with the old password', () => {
  it.each(ROUTES)('$name, raced by four login loops', async ({ change, keepsOwn }) => {
    for (let run = 0; run < RUNS; run++) {
      const u = await newUser(svc, adminToken)
      const own = await login(svc, u.username, u.password)
      const password = newPassword()
      const { changed, pairs } = await loginsDuring(svc, u, () => change(u, password, own))
      expect([200, 204]).toContain(changed.status)
      expect(pairs.length).toBeGreaterThan(0)

      const after = await usable(svc, pairs)
      // Every pair an old-password login got is dead: no /users/me, no refresh.
      expect(after.filter((s) => s.me !== 401 || s.refresh !== 400), `run ${run}: ${JSON.stringify(after)}`).toEqual([])

      const ownMe = await svc.call('GET', '/api/users/me', { token: own.access_token })
      expect(ownMe.status).toBe(keepsOwn ? 200 : 401)
      // Nor are they listed as live: only the session the user changed their password from.
      const listed = await svc.call('GET', `/api/users/${u.username}/sessions`, { token: adminToken })
      expect(((await listed.json()) as { items: { id: string }[] }).items.map((x) => x.id)).toEqual(keepsOwn ? [sidOf(own)] : [])
      // The new password works (first: a success clears the failures the loops' last logins
      // counted), the old one is refused.
      expect((await svc.call('POST', '/api/auth/login', { json: { username: u.username, password } })).status).toBe(200)
      expect((await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password } })).status).toBe(401)
    }
  })

  it('a self-service change keeps the session it was made from, refresh included, and ends the others', async () => {
    const u = await newUser(svc, adminToken)
    const own = await login(svc, u.username, u.password)
    const other = await login(svc, u.username, u.password)
    const password = newPassword()
    const res = await svc.call('PATCH', '/api/users/me', { token: own.access_token, json: { password, current_password: u.password } })
    expect(res.status).toBe(200)
    expect((await svc.call('GET', '/api/users/me', { token: other.access_token })).status).toBe(401)
    expect((await svc.call('POST', '/api/auth/refresh', { json: { refresh_token: other.refresh_token } })).status).toBe(400)
    const rotated = await svc.call('POST', '/api/auth/refresh', { json: { refresh_token: own.refresh_token } })
    expect(rotated.status).toBe(200)
    const next = (await rotated.json()) as Tokens
    expect(sidOf(next)).toBe(sidOf(own))
    expect((await svc.call('GET', '/api/users/me', { token: next.access_token })).status).toBe(200)
  })
})
