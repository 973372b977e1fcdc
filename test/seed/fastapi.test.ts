// Moving the FastAPI project's users over (issue 21), as an operator would: the seed CLI in a
// child process imports test/fixtures/fastapi-seed-users.json (four users as that project
// stores them: argon2id hashes from passlib, ObjectId _ids, no role), from a mongoexport file and
// straight from a second database. Then, through HTTP, every user logs in with their old
// password, the argon2 hash is replaced by bcrypt once, and a second import changes nothing.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import bcrypt from 'bcryptjs'
import { MongoClient, ObjectId } from 'mongodb'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { AuditView } from '../../lib/schemas.js'
import { startEmbeddedMongo, type EmbeddedMongo } from '../../scripts/embedded-mongo/index.js'
import { login, startService, type Service } from '../helpers/service.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/fastapi-seed-users.json', import.meta.url))

interface FastApiUser {
  _id: { $oid: string }
  username: string
  email: string
  hashed_password: string
}
interface Fixture {
  passwords: Record<string, string>
  users: FastApiUser[]
}

interface SeedResult {
  code: number | null
  stdout: string
  stderr: string
}
interface SeedOutcome {
  line: number | null
  id?: string
  username?: string
  reason: string
}
interface SeedJson {
  source: string
  created: number
  updated: number
  skipped: number
  failed: number
  dry_run: boolean
  skips: SeedOutcome[]
  failures: SeedOutcome[]
}

interface StoredUser {
  _id: ObjectId
  username: string
  email: string
  role: string
  disabled: boolean
  password_hash: string
  created_at: Date
  updated_at: Date
}

let fixture: Fixture
let client: MongoClient
let dir: string

beforeAll(async () => {
  fixture = JSON.parse(await readFile(FIXTURE, 'utf8')) as Fixture
  client = await MongoClient.connect(inject('mongoUri'))
  dir = await mkdtemp(join(tmpdir(), 'fastapi-import-'))
})

afterAll(async () => {
  await client?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const newDb = () => `fastapi_${randomBytes(5).toString('hex')}`
const usersIn = (db: string) => client.db(db).collection<StoredUser>('users')
const json = (r: SeedResult) => JSON.parse(r.stdout) as SeedJson
/** Every password and stored hash of the fixture: none may ever be printed. */
const secrets = () => [...Object.values(fixture.passwords), ...fixture.users.map((u) => u.hashed_password)]

function seed(args: string[], db: string): Promise<SeedResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/seed/main.ts', ...args], {
    env: { ...process.env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: db, BCRYPT_COST: '4', DB_TIMEOUT_MS: '1000', DOTENV_CONFIG_QUIET: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

async function writeInput(name: string, text: string): Promise<string> {
  const path = join(dir, `${randomBytes(4).toString('hex')}-${name}`)
  await writeFile(path, text)
  return path
}

/** mongoexport's default output: one extended-JSON document per line. */
const mongoexportLines = (docs: unknown[]) => docs.map((d) => JSON.stringify(d)).join('\n') + '\n'

function expectNoSecrets(...texts: string[]): void {
  const all = texts.join('\n')
  for (const secret of secrets()) expect(all).not.toContain(secret)
  expect(all).not.toMatch(/\$argon2(id|i|d)\$/)
}

async function auditEvents(svc: Service, adminToken: string, event: string): Promise<AuditView[]> {
  const res = await svc.call('GET', `/api/audit?event=${event}&limit=100`, { token: adminToken })
  expect(res.status).toBe(200)
  return ((await res.json()) as { items: AuditView[] }).items
}

/**
 * The migration as users live it, against an imported database: a wrong password is refused
 * (and leaves the argon2 hash alone), each user's password works (twice), the first login leaves
 * a bcrypt hash of that password and the same id, and the audit trail has one `password.rehashed`
 * per user, however often they log in.
 */
async function proveMigratedLogins(db: string): Promise<void> {
  const svc = await startService({ MONGODB_DB: db })
  try {
    // alice is the admin the import named (so the runner made no first admin of its own).
    let adminToken = ''
    for (const user of fixture.users) {
      const password = fixture.passwords[user.username]!
      const wrong = await svc.call('POST', '/api/auth/login', { json: { username: user.username, password: `${password}!` } })
      expect(wrong.status).toBe(401)
      expect(wrong.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      // RFC 6749 5.2 and the contract: one answer for every credential failure.
      expect(wrong.headers.get('www-authenticate')).toBe('Bearer')
      expect(await wrong.json()).toEqual({ type: 'urn:problem:invalid-grant', title: 'Unauthorized', status: 401, detail: 'Incorrect username or password', error: 'invalid_grant' })
      expect((await usersIn(db).findOne({ username: user.username }))!.password_hash).toBe(user.hashed_password)

      // The form body, as the FastAPI project's OAuth2 clients send it, on its short path.
      const first = await svc.call('POST', '/login', { form: { grant_type: 'password', username: user.username, password } })
      expect(first.status, `${user.username}: ${await first.clone().text()}`).toBe(200)
      const tokens = (await first.json()) as { access_token: string }
      if (user.username === 'alice') adminToken = tokens.access_token
      const me = await svc.call('GET', '/api/users/me', { token: tokens.access_token })
      expect(await me.json()).toMatchObject({ id: user._id.$oid, username: user.username, email: user.email })

      const stored = (await usersIn(db).findOne({ username: user.username }))!
      expect(stored.password_hash).toMatch(/^\$2[aby]\$04\$/)
      expect(await bcrypt.compare(password, stored.password_hash)).toBe(true)
      // A second login verifies the bcrypt hash and leaves it as it is.
      await login(svc, user.username, password)
      expect((await usersIn(db).findOne({ username: user.username }))!.password_hash).toBe(stored.password_hash)
    }

    // The audit write follows each response; every event of a request goes in one write, so once
    // all eight logins of the users are there, so is any rehash event they caused.
    const names = new Set(fixture.users.map((u) => u.username))
    const deadline = Date.now() + 5000
    let logins: AuditView[] = []
    while (Date.now() < deadline) {
      logins = (await auditEvents(svc, adminToken, 'login.success')).filter((e) => names.has(e.user!))
      if (logins.length >= 2 * names.size) break
    }
    expect(logins).toHaveLength(2 * names.size)
    const rehashed = await auditEvents(svc, adminToken, 'password.rehashed')
    expect(rehashed.map((e) => e.user).sort()).toEqual([...names].sort())
    for (const event of rehashed) expect(event.detail).toEqual({ from: 'argon2id', to: 'bcrypt' })
    expectNoSecrets(JSON.stringify(rehashed), svc.output())
    // The argon2 work ran in the worker pool, off the thread that serves the other requests.
    expect(svc.output()).not.toContain('passwords.worker_unavailable')
  } finally {
    await svc.stop()
  }
}

describe('importing the FastAPI project from a mongoexport file', () => {
  it('keeps hashes and _ids, names the --admins, logs everyone in, upgrades once, and a second import changes nothing', async () => {
    const db = newDb()
    const file = await writeInput('users.json', mongoexportLines(fixture.users))
    const result = await seed(['--file', file, '--admins', 'Alice', '--json'], db)
    expect(result.code, result.stderr).toBe(0)
    expect(json(result)).toMatchObject({ created: 4, updated: 0, skipped: 0, failed: 0 })
    expectNoSecrets(result.stdout, result.stderr)

    // Stored as they were: the argon2 hash untouched, the old _id as the user's id; no role in
    // the old project means user, except for the one --admins names.
    const stored = await usersIn(db).find().sort({ username: 1 }).toArray()
    expect(stored.map((u) => [u._id.toHexString(), u.username, u.email, u.role, u.password_hash, u.disabled])).toEqual(
      fixture.users.map((u) => [u._id.$oid, u.username, u.email, u.username === 'alice' ? 'admin' : 'user', u.hashed_password, false]),
    )

    await proveMigratedLogins(db)

    // Again, from the same file and from the fixture as it is ({"users": [...]}): every row is
    // skipped, and nothing changes (in particular, no bcrypt hash goes back to argon2).
    const before = await usersIn(db).find().sort({ username: 1 }).toArray()
    for (const input of [file, FIXTURE]) {
      const again = await seed(['--file', input, '--admins', 'alice', '--json'], db)
      expect(again.code, again.stderr).toBe(0)
      expect(json(again)).toMatchObject({ created: 0, updated: 0, skipped: 4, failed: 0 })
      expect(json(again).skips.map((s) => [s.id, s.username, s.reason])).toEqual(
        fixture.users.map((u) => [u._id.$oid, u.username, 'username and email exist']),
      )
      expectNoSecrets(again.stdout, again.stderr)
    }
    expect(await usersIn(db).find().sort({ username: 1 }).toArray()).toEqual(before)
  }, 120_000)

  it('reads the other JSON forms: an array (mongoexport --jsonArray) and the fixture file itself', async () => {
    for (const text of [JSON.stringify(fixture.users, null, 2), await readFile(FIXTURE, 'utf8')]) {
      const db = newDb()
      const file = await writeInput('users.json', text)
      const result = await seed(['--file', file, '--json', '--dry-run'], db)
      expect(result.code, result.stderr).toBe(0)
      expect(json(result)).toMatchObject({ dry_run: true, created: 4, failed: 0 })
      expectNoSecrets(result.stdout, result.stderr)
    }
  })
})

describe('ids', () => {
  it('keeps an ObjectId _id; a string _id only names the row (the user gets an ObjectId of ours)', async () => {
    const db = newDb()
    const [alice, bob] = fixture.users as [FastApiUser, FastApiUser]
    const file = await writeInput('users.json', mongoexportLines([alice, { ...bob, _id: 'legacy-uuid-2' }]))
    expect((await seed(['--file', file], db)).code).toBe(0)
    const stored = await usersIn(db).find().sort({ username: 1 }).toArray()
    expect(stored.map((u) => u.username)).toEqual(['alice', 'bob'])
    expect(stored[0]!._id.toHexString()).toBe(alice._id.$oid)
    expect(stored[1]!._id).toBeInstanceOf(ObjectId)
    const again = json(await seed(['--file', file, '--json'], db))
    expect(again.skips.map((s) => [s.line, s.id, s.username])).toEqual([
      [1, alice._id.$oid, 'alice'],
      [2, 'legacy-uuid-2', 'bob'],
    ])
  })
})

describe('refused rows', () => {
  it('refuses every hash it cannot verify, naming the line and _id and never the hash; exit 1', async () => {
    const db = newDb()
    const oid = (n: number) => `65b0000000000000000000${String(n).padStart(2, '0')}`
    const refused = [
      // passlib's other schemes, a bare md5 digest, an argon2 version hash-wasm has no code for
      ['pbkdf2', '$pbkdf2-sha256$29000$N2bMGeN8b805xnjvvXcO4Q$Wn5Ld7g7Hn0Ai.hQtpvfVvNBy7M3kl5Yxz8pZ7Q9Mk4', 'pbkdf2-sha256 hashes are not supported'],
      ['md5', '5f4dcc3b5aa765d61d8327deb882cf99', 'is not a hash this service can verify'],
      ['sha512', '$6$rounds=656000$YQKMBktFJH3ESp9Z$1cuuQ0SVj1QW6Cs6e7gm8Cs63UaYX4QzBpdsVBEq3WhDbZIDrV2yd9BT6NRDaq0u7wVE8XXZXvf6pL6R1p9p90', 'crypt $6$ hashes are not supported'],
      ['oldargon', '$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$hjJ6vMwXXkgj9WwOiy2X0w', 'argon2id version 16 is not supported'],
      ['hugeargon', '$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$hjJ6vMwXXkgj9WwOiy2X0w', 'argon2id m=4194304 is outside'],
    ] as const
    const docs = [
      fixture.users[0],
      ...refused.map(([name, hash], i) => ({ _id: { $oid: oid(i + 1) }, username: name, email: `${name}@example.com`, hashed_password: hash })),
    ]
    const file = await writeInput('users.json', mongoexportLines(docs))
    const result = await seed(['--file', file, '--json'], db)
    expect(result.code, result.stderr).toBe(1)
    const summary = json(result)
    expect(summary).toMatchObject({ created: 1, failed: refused.length })
    expect(summary.failures.map((f) => [f.line, f.id, f.username])).toEqual(refused.map(([name], i) => [i + 2, oid(i + 1), name]))
    summary.failures.forEach((f, i) => expect(f.reason).toContain(`hashed_password: ${refused[i]![2]}`))
    // Only the good row is written; the refused ones are not there at all.
    expect((await usersIn(db).find().toArray()).map((u) => u.username)).toEqual(['alice'])

    const text = await seed(['--file', file], db)
    expect(text.code).toBe(1)
    expect(text.stdout).toContain(`line 2 (_id ${oid(1)}): pbkdf2: hashed_password: pbkdf2-sha256 hashes are not supported`)
    for (const r of [result, text]) {
      expectNoSecrets(r.stdout, r.stderr)
      for (const [, hash] of refused) expect(r.stdout + r.stderr).not.toContain(hash)
    }
  })

  it('refuses --admins naming nobody in the input before writing anything; exit 2', async () => {
    const db = newDb()
    const file = await writeInput('users.json', mongoexportLines(fixture.users))
    const result = await seed(['--file', file, '--admins', 'alice,mallory'], db)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--admins names mallory, not found in the input; nothing was written/)
    expect(await usersIn(db).countDocuments()).toBe(0)
  })
})

describe('copying from the old database (--from-uri)', () => {
  let old: EmbeddedMongo
  let oldClient: MongoClient

  beforeAll(async () => {
    old = await startEmbeddedMongo({ memory: true, port: 0 })
    oldClient = await MongoClient.connect(old.uri)
  })

  afterAll(async () => {
    await oldClient?.close()
    await old?.stop()
  })

  it('imports the same users read-only, reports refused rows by _id, and a second copy changes nothing', async () => {
    const sourceDb = `testdb_${randomBytes(4).toString('hex')}`
    const source = oldClient.db(sourceDb).collection('users')
    const refusedIds = ['65c000000000000000000001', '65c000000000000000000002', '65c000000000000000000003']
    await source.insertMany([
      ...fixture.users.map((u) => ({ _id: new ObjectId(u._id.$oid), username: u.username, email: u.email, hashed_password: u.hashed_password })),
      // Names and addresses the old project took and our rules do not: reported, never changed.
      { _id: new ObjectId(refusedIds[0]), username: 'John Doe', email: 'john@example.com', hashed_password: fixture.users[0]!.hashed_password },
      { _id: new ObjectId(refusedIds[1]), username: 'jd', email: 'not-an-address', hashed_password: fixture.users[1]!.hashed_password },
      // The same person under another spelling: our usernames ignore case, the first one wins.
      { _id: new ObjectId(refusedIds[2]), username: 'ALICE', email: 'alice2@example.com', hashed_password: fixture.users[2]!.hashed_password },
    ])
    const sourceBefore = await source.find().sort({ _id: 1 }).toArray()

    const db = newDb()
    const args = ['--from-uri', old.uri, '--from-db', sourceDb, '--from-collection', 'users', '--admins', 'alice']
    const result = await seed([...args, '--json'], db)
    expect(result.code, result.stderr).toBe(1)
    const summary = json(result)
    expect(summary).toMatchObject({ created: 4, skipped: 0, failed: 3 })
    expect(summary.source).toBe(`${sourceDb}.users at ${new URL(old.uri).host}`)
    expect(summary.failures.map((f) => [f.line, f.id, f.username])).toEqual([
      [null, refusedIds[0], 'john doe'],
      [null, refusedIds[1], 'jd'],
      [null, refusedIds[2], 'alice'],
    ])
    expect(summary.failures[0]!.reason).toContain('username: may contain only')
    expect(summary.failures[1]!.reason).toMatch(/username: must be 3 to 32 characters.*email: must be a valid email address/)
    expect(summary.failures[2]!.reason).toBe(`duplicate in the input: username alice repeats _id ${fixture.users[0]!._id.$oid}`)
    expectNoSecrets(result.stdout, result.stderr)

    const stored = await usersIn(db).find().sort({ username: 1 }).toArray()
    expect(stored.map((u) => [u._id.toHexString(), u.username, u.role, u.password_hash])).toEqual(
      fixture.users.map((u) => [u._id.$oid, u.username, u.username === 'alice' ? 'admin' : 'user', u.hashed_password]),
    )
    // Read-only there: the same documents, and no collection or index added.
    expect(await source.find().sort({ _id: 1 }).toArray()).toEqual(sourceBefore)
    expect((await oldClient.db(sourceDb).listCollections().toArray()).map((c) => c.name)).toEqual(['users'])
    expect((await source.indexes()).map((i) => i.name)).toEqual(['_id_'])

    const text = await seed(args, db)
    expect(text.stdout).toContain(`_id ${refusedIds[0]}: john doe: username: may contain only`)

    await proveMigratedLogins(db)

    const before = await usersIn(db).find().sort({ username: 1 }).toArray()
    const again = await seed([...args, '--json'], db)
    expect(again.code).toBe(1) // the three refused rows are still refused
    expect(json(again)).toMatchObject({ created: 0, updated: 0, skipped: 4, failed: 3 })
    expect(await usersIn(db).find().sort({ username: 1 }).toArray()).toEqual(before)
    expect(await source.find().sort({ _id: 1 }).toArray()).toEqual(sourceBefore)
  }, 120_000)

  it('exits 2 on an empty or unreachable source, naming the host and never the password', async () => {
    const empty = await seed(['--from-uri', old.uri, '--from-db', 'nothing_here'], newDb())
    expect(empty.code).toBe(2)
    expect(empty.stderr).toMatch(/no documents in nothing_here\.users at 127\.0\.0\.1:\d+ \(check --from-db and --from-collection\)/)

    const unreachable = await seed(['--from-uri', 'mongodb://olduser:s3cretpw@127.0.0.1:1/testdb'], newDb())
    expect(unreachable.code).toBe(2)
    expect(unreachable.stderr).toMatch(/cannot read testdb\.users at 127\.0\.0\.1:1/)
    expect(unreachable.stdout + unreachable.stderr).not.toContain('s3cretpw')
  })

  it('--help describes the migration options', async () => {
    const result = await seed(['--help'], newDb())
    expect(result.code).toBe(0)
    for (const text of ['--from-uri', '--from-db', '--from-collection', '--admins', 'hashed_password', 'argon2id', 'mongoexport']) expect(result.stdout).toContain(text)
  })

  it.each([
    { name: '--from-db without --from-uri', args: ['--from-db', 'testdb'], message: /--from-db and --from-collection go with --from-uri/ },
    { name: '--from-uri and --file together', args: ['--from-uri', 'mongodb://h/testdb', '--file', 'x.json'], message: /give --file or --from-uri, not both/ },
    { name: 'no database to read', args: ['--from-uri', 'mongodb://h'], message: /give --from-db/ },
    { name: '--admins for one user from flags', args: ['--username', 'x1y', '--email', 'x@example.com', '--admins', 'x1y'], message: /--admins goes with --file or --from-uri/ },
  ])('refuses $name with the usage and exit 2', async ({ args, message }) => {
    const result = await seed(args, newDb())
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).toContain('Usage: npm run seed')
  })
})
