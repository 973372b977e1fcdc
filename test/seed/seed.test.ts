// The seed script as a user runs it: a child process against the test run's database, each
// test under a database of its own; results read back from MongoDB and, where it matters,
// proven through the API (log in with the seeded password, old tokens refused).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import bcrypt from 'bcryptjs'
import { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loginsDuring, usable } from '../helpers/race.js'
import { login, startService, type Service } from '../helpers/service.js'

interface SeedResult {
  code: number | null
  stdout: string
  stderr: string
}

interface SeedJson {
  created: number
  updated: number
  skipped: number
  failed: number
  not_processed: number
  dry_run: boolean
  database_checked: boolean
  interrupted: boolean
  skips: { line: number | null; username?: string; reason: string }[]
  failures: { line: number | null; username?: string; reason: string }[]
  generated_password?: string
}

const newDb = () => `seed_${randomBytes(5).toString('hex')}`

// By absolute path, so a test may run the script from another working directory.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const SCRIPT = fileURLToPath(new URL('../../scripts/seed/main.ts', import.meta.url))

function seedProcess(args: string[], opts: { db: string; stdin?: string; env?: Record<string, string>; cwd?: string }) {
  const child = spawn(process.execPath, ['--import', TSX, SCRIPT, ...args], {
    cwd: opts.cwd,
    env: {
      ...process.env,
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: opts.db,
      BCRYPT_COST: '4',
      DB_TIMEOUT_MS: '1000',
      DOTENV_CONFIG_QUIET: 'true',
      ...opts.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  child.stdin.end(opts.stdin ?? '')
  const done = new Promise<SeedResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
  return { child, done }
}

const seed = (args: string[], opts: Parameters<typeof seedProcess>[1]) => seedProcess(args, opts).done
const json = (r: SeedResult) => JSON.parse(r.stdout) as SeedJson

let client: MongoClient
let dir: string

beforeAll(async () => {
  client = new MongoClient(inject('mongoUri'))
  await client.connect()
  dir = await mkdtemp(join(tmpdir(), 'seed-test-'))
})

afterAll(async () => {
  await client.close()
  await rm(dir, { recursive: true, force: true })
})

const usersIn = (db: string) => client.db(db).collection<{ username: string; email: string; role: string; password_hash: string }>('users')

async function writeInput(name: string, text: string): Promise<string> {
  const path = join(dir, `${randomBytes(4).toString('hex')}-${name}`)
  await writeFile(path, text)
  return path
}

async function withService<T>(db: string, fn: (service: Service) => Promise<T>): Promise<T> {
  const service = await startService({ MONGODB_DB: db })
  try {
    return await fn(service)
  } finally {
    await service.stop()
  }
}

describe('one user from flags', () => {
  it('creates an admin with the password from stdin who can log in; a second run changes nothing', async () => {
    const db = newDb()
    const password = 'Seeded-Admin-pw-4821'
    const args = ['--username', 'Ada', '--email', 'Ada@Example.com', '--role', 'admin', '--password-stdin']
    const first = await seed([...args, '--json'], { db, stdin: `${password}\n` })
    expect(first.code, first.stderr).toBe(0)
    expect(json(first)).toMatchObject({ created: 1, updated: 0, skipped: 0, failed: 0 })
    expect(first.stdout + first.stderr).not.toContain(password)

    // Stored as the API stores it: normalized, hashed, never the password.
    const doc = await usersIn(db).findOne({ username: 'ada' })
    expect(doc).toMatchObject({ email: 'ada@example.com', role: 'admin', disabled: false })
    expect(doc!.password_hash).toMatch(/^\$2[aby]\$04\$/)
    expect(doc!.password_hash).not.toContain(password)

    const second = await seed(args, { db, stdin: `${password}\n` })
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toMatch(/created\s+0/)
    expect(second.stdout).toMatch(/skipped\s+1/)
    expect(second.stdout).toContain('username and email exist')
    expect(second.stdout + second.stderr).not.toContain(password)
    expect(await usersIn(db).countDocuments()).toBe(1)

    await withService(db, async (service) => {
      const tokens = await login(service, 'ada', password)
      const me = await service.call('GET', '/api/users/me', { token: tokens.access_token })
      expect(me.status).toBe(200)
      expect(await me.json()).toMatchObject({ username: 'ada', role: 'admin' })
    })
  })

  it('prints a generated password once, and it works', async () => {
    const db = newDb()
    const result = await seed(['--username', 'gen-user', '--email', 'gen@example.com', '--generate-password'], { db })
    expect(result.code, result.stderr).toBe(0)
    const match = /Generated password for gen-user \(shown once\): (\S+)/.exec(result.stdout)
    expect(match).not.toBeNull()
    const generated = match![1]!
    expect(result.stdout.split(generated)).toHaveLength(2) // exactly once
    const doc = await usersIn(db).findOne({ username: 'gen-user' })
    expect(await bcrypt.compare(generated, doc!.password_hash)).toBe(true)
  })

  it('--upsert sets a new password and ends the old sessions', async () => {
    const db = newDb()
    const oldPassword = 'First-Passw0rd-913'
    const newPassword = 'Second-Passw0rd-274'
    const args = ['--username', 'uma', '--email', 'uma@example.com', '--password-stdin']
    expect((await seed(args, { db, stdin: oldPassword })).code).toBe(0)

    await withService(db, async (service) => {
      const old = await login(service, 'uma', oldPassword)
      expect((await service.call('GET', '/api/users/me', { token: old.access_token })).status).toBe(200)

      const upsert = await seed([...args, '--upsert', '--json'], { db, stdin: `${newPassword}\n` })
      expect(upsert.code, upsert.stderr).toBe(0)
      expect(json(upsert)).toMatchObject({ created: 0, updated: 1, failed: 0 })
      expect(upsert.stdout + upsert.stderr).not.toContain(newPassword)

      const refused = await service.call('GET', '/api/users/me', { token: old.access_token })
      expect(refused.status).toBe(401)
      expect(refused.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
      expect(await refused.json()).toMatchObject({ error: 'invalid_token', detail: 'The session has ended' })
      expect((await service.call('POST', '/api/auth/login', { json: { username: 'uma', password: oldPassword } })).status).toBe(401)
      const fresh = await login(service, 'uma', newPassword)
      expect((await service.call('GET', '/api/users/me', { token: fresh.access_token })).status).toBe(200)

      // The same upsert again is no change: the user keeps the new session.
      const again = await seed([...args, '--upsert', '--json'], { db, stdin: newPassword })
      expect(json(again)).toMatchObject({ updated: 0, skipped: 1 })
      expect(json(again).skips[0]!.reason).toBe('up to date')
      expect((await service.call('GET', '/api/users/me', { token: fresh.access_token })).status).toBe(200)
    })
  })

  it('--upsert of a password leaves no session started with the old one, however the logins straddle it', async () => {
    const db = newDb()
    const oldPassword = 'First-Passw0rd-528'
    const args = ['--username', 'rita', '--email', 'rita@example.com', '--password-stdin']
    expect((await seed(args, { db, stdin: oldPassword })).code).toBe(0)
    await withService(db, async (service) => {
      // One run: the CLI starts in a second or more, and every old-password pair of the whole
      // time is checked, so the straddling logins are among a hundred or so.
      const newPassword = 'Second-Passw0rd-615'
      const { changed, pairs } = await loginsDuring(service, { username: 'rita', password: oldPassword }, () =>
        seed([...args, '--upsert', '--json'], { db, stdin: `${newPassword}\n` }),
      )
      expect(changed.code, changed.stderr).toBe(0)
      expect(json(changed)).toMatchObject({ updated: 1 })
      const after = await usable(service, pairs)
      expect(after.filter((s) => s.me !== 401 || s.refresh !== 400)).toEqual([])
      expect((await login(service, 'rita', newPassword)).access_token).toBeTruthy()
    })
  }, 90_000)

  it.each([
    { name: 'an unknown flag', args: ['--frobnicate'], message: /Unknown option '--frobnicate'/ },
    { name: 'no user and no file', args: [], message: /give --username and --email/ },
    { name: 'no password source off a terminal', args: ['--username', 'nopw', '--email', 'nopw@example.com'], message: /no password/ },
    { name: 'a file and flags together', args: ['--file', 'x.csv', '--username', 'x'], message: /cannot be combined/ },
    { name: 'a cost out of range', args: ['--file', 'x.csv', '--cost', '3'], message: /--cost must be/ },
    // The flag is to blame, not the MONGODB_URI the user never set.
    { name: 'a --uri that is no connection string', args: ['--file', 'x.csv', '--uri', 'notauri'], message: /^seed: --uri must start with mongodb:\/\/ or mongodb\+srv:\/\// },
  ])('refuses $name with the usage and exit 2', async ({ args, message }) => {
    const result = await seed(args, { db: newDb() })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).not.toContain('MONGODB_URI must')
    expect(result.stderr).toContain('Usage: npm run seed')
  })

  it('--help lists the options with examples', async () => {
    const result = await seed(['--help'], { db: newDb() })
    expect(result.code).toBe(0)
    for (const flag of ['--username', '--email', '--role', '--password-stdin', '--generate-password', '--file', '--upsert', '--dry-run', '--json', '--uri', '--db', '--cost']) {
      expect(result.stdout).toContain(flag)
    }
    expect(result.stdout).toContain('Examples:')
  })
})

describe('many users from a file', () => {
  it('writes the good CSV rows, reports each bad one with its line, exits 1', async () => {
    const db = newDb()
    const good = ['Good-Passw0rd-one', 'Pa,ss"word-two-77', 'Good-Passw0rd-three']
    const csv = [
      'username,email,password,role', // line 1
      `alpha,alpha@example.com,${good[0]},user`, // 2
      'bravo,not-an-email,Bravo-Passw0rd-1,user', // 3: bad email
      'charlie,charlie@example.com,short,user', // 4: short password
      'alpha,alpha2@example.com,Other-Passw0rd-1,user', // 5: username repeats line 2
      'delta,delta@example.com,Delta-Passw0rd-1,superuser', // 6: unknown role
      `"echo","echo@example.com","${good[1]!.replace(/"/g, '""')}",admin`, // 7: quoted comma and quote
      `foxtrot,ALPHA@example.com,${good[2]},`, // 8: email repeats line 2 (case-insensitive)
      `golf,golf@example.com,${good[2]},`, // 9: empty role = user
    ].join('\r\n')
    const file = await writeInput('users.csv', csv)
    const result = await seed(['--file', file, '--json'], { db })
    expect(result.code, result.stderr).toBe(1)
    const summary = json(result)
    expect(summary).toMatchObject({ created: 3, updated: 0, skipped: 0, failed: 5 })
    expect(summary.failures.map((f) => [f.line, f.username])).toEqual([
      [3, 'bravo'],
      [4, 'charlie'],
      [5, 'alpha'],
      [6, 'delta'],
      [8, 'foxtrot'],
    ])
    const reasons = summary.failures.map((f) => f.reason)
    expect(reasons[0]).toContain('email: must be a valid email address')
    expect(reasons[1]).toContain('password: must be at least 8 characters')
    expect(reasons[2]).toContain('repeats line 2')
    expect(reasons[3]).toContain('role: must be admin or user')
    expect(reasons[4]).toContain('email repeats line 2')

    const docs = await usersIn(db).find().sort({ username: 1 }).toArray()
    expect(docs.map((d) => [d.username, d.role])).toEqual([
      ['alpha', 'user'],
      ['echo', 'admin'],
      ['golf', 'user'],
    ])
    // RFC 4180 quoting survived: the stored hash is of the password with its comma and quote.
    expect(await bcrypt.compare(good[1]!, docs[1]!.password_hash)).toBe(true)

    // The text summary names each failure's line, and no supplied password appears anywhere.
    const text = await seed(['--file', file], { db })
    expect(text.code).toBe(1)
    expect(text.stdout).toMatch(/line 3: bravo: email: must be a valid email address/)
    expect(text.stdout).toMatch(/line 2: alpha: username and email exist/)
    for (const pw of [...good, 'Bravo-Passw0rd-1', 'short', 'Other-Passw0rd-1', 'Delta-Passw0rd-1']) {
      expect(result.stdout + result.stderr + text.stdout + text.stderr).not.toContain(pw)
    }
  })

  it('imports a JSON array, with password_hash rows that log in with their original password', async () => {
    const db = newDb()
    const migrated = 'Migrated-Passw0rd-58'
    const hash = bcrypt.hashSync(migrated, 4)
    const items = [
      { username: 'hotel', email: 'hotel@example.com', password_hash: hash, role: 'user' },
      { username: 'india', email: 'india@example.com', password: 'Sitar-Passw0rd-1' },
      { username: 'juliet', email: 'juliet@example.com', password_hash: 'not-a-hash' },
      { username: 'kilo', email: 'kilo@example.com', password: 'Kilo-Passw0rd-1', admin: true },
    ]
    // One object per line after the opening bracket: item i is on line i + 2.
    const file = await writeInput('users.json', `[\n${items.map((i) => JSON.stringify(i)).join(',\n')}\n]\n`)
    const result = await seed(['--file', file, '--json'], { db })
    expect(result.code, result.stderr).toBe(1)
    const summary = json(result)
    expect(summary).toMatchObject({ created: 2, failed: 2 })
    expect(summary.failures).toEqual([
      { line: 4, username: 'juliet', reason: expect.stringContaining('password_hash: is not a hash this service can verify') },
      { line: 5, username: 'kilo', reason: expect.stringContaining('unknown field(s) admin') },
    ])
    // The hash is stored as given (no reset needed) and never printed.
    expect((await usersIn(db).findOne({ username: 'hotel' }))!.password_hash).toBe(hash)
    expect(result.stdout + result.stderr).not.toContain(hash)

    await withService(db, async (service) => {
      await login(service, 'hotel', migrated)
      await login(service, 'india', 'Sitar-Passw0rd-1')
    })
  })

  it('--dry-run validates and reports without writing anything', async () => {
    const db = newDb()
    const file = await writeInput(
      'users.csv',
      'username,email,password\nlima,lima@example.com,Peru-Passw0rd-1\nmike,mike@example,Micro-Passw0rd-1\n',
    )
    const result = await seed(['--file', file, '--dry-run', '--json'], { db })
    expect(result.code, result.stderr).toBe(1)
    expect(json(result)).toMatchObject({ dry_run: true, created: 1, failed: 1 })
    expect(json(result).failures[0]).toMatchObject({ line: 3, username: 'mike' })
    // Not a user, and not even the indexes a real run ensures.
    expect(await client.db(db).listCollections().toArray()).toEqual([])

    // The text summary says what it would do: nothing was created.
    const text = await seed(['--file', file, '--dry-run'], { db })
    expect(text.stdout).toMatch(/^Dry run \(nothing written\)/)
    expect(text.stdout).toMatch(/^ {2}would create +1$/m)
    expect(text.stdout).not.toMatch(/^ {2}created/m)
  })

  it('reports a file it cannot parse with exit 2', async () => {
    const unterminated = await writeInput('bad.csv', 'username,email,password\nnovember,"nov@example.com,Pw-123456789\n')
    const r1 = await seed(['--file', unterminated], { db: newDb() })
    expect(r1.code).toBe(2)
    expect(r1.stderr).toMatch(/line 2: a quoted field is not closed/)
    const badJson = await writeInput('bad.json', '[{"username": "oscar",')
    const r2 = await seed(['--file', badJson], { db: newDb() })
    expect(r2.code).toBe(2)
    expect(r2.stderr).toMatch(/not valid JSON/)
    const r3 = await seed(['--file', join(dir, 'missing.csv')], { db: newDb() })
    expect(r3.code).toBe(2)
    expect(r3.stderr).toMatch(/cannot read .*missing\.csv: ENOENT/)
    // No header: the first user's fields are not echoed as "column names".
    const headless = await writeInput('headless.csv', 'romeo,romeo@example.com,Balcony-Passw0rd-1\n')
    const r4 = await seed(['--file', headless], { db: newDb() })
    expect(r4.code).toBe(2)
    expect(r4.stderr).toMatch(/line 1 is not a header/)
    expect(r4.stdout + r4.stderr).not.toContain('Balcony-Passw0rd-1')
  })

  it('stops cleanly on Ctrl-C: the batches in flight finish, exit 130, every stored user whole', async () => {
    const db = newDb()
    const rows = Array.from({ length: 400 }, (_, i) => `papa${i},papa${i}@example.com,Pw-${randomBytes(9).toString('base64url')}`)
    const file = await writeInput('many.csv', `username,email,password\n${rows.join('\n')}\n`)
    const { child, done } = seedProcess(['--file', file, '--json', '--batch-size', '10', '--cost', '8'], { db })
    // Interrupt once the first batch is in: polling the database, the way an operator would watch.
    for (let i = 0; i < 600 && (await usersIn(db).countDocuments()) === 0; i++) await new Promise((r) => setTimeout(r, 50))
    child.kill('SIGINT')
    const result = await done
    expect(result.code, result.stderr).toBe(130)
    const summary = json(result)
    expect(summary.interrupted).toBe(true)
    expect(summary.not_processed).toBeGreaterThan(0)
    expect(summary.created + summary.not_processed).toBe(400)
    const stored = await usersIn(db).find().toArray()
    expect(stored).toHaveLength(summary.created)
    for (const doc of stored) expect(doc.password_hash).toMatch(/^\$2b\$08\$.{53}$/)
  })
})

describe('connection', () => {
  it('exits 2 naming the host, never the password, when MongoDB cannot be reached', async () => {
    const file = await writeInput('one.csv', 'username,email,password\nquebec,quebec@example.com,Harbour-Passw0rd-1\n')
    for (const uri of ['mongodb://user:s3cretpw@127.0.0.1:1/', 'mongodb://user:s3cretpw@127.0.0.1:1,localhost:2/?replicaSet=rs0']) {
      const result = await seed(['--file', file, '--uri', uri], { db: newDb() })
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(/cannot connect to MongoDB at 127\.0\.0\.1:1/)
      expect(result.stdout + result.stderr).not.toContain('s3cretpw')
    }
  })

  it('--dry-run without a reachable database checks the rows against the rules and says so', async () => {
    const file = await writeInput('two.csv', 'username,email,password\nromeo,romeo@example.com,Verona-Passw0rd-1\nsierra,sierra@example,Sierra-Passw0rd-1\n')
    const result = await seed(['--file', file, '--dry-run', '--json', '--uri', 'mongodb://user:s3cretpw@127.0.0.1:1/'], { db: newDb() })
    // 1: a row failed the rules; the database being away is no failure of a dry run.
    expect(result.code, result.stderr).toBe(1)
    expect(json(result)).toMatchObject({ dry_run: true, database_checked: false, created: 1, failed: 1 })
    expect(result.stderr).toMatch(/dry run without a database \(cannot connect to MongoDB at 127\.0\.0\.1:1 .*\): rows are checked against the rules only/)
    expect(result.stdout + result.stderr).not.toContain('s3cretpw')
  })

  describe('with no MONGODB_URI and no npm run dev', () => {
    // A directory of its own: no .env and no address left by a dev server of the checkout.
    const elsewhere = (args: string[], stdin?: string) => seed(args, { db: newDb(), stdin, cwd: dir, env: { MONGODB_URI: '' } })

    it('a dry run validates without a database', async () => {
      const result = await elsewhere(['--username', 'tango', '--email', 'tango@example.com', '--password-stdin', '--dry-run'], 'Orchard-Lamp-4471')
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toMatch(/dry run without a database \(MONGODB_URI is not set and no npm run dev is running here\)/)
      expect(result.stdout).toMatch(/^Dry run without a database \(nothing written, existing users not checked\)/)
      expect(result.stdout).toMatch(/^ {2}would create +1$/m)
    })

    it('a real run exits 2 and says where a database would come from', async () => {
      const result = await elsewhere(['--username', 'tango', '--email', 'tango@example.com', '--password-stdin'], 'Orchard-Lamp-4471')
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(/^seed: no database: MONGODB_URI is not set and no npm run dev is running here; start npm run dev, or give --uri or MONGODB_URI$/m)
    })
  })
})
