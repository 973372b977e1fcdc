// Vercel previews get the production variables unless someone separates them: a preview on the
// production database name refuses every request (500, "Service misconfigured") and writes
// nothing, unless ALLOW_PREVIEW_ON_PRODUCTION_DB=true; MONGODB_DB_PER_BRANCH=true gives each
// preview branch a database of its own.
import { randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { ADMIN, login, startService, type Service } from '../helpers/service.js'

let client: MongoClient
beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUri'))
})
afterAll(() => client?.close())

const freshDb = () => `t_${randomBytes(6).toString('hex')}`
const collectionsOf = async (db: string) => (await client.db(db).listCollections().toArray()).map((c) => c.name).sort()

describe('a preview on the production database name', () => {
  const production = freshDb()
  let svc: Service
  beforeAll(async () => {
    svc = await startService({ VERCEL_ENV: 'preview', MONGODB_DB: production, PRODUCTION_MONGODB_DB: production })
  }, 60_000)
  afterAll(() => svc?.stop())

  it.each([
    { name: 'health', method: 'GET', path: '/api/health' },
    { name: 'login', method: 'POST', path: '/api/auth/login', json: { username: ADMIN.username, password: ADMIN.password } },
    { name: 'the user list', method: 'GET', path: '/api/users' },
    { name: 'the OpenAPI document, which needs no database', method: 'GET', path: '/api/openapi.json' },
  ])('refuses $name with 500 Service misconfigured', async ({ method, path, json }) => {
    const res = await svc.call(method, path, { json })
    expect(res.status).toBe(500)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({ title: 'Service misconfigured', type: 'urn:problem:internal', status: 500 })
  })

  it('writes nothing to the production database and logs why, without a secret', async () => {
    await svc.call('POST', '/api/auth/login', { json: { username: ADMIN.username, password: ADMIN.password } })
    expect(await collectionsOf(production)).toEqual([])
    const out = svc.output()
    expect(out).toMatch(/MONGODB_DB is the production database .* in a preview deployment/)
    expect(out).not.toContain(svc.env.JWT_SECRET)
    expect(out).not.toContain(ADMIN.password)
  })
})

describe('a preview allowed on the production database', () => {
  const production = freshDb()
  let svc: Service
  beforeAll(async () => {
    svc = await startService({ VERCEL_ENV: 'preview', MONGODB_DB: production, PRODUCTION_MONGODB_DB: production, ALLOW_PREVIEW_ON_PRODUCTION_DB: 'true' })
  }, 60_000)
  afterAll(() => svc?.stop())

  it('serves as usual', async () => {
    expect((await svc.fetch('/api/health')).status).toBe(200)
    expect((await login(svc, ADMIN.username, ADMIN.password)).access_token).toBeTruthy()
  })
})

describe('a preview with MONGODB_DB_PER_BRANCH', () => {
  const production = freshDb()
  let svc: Service
  beforeAll(async () => {
    svc = await startService({
      VERCEL_ENV: 'preview',
      MONGODB_DB: production,
      PRODUCTION_MONGODB_DB: production,
      MONGODB_DB_PER_BRANCH: 'true',
      VERCEL_GIT_COMMIT_REF: 'Feature/Login.Page',
    })
  }, 60_000)
  afterAll(() => svc?.stop())

  it('works in a database named after its branch and leaves production alone', async () => {
    const tokens = await login(svc, ADMIN.username, ADMIN.password)
    expect((await svc.call('GET', '/api/users/me', { token: tokens.access_token })).status).toBe(200)
    expect(await collectionsOf(`${production}_feature_login_page`)).toContain('users')
    expect(await collectionsOf(production)).toEqual([])
  })
})
