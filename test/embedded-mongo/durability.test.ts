// Durability of the embedded server's data-dir mode: restart, kill -9 in the middle of writes,
// torn journal tails, a crash between snapshot and journal reset, the lock file, and the CLI.
import { afterEach, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { MongoClient } from 'mongodb'
import { startEmbeddedMongo, type EmbeddedMongo } from '../../scripts/embedded-mongo/index.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const tempDirs: string[] = []
const children: ChildProcess[] = []

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-mongo-'))
  tempDirs.push(dir)
  return dir
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

interface Child {
  child: ChildProcess
  uri: string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
}

/** Runs `scripts/db.ts` as a separate process and waits for its ready line. */
function spawnDb(args: string[]): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/db.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let stdout = ''
  let stderr = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }))
  })
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  return new Promise<Child>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
      const m = /MongoDB-compatible server ready at (mongodb:\/\/\S+)/.exec(stdout)
      if (m) resolve({ child, uri: m[1]!, exited })
    })
    void exited.then(({ code }) => reject(new Error(`db exited early (code ${code}): ${stderr}`)))
  })
}

/** Streams inserts and counter updates from 8 concurrent writers, then kills the server with SIGKILL mid-stream. */
async function crashDuringWrites(dir: string, minAcked: number): Promise<{ acked: string[]; counters: Map<number, number> }> {
  const { child, uri, exited } = await spawnDb(['--port', '0', '--data-dir', dir])
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000, socketTimeoutMS: 5000, retryWrites: false, retryReads: false })
  await client.connect()
  const coll = client.db('crash').collection('events')
  await coll.createIndex({ seq: 1 }, { unique: true })
  const acked: string[] = []
  const counters = new Map<number, number>()
  let killed = false
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; !killed; i++) {
      try {
        const seq = `${w}-${i}`
        await coll.insertOne({ seq, w, i, pad: 'x'.repeat(300) })
        acked.push(seq)
        // Kill right on an acknowledgment, when an ack-before-durable bug would most likely lose it.
        if (acked.length === minAcked) kill()
        if (i % 5 === 0) {
          await client.db('crash').collection('counters').updateOne({ _id: w as never }, { $inc: { n: 1 } }, { upsert: true })
          counters.set(w, (counters.get(w) ?? 0) + 1)
        }
      } catch {
        return
      }
    }
  }
  const kill = () => {
    if (killed) return
    killed = true
    child.kill('SIGKILL')
  }
  const writers = Array.from({ length: 8 }, (_, w) => writer(w))
  await Promise.all(writers)
  expect((await exited).signal).toBe('SIGKILL')
  await client.close(true).catch(() => undefined)
  return { acked, counters }
}

async function expectAllPresent(server: EmbeddedMongo, acked: string[], counters: Map<number, number>): Promise<MongoClient> {
  const client = await MongoClient.connect(server.uri)
  const db = client.db('crash')
  const present = new Set((await db.collection('events').find({}, { projection: { seq: 1 } }).toArray()).map((d) => d.seq as string))
  const missing = acked.filter((s) => !present.has(s))
  expect(missing).toEqual([])
  for (const [w, n] of counters) {
    const doc = await db.collection('counters').findOne({ _id: w as never })
    // An update may be durable without its ack having arrived before the kill, never the reverse.
    expect(doc?.n).toBeGreaterThanOrEqual(n)
  }
  return client
}

describe('embedded mongo durability', () => {
  it('keeps data, indexes and constraints across a clean restart', async () => {
    const dir = tempDir()
    let server = await startEmbeddedMongo({ dataDir: dir, port: 0 })
    let client = await MongoClient.connect(server.uri)
    let users = client.db('app').collection('users')
    await users.createIndex({ email: 1 }, { unique: true })
    await users.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 3600 })
    await users.insertMany(Array.from({ length: 500 }, (_, i) => ({ email: `u${i}@x`, i })))
    await users.updateOne({ email: 'u1@x' }, { $set: { admin: true } })
    await users.deleteMany({ i: { $gte: 400 } })
    await client.db('other').collection('c').insertOne({ a: 1 })
    await client.db('gone').collection('c').insertOne({ a: 1 })
    await client.db('gone').dropDatabase()
    await client.close()
    await server.stop()
    expect(fs.existsSync(path.join(dir, 'mongod.lock'))).toBe(false)

    server = await startEmbeddedMongo({ dataDir: dir, port: 0 })
    client = await MongoClient.connect(server.uri)
    users = client.db('app').collection('users')
    expect(await users.countDocuments()).toBe(400)
    expect((await users.findOne({ email: 'u1@x' }))?.admin).toBe(true)
    expect((await users.indexes()).map((i) => i.name)).toEqual(['_id_', 'email_1', 'expiresAt_1'])
    expect((await users.indexes())[2]?.expireAfterSeconds).toBe(3600)
    await expect(users.insertOne({ email: 'u2@x' })).rejects.toMatchObject({ code: 11000 })
    const names = (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name).sort()
    expect(names).toEqual(['app', 'other'])
    await client.close()
    await server.stop()
  })

  it('keeps every acknowledged write after SIGKILL of the server process', async () => {
    const dir = tempDir()
    const { acked, counters } = await crashDuringWrites(dir, 400)
    expect(acked.length).toBeGreaterThanOrEqual(400)
    // The kill left a journal to replay (no clean-shutdown snapshot) and a stale lock.
    expect(fs.statSync(path.join(dir, 'journal.bin')).size).toBeGreaterThan(1000)
    expect(fs.existsSync(path.join(dir, 'mongod.lock'))).toBe(true)
    const server = await startEmbeddedMongo({ dataDir: dir, port: 0 })
    const client = await expectAllPresent(server, acked, counters)
    // The unique index survived replay and is still enforced.
    await expect(client.db('crash').collection('events').insertOne({ seq: acked[0] })).rejects.toMatchObject({ code: 11000 })
    await client.close()
    await server.stop()
  }, 60_000)

  it('ignores a torn or corrupt journal tail and keeps appending after it', async () => {
    const dir = tempDir()
    const first = await crashDuringWrites(dir, 100)
    const journal = path.join(dir, 'journal.bin')
    // A record header promising more bytes than were written (torn write)...
    const torn = Buffer.alloc(8 + 40)
    torn.writeUInt32LE(5000, 0)
    torn.writeUInt32LE(0xdeadbeef, 4)
    fs.appendFileSync(journal, torn)
    const sizeWithGarbage = fs.statSync(journal).size

    // ...then a new process appends and is killed again: the new records must not be lost behind the garbage.
    const { child, uri, exited } = await spawnDb(['--port', '0', '--data-dir', dir])
    expect(fs.statSync(journal).size).toBeLessThan(sizeWithGarbage)
    const client = await MongoClient.connect(uri)
    await client.db('crash').collection('events').insertOne({ seq: 'after-torn' })
    child.kill('SIGKILL')
    await exited
    await client.close(true).catch(() => undefined)

    // A complete-length record whose checksum does not match is dropped as well.
    const bad = Buffer.alloc(8 + 32, 7)
    bad.writeUInt32LE(32, 0)
    bad.writeUInt32LE(1234, 4)
    fs.appendFileSync(journal, bad)

    const server = await startEmbeddedMongo({ dataDir: dir, port: 0 })
    const verify = await expectAllPresent(server, [...first.acked, 'after-torn'], first.counters)
    await verify.close()
    await server.stop()
  }, 60_000)

  it('recovers from a crash between writing the snapshot and resetting the journal', async () => {
    const dir = tempDir()
    const { acked, counters } = await crashDuringWrites(dir, 150)
    const journal = path.join(dir, 'journal.bin')
    const oldJournal = fs.readFileSync(journal)
    // A clean start + stop folds the journal into a new snapshot generation.
    let server = await startEmbeddedMongo({ dataDir: dir, port: 0 })
    let client = await MongoClient.connect(server.uri)
    const count = await client.db('crash').collection('events').countDocuments()
    await client.close()
    await server.stop()
    expect(fs.existsSync(path.join(dir, 'snapshot.bson'))).toBe(true)
    // Put the previous generation's journal back, as if the crash hit before it was reset,
    // and leave a half-written temporary snapshot behind.
    fs.writeFileSync(journal, oldJournal)
    fs.writeFileSync(path.join(dir, 'snapshot.bson.tmp'), Buffer.from('partial'))
    server = await startEmbeddedMongo({ dataDir: dir, port: 0 })
    client = await expectAllPresent(server, acked, counters)
    expect(await client.db('crash').collection('events').countDocuments()).toBe(count)
    expect(fs.existsSync(path.join(dir, 'snapshot.bson.tmp'))).toBe(false)
    await client.close()
    await server.stop()
  }, 60_000)

  it('locks the data directory against a second server and takes over a stale lock', async () => {
    const dir = tempDir()
    const a = await startEmbeddedMongo({ dataDir: dir, port: 0 })
    expect(fs.readFileSync(path.join(dir, 'mongod.lock'), 'utf8')).toBe(String(process.pid))
    await expect(startEmbeddedMongo({ dataDir: dir, port: 0 })).rejects.toThrow(`data directory ${dir} is in use by process ${process.pid}`)

    const cli = spawn(process.execPath, ['--import', 'tsx', 'scripts/db.ts', '--port', '0', '--data-dir', dir], { cwd: ROOT })
    children.push(cli)
    let stderr = ''
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const code = await new Promise<number | null>((resolve) => cli.on('exit', (c) => resolve(c)))
    expect(code).not.toBe(0)
    expect(stderr).toContain(`data directory ${dir} is in use by process ${process.pid}`)
    await a.stop()
    expect(fs.existsSync(path.join(dir, 'mongod.lock'))).toBe(false)

    // A lock left by a process that no longer exists is taken over.
    const dead = spawn(process.execPath, ['-e', ''])
    const deadPid = dead.pid!
    await new Promise((resolve) => dead.on('exit', resolve))
    fs.writeFileSync(path.join(dir, 'mongod.lock'), String(deadPid))
    const b = await startEmbeddedMongo({ dataDir: dir, port: 0 })
    expect(fs.readFileSync(path.join(dir, 'mongod.lock'), 'utf8')).toBe(String(process.pid))
    await b.stop()
  }, 30_000)

  it('stops cleanly on SIGTERM from the CLI, releasing the lock and keeping data', async () => {
    const dir = tempDir()
    const { child, uri, exited } = await spawnDb(['--port', '0', '--data-dir', dir])
    const client = await MongoClient.connect(uri)
    await client.db('cli').collection('c').insertMany([{ a: 1 }, { a: 2 }])
    await client.close()
    child.kill('SIGTERM')
    const result = await exited
    expect(result.code).toBe(0)
    expect(fs.existsSync(path.join(dir, 'mongod.lock'))).toBe(false)
    const server = await startEmbeddedMongo({ dataDir: dir, port: 0 })
    const verify = await MongoClient.connect(server.uri)
    expect(await verify.db('cli').collection('c').countDocuments()).toBe(2)
    await verify.close()
    await server.stop()
  }, 30_000)

  it('touches no disk in memory mode', async () => {
    const dir = path.join(tempDir(), 'never-created')
    const server = await startEmbeddedMongo({ memory: true, dataDir: dir, port: 0 })
    const client = await MongoClient.connect(server.uri)
    await client.db('m').collection('c').insertOne({ a: 1 })
    expect(await client.db('m').collection('c').countDocuments()).toBe(1)
    await client.close()
    await server.stop()
    expect(fs.existsSync(dir)).toBe(false)
  })
})
