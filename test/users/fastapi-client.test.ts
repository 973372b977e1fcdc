// A client written against the FastAPI project's paths and bodies works unchanged.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ADMIN, startService, type Service } from '../helpers/service.js'

let svc: Service
beforeAll(async () => {
  svc = await startService()
})
afterAll(() => svc?.stop())

it('form login, bearer calls, POST /users/, GET/PUT/DELETE /users/{username} on the short paths', async () => {
  const form = (body: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() })
  const loginRes = await svc.fetch('/login', form({ username: ADMIN.username, password: ADMIN.password }))
  expect(loginRes.status).toBe(200)
  const { access_token, token_type } = await loginRes.json()
  expect(token_type).toBe('bearer')
  const auth = { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' }

  const me = await svc.fetch('/users/me', { headers: auth })
  expect(me.status).toBe(200)
  expect((await me.json()).username).toBe(ADMIN.username)

  const created = await svc.fetch('/users/', { method: 'POST', headers: auth, body: JSON.stringify({ username: 'legacy', email: 'legacy@example.com', password: 'Old-client-pw-71' }) })
  expect(created.status).toBe(201)

  const read = await svc.fetch('/users/legacy', { headers: auth })
  expect(read.status).toBe(200)
  expect((await read.json()).email).toBe('legacy@example.com')

  const put = await svc.fetch('/users/legacy', { method: 'PUT', headers: auth, body: JSON.stringify({ email: 'legacy2@example.com', password: 'Old-client-pw-72' }) })
  expect(put.status).toBe(200)
  expect((await svc.fetch('/login', form({ username: 'legacy', password: 'Old-client-pw-72' }))).status).toBe(200)

  const del = await svc.fetch('/users/legacy', { method: 'DELETE', headers: auth })
  expect(del.status).toBe(204)
  expect((await svc.fetch('/users/legacy', { headers: auth })).status).toBe(404)

  const out = await svc.fetch('/logout', { method: 'POST', headers: { authorization: `Bearer ${access_token}` } })
  expect(out.status).toBe(204)
  expect((await svc.fetch('/users/me', { headers: auth })).status).toBe(401)
})
