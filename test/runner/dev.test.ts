// A newcomer's first hour, in a fresh copy of the project: `cp .env.example .env && npm run dev`
// serves, `npm run seed` finds the database `npm run dev` started, and a MONGODB_URI nobody
// answers at yet is served as a deployed function would (503 + Retry-After), recovering when a
// database appears there.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedMongo, type EmbeddedMongo } from '../../scripts/embedded-mongo/index.js'
import { freePort } from '../helpers/db-process.js'
import { makeScratchCopy, npmRun, startNpmDev, type Dev, type Scratch } from '../helpers/scratch.js'

describe('cp .env.example .env && npm run dev', () => {
  let scratch: Scratch
  let dev: Dev
  beforeAll(async () => {
    scratch = makeScratchCopy()
    // PORT=0 only because 3000 may be taken on a shared machine; everything else comes from .env.
    dev = await startNpmDev(scratch, { PORT: '0' })
  })
  afterAll(async () => {
    await dev?.stop()
    scratch?.remove()
  })

  const record = () => join(scratch.dir, '.data', 'embedded-mongodb.json')

  it('answers /api/health 200 on the embedded database', async () => {
    const res = await dev.fetch('/api/health')
    expect(res.status, dev.output()).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok', db: 'ok' })
  })

  it('leaves the embedded database address where the seed finds it, and the seed uses it', async () => {
    expect(JSON.parse(readFileSync(record(), 'utf8'))).toMatchObject({ uri: expect.stringMatching(/^mongodb:\/\/127\.0\.0\.1:\d+$/), by: 'npm run dev' })
    const password = 'Harbour-Lantern-5521'
    const seeded = await npmRun(scratch, 'seed', ['--username', 'newcomer', '--email', 'newcomer@example.com', '--password-stdin'], { stdin: `${password}\n` })
    expect(seeded.code, seeded.stdout + seeded.stderr).toBe(0)
    expect(seeded.stderr).toMatch(/MONGODB_URI is not set; using the embedded database of npm run dev at mongodb:\/\/127\.0\.0\.1:\d+/)
    expect(seeded.stdout).toMatch(/^ {2}created +1$/m)
    expect(seeded.stdout + seeded.stderr).not.toContain(password)

    // In the database the API serves: the seeded user logs in through HTTP.
    const login = await dev.fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'newcomer', password }) })
    expect(login.status).toBe(200)
    const { access_token } = (await login.json()) as { access_token: string }
    const me = await dev.fetch('/api/users/me', { headers: { authorization: `Bearer ${access_token}` } })
    expect(await me.json()).toMatchObject({ username: 'newcomer', email: 'newcomer@example.com', role: 'user' })
  })

  it('takes the address away when it stops', async () => {
    await dev.stop()
    expect(existsSync(record())).toBe(false)
  })
})

describe('npm run dev with a MONGODB_URI nothing answers at yet', () => {
  let scratch: Scratch
  let dev: Dev
  let port: number
  let database: EmbeddedMongo | undefined
  beforeAll(async () => {
    scratch = makeScratchCopy()
    port = await freePort()
    dev = await startNpmDev(scratch, { PORT: '0', MONGODB_URI: `mongodb://127.0.0.1:${port}` })
  })
  afterAll(async () => {
    await dev?.stop()
    await database?.stop()
    scratch?.remove()
  })

  it('starts and says once, in one line, which host it cannot reach', () => {
    const lines = dev.output().split('\n').filter((l) => l.includes('cannot reach the database'))
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^dev: cannot reach the database at 127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED`))])
    // Its own lines (the JSON request logs aside) carry no stack trace.
    const ownLines = dev.output().split('\n').filter((l) => !l.startsWith('{'))
    expect(ownLines.filter((l) => /^\s+at /.test(l) || /Mongo\w*Error/.test(l))).toEqual([])
  })

  it('answers /api/health 503 with Retry-After within 5 s', async () => {
    const t0 = performance.now()
    const res = await dev.fetch('/api/health')
    expect(performance.now() - t0).toBeLessThan(5000)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({ type: 'urn:problem:service-unavailable', status: 503 })
  })

  it('recovers when a database appears there, and creates the first admin then', async () => {
    database = await startEmbeddedMongo({ port, memory: true })
    const deadline = Date.now() + 30_000
    let status = 0
    while (Date.now() < deadline) {
      status = (await dev.fetch('/api/health')).status
      if (status === 200) break
      await new Promise((r) => setTimeout(r, 250))
    }
    expect(status, dev.output()).toBe(200)

    // The generated password .env leaves to be printed (ADMIN_PASSWORD= is empty) logs in.
    while (Date.now() < deadline && !/Created the first admin/.test(dev.output())) await new Promise((r) => setTimeout(r, 250))
    const password = /Created the first admin "admin" with the password (\S+)/.exec(dev.output())?.[1]
    expect(password, dev.output()).toBeDefined()
    const login = await dev.fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) })
    expect(login.status).toBe(200)
  })
})
