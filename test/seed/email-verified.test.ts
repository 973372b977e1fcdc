// The seed script's --email-verified flag and email_verified column, run as a user runs it (a
// child process against the test run's database, a database per test), read back from MongoDB
// and proven through the API: with REQUIRE_VERIFIED_EMAIL=true only verified users log in.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startService } from '../helpers/service.js'

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const SCRIPT = fileURLToPath(new URL('../../scripts/seed/main.ts', import.meta.url))

interface Summary {
  created: number
  updated: number
  skipped: number
  failed: number
  failures: { line: number | null; username?: string; reason: string }[]
}

function seed(args: string[], db: string, stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, SCRIPT, ...args], {
    env: { ...process.env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: db, BCRYPT_COST: '4', DB_TIMEOUT_MS: '1000', DOTENV_CONFIG_QUIET: 'true' },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  child.stdin.end(stdin)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

let client: MongoClient
let dir: string

beforeAll(async () => {
  client = new MongoClient(inject('mongoUri'))
  await client.connect()
  dir = await mkdtemp(join(tmpdir(), 'seed-verified-'))
})
afterAll(async () => {
  await client?.close()
  await rm(dir, { recursive: true, force: true })
})

const newDb = () => `seedv_${randomBytes(5).toString('hex')}`
const verifiedIn = async (db: string) => {
  const docs = await client.db(db).collection('users').find({}, { projection: { username: 1, email: 1, email_verified: 1 } }).sort({ username: 1 }).toArray()
  return Object.fromEntries(docs.map((d) => [d.username as string, d.email_verified as boolean | undefined]))
}
async function input(name: string, text: string): Promise<string> {
  const path = join(dir, `${randomBytes(4).toString('hex')}-${name}`)
  await writeFile(path, text)
  return path
}

describe('one user from flags', () => {
  it('--email-verified makes a user who may log in where REQUIRE_VERIFIED_EMAIL=true; without it, 403 email_not_verified', async () => {
    const db = newDb()
    const password = 'Seeded-Verified-pw-51'
    const yes = await seed(['--username', 'vera', '--email', 'vera@example.com', '--email-verified', '--password-stdin', '--json'], db, `${password}\n`)
    expect(yes.code, yes.stderr).toBe(0)
    const no = await seed(['--username', 'nora', '--email', 'nora@example.com', '--password-stdin', '--json'], db, `${password}\n`)
    expect(no.code, no.stderr).toBe(0)
    expect(await verifiedIn(db)).toEqual({ vera: true, nora: false })

    const service = await startService({ MONGODB_DB: db, REQUIRE_VERIFIED_EMAIL: 'true' })
    try {
      const login = (username: string) => service.call('POST', '/api/auth/login', { json: { username, password } })
      expect((await login('vera')).status).toBe(200)
      const refused = await login('nora')
      expect(refused.status).toBe(403)
      expect((await refused.json()).error).toBe('email_not_verified')
    } finally {
      await service.stop()
    }
  })
})

describe('the email_verified column', () => {
  it('sets each CSV row; an empty cell takes --email-verified (default unverified); a bad value fails its row', async () => {
    const csv = [
      'username,email,password,email_verified', // 1
      'alpha,alpha@example.com,Tq9-Seeded-pw-10,true', // 2
      'bravo,bravo@example.com,Tq9-Seeded-pw-11,false', // 3
      'charlie,charlie@example.com,Tq9-Seeded-pw-12,', // 4: empty
      'delta,delta@example.com,Tq9-Seeded-pw-13,YES', // 5
      'echo,echo@example.com,Tq9-Seeded-pw-14,0', // 6
      'foxtrot,foxtrot@example.com,Tq9-Seeded-pw-15,maybe', // 7: refused
    ].join('\n')
    const file = await input('users.csv', csv)

    const plain = newDb()
    const result = await seed(['--file', file, '--json'], plain)
    expect(result.code, result.stderr).toBe(1)
    const summary = JSON.parse(result.stdout) as Summary
    expect(summary).toMatchObject({ created: 5, failed: 1 })
    expect(summary.failures).toEqual([{ line: 7, username: 'foxtrot', reason: 'email_verified: must be true or false' }])
    expect(await verifiedIn(plain)).toEqual({ alpha: true, bravo: false, charlie: false, delta: true, echo: false })

    const flagged = newDb()
    expect((await seed(['--file', file, '--email-verified', '--json'], flagged)).code).toBe(1)
    expect(await verifiedIn(flagged)).toEqual({ alpha: true, bravo: false, charlie: true, delta: true, echo: false })
  })

  it('takes JSON booleans; a value of another type fails its row', async () => {
    const db = newDb()
    const rows = [
      { username: 'golf', email: 'golf@example.com', password: 'Tq9-Seeded-pw-16', email_verified: true },
      { username: 'hotel', email: 'hotel@example.com', password: 'Tq9-Seeded-pw-17', email_verified: false },
      { username: 'india', email: 'india@example.com', password: 'Tq9-Seeded-pw-18' },
      { username: 'juliet', email: 'juliet@example.com', password: 'Tq9-Seeded-pw-19', email_verified: 7 },
    ]
    const result = await seed(['--file', await input('users.json', JSON.stringify(rows, null, 2)), '--json'], db)
    expect(result.code, result.stderr).toBe(1)
    const summary = JSON.parse(result.stdout) as Summary
    expect(summary.failures.map((f) => [f.username, f.reason])).toEqual([['juliet', 'email_verified: must be true or false']])
    expect(await verifiedIn(db)).toEqual({ golf: true, hotel: false, india: false })
  })

  it('--upsert changes the flag only where the row or --email-verified says, and a new email is unverified unless said', async () => {
    const db = newDb()
    const first = ['username,email,password,email_verified', 'kilo,kilo@example.com,Tq9-Seeded-pw-20,true', 'lima,lima@example.com,Tq9-Seeded-pw-21,true', 'mike,mike@example.com,Tq9-Seeded-pw-22,true']
    expect((await seed(['--file', await input('a.csv', first.join('\n'))], db)).code).toBe(0)

    const second = [
      'username,email,password,email_verified',
      'kilo,kilo@example.com,Tq9-Seeded-pw-20,', // says nothing: stays verified, up to date
      'lima,lima@example.com,Tq9-Seeded-pw-21,false', // unverified
      'mike,mike-new@example.com,Tq9-Seeded-pw-22,', // new email, nothing said: unverified
    ]
    const result = await seed(['--file', await input('b.csv', second.join('\n')), '--upsert', '--json'], db)
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ updated: 2, skipped: 1 })
    expect(await verifiedIn(db)).toEqual({ kilo: true, lima: false, mike: false })
  })
})
