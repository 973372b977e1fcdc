// /api/health names the indexes the service relies on when the database lacks them (a database
// seeded or restored by hand), and an index the database refuses to create does not stop the
// service: it is logged and reported, and every route keeps serving.
import { randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { inject } from 'vitest'
import { ADMIN, login, startService, type Service } from '../helpers/service.js'

const dbName = `t_${randomBytes(6).toString('hex')}`
let client: MongoClient
let svc: Service

beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUri'))
  // Restored by hand: email indexed, but not unique and under another name, so the database
  // refuses the service's unique index on the same key.
  await client.db(dbName).collection('users').createIndex({ email: 1 }, { name: 'email_1' })
  svc = await startService({ MONGODB_DB: dbName })
}, 60_000)
afterAll(async () => {
  await svc?.stop()
  await client?.close()
})

it('answers 200 degraded, naming the missing index', async () => {
  const res = await svc.fetch('/api/health')
  expect(res.status).toBe(200)
  const body = (await res.json()) as { status: string; db: string; missing_indexes: string[] }
  expect(body).toMatchObject({ status: 'degraded', db: 'ok' })
  expect(body.missing_indexes).toContain('users.email_unique')
  // Only what is really missing: the other collections' indexes were created.
  expect(body.missing_indexes.filter((name) => !name.startsWith('users.'))).toEqual([])
})

it('logs the refusal as db.index_failed and keeps serving', async () => {
  const failures = svc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; collection?: string; index?: string })
    .filter((l) => l.msg === 'db.index_failed')
  expect(failures).toContainEqual(expect.objectContaining({ collection: 'users', index: 'email_unique' }))
  const tokens = await login(svc, ADMIN.username, ADMIN.password)
  expect((await svc.call('GET', '/api/users/me', { token: tokens.access_token })).status).toBe(200)
})
