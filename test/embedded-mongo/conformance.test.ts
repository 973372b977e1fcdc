// Conformance of the embedded MongoDB-compatible server, through the official driver.
// The same assertions run against a real mongod when TEST_MONGODB_URI is set, so they pin
// mongod's behaviour rather than the embedded server's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Long, MongoClient, MongoServerError, type CommandStartedEvent, type Db } from 'mongodb'
import { startEmbeddedMongo, type EmbeddedMongo } from '../../scripts/embedded-mongo/index.js'

/** Schema-less documents: these tests exercise the server, not the driver's typings. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any

interface Target {
  name: 'embedded' | 'mongod'
  uri?: string
}

const targets: Target[] = [{ name: 'embedded' }, { name: 'mongod', uri: process.env.TEST_MONGODB_URI }]

async function rejection(p: Promise<unknown>): Promise<MongoServerError> {
  try {
    await p
  } catch (err) {
    return err as MongoServerError
  }
  throw new Error('expected the operation to fail')
}

describe.each(targets)('conformance: $name', (target) => {
  const skip = target.name === 'mongod' && !target.uri
  describe.skipIf(skip)('commands', () => {
    let server: EmbeddedMongo | undefined
    let client: MongoClient
    const started: CommandStartedEvent[] = []
    const dbs: string[] = []
    let seq = 0
    const freshDb = (): Db => {
      const name = `conf_${process.pid}_${Date.now().toString(36)}_${seq++}`
      dbs.push(name)
      return client.db(name)
    }

    beforeAll(async () => {
      let uri = target.uri
      if (target.name === 'embedded') {
        server = await startEmbeddedMongo({ memory: true, port: 0, ttlIntervalMs: 100 })
        uri = server.uri
      }
      client = new MongoClient(uri!, { monitorCommands: true, serverSelectionTimeoutMS: 5000 })
      client.on('commandStarted', (e) => started.push(e))
      await client.connect()
    })

    afterAll(async () => {
      for (const name of dbs) await client?.db(name).dropDatabase().catch(() => undefined)
      await client?.close()
      await server?.stop()
    })

    it('answers the handshake and basic admin commands', async () => {
      const admin = client.db('admin')
      const hello = await admin.command({ hello: 1 })
      expect(hello.isWritablePrimary).toBe(true)
      expect(hello.maxBsonObjectSize).toBe(16 * 1024 * 1024)
      expect(hello.maxMessageSizeBytes).toBe(48_000_000)
      expect(hello.maxWriteBatchSize).toBe(100_000)
      expect(hello.maxWireVersion).toBeGreaterThanOrEqual(21)
      expect(hello.setName).toBeUndefined()
      expect(hello.msg).toBeUndefined()
      expect(hello.localTime).toBeInstanceOf(Date)
      expect(hello.logicalSessionTimeoutMinutes).toBe(30)
      expect(await admin.command({ ping: 1 })).toMatchObject({ ok: 1 })
      const info = await admin.command({ buildInfo: 1 })
      expect(info.version).toMatch(/^\d+\.\d+\.\d+/)
      expect((await admin.command({ isMaster: 1 })).ismaster).toBe(true)
      expect((await admin.command({ serverStatus: 1 })).ok).toBe(1)
      expect((await admin.command({ connectionStatus: 1 })).ok).toBe(1)
    })

    it('rejects unsupported commands with CommandNotFound', async () => {
      const err = await rejection(freshDb().command({ foo: 1 }))
      expect(err).toBeInstanceOf(MongoServerError)
      expect(err.code).toBe(59)
      expect(err.codeName).toBe('CommandNotFound')
      expect(err.message).toBe("no such command: 'foo'")
    })

    it('reports bad arguments as error documents and keeps serving', async () => {
      const db = freshDb()
      await db.collection('c').insertOne({ a: 1 })
      const typeErr = await rejection(db.command({ find: 'c', filter: 'not-an-object' }))
      expect(typeErr.code).toBe(14)
      expect(typeErr.codeName).toBe('TypeMismatch')
      const opErr = await rejection(db.collection('c').find({ a: { $foo: 1 } }).toArray())
      expect(opErr.code).toBe(2)
      expect(opErr.message).toMatch(/unknown operator: \$foo/)
      const updErr = await rejection(db.collection('c').updateOne({ a: 1 }, { $inc: { a: 'x' } } as never))
      expect(updErr.code).toBeTypeOf('number')
      expect(await db.collection('c').countDocuments()).toBe(1)
    })

    it('inserts with generated _id and rejects a duplicate _id with E11000', async () => {
      const c = freshDb().collection<Loose>('c')
      const res = await c.insertOne({ n: 1 })
      expect(res.insertedId).toBeDefined()
      const stored = await c.findOne({ n: 1 })
      expect(String(stored?._id)).toBe(String(res.insertedId))
      await c.insertOne({ _id: 'x', n: 2 })
      const err = await rejection(c.insertOne({ _id: 'x', n: 3 }))
      expect(err.code).toBe(11000)
      expect(err.keyPattern).toEqual({ _id: 1 })
      expect(err.keyValue).toEqual({ _id: 'x' })
      expect(err.errmsg).toBe(`E11000 duplicate key error collection: ${c.dbName}.c index: _id_ dup key: { _id: "x" }`)
    })

    it('enforces unique indexes with the mongod E11000 shape on insert, update and upsert', async () => {
      const db = freshDb()
      const users = db.collection('users')
      expect(await users.createIndex({ email: 1 }, { unique: true })).toBe('email_1')
      await users.insertOne({ email: 'a@example.com', name: 'A' })
      await users.insertOne({ email: 'b@example.com', name: 'B' })

      const ins = await rejection(users.insertOne({ email: 'a@example.com' }))
      expect(ins.code).toBe(11000)
      expect(ins.keyPattern).toEqual({ email: 1 })
      expect(ins.keyValue).toEqual({ email: 'a@example.com' })
      expect(ins.errmsg).toBe(`E11000 duplicate key error collection: ${db.databaseName}.users index: email_1 dup key: { email: "a@example.com" }`)

      const upd = await rejection(users.updateOne({ email: 'b@example.com' }, { $set: { email: 'a@example.com' } }))
      expect(upd.code).toBe(11000)
      expect(upd.keyValue).toEqual({ email: 'a@example.com' })

      const ups = await rejection(users.updateOne({ name: 'nobody' }, { $set: { email: 'b@example.com' } }, { upsert: true }))
      expect(ups.code).toBe(11000)

      const fam = await rejection(users.findOneAndUpdate({ email: 'b@example.com' }, { $set: { email: 'a@example.com' } }))
      expect(fam.code).toBe(11000)
      expect(fam.codeName).toBe('DuplicateKey')
      expect(fam.keyPattern).toEqual({ email: 1 })
      expect(fam.keyValue).toEqual({ email: 'a@example.com' })
      expect(fam.errmsg).toMatch(/^E11000 duplicate key error collection: .*\.users index: email_1 dup key: \{ email: "a@example\.com" \}$/)

      expect(await users.countDocuments()).toBe(2)
      expect((await users.findOne({ email: 'b@example.com' }))?.name).toBe('B')
    })

    it('enforces compound, sparse and partial unique indexes', async () => {
      const db = freshDb()
      const c = db.collection('c')
      await c.createIndex({ tenant: 1, email: 1 }, { unique: true })
      await c.insertMany([{ tenant: 1, email: 'x' }, { tenant: 2, email: 'x' }])
      const err = await rejection(c.insertOne({ tenant: 1, email: 'x' }))
      expect(err.code).toBe(11000)
      expect(err.keyPattern).toEqual({ tenant: 1, email: 1 })
      expect(err.keyValue).toEqual({ tenant: 1, email: 'x' })
      expect(err.errmsg).toBe(`E11000 duplicate key error collection: ${db.databaseName}.c index: tenant_1_email_1 dup key: { tenant: 1, email: "x" }`)

      const s = db.collection('s')
      await s.createIndex({ handle: 1 }, { unique: true, sparse: true })
      await s.insertMany([{ a: 1 }, { a: 2 }, { handle: 'h' }])
      expect((await rejection(s.insertOne({ handle: 'h' }))).code).toBe(11000)

      const p = db.collection('p')
      await p.createIndex({ email: 1 }, { unique: true, partialFilterExpression: { active: true } })
      await p.insertMany([{ email: 'e', active: false }, { email: 'e', active: false }, { email: 'e', active: true }])
      const perr = await rejection(p.insertOne({ email: 'e', active: true }))
      expect(perr.code).toBe(11000)
      expect(perr.keyValue).toEqual({ email: 'e' })
      const nulls = db.collection('n')
      await nulls.createIndex({ k: 1 }, { unique: true })
      await nulls.insertOne({ other: 1 })
      const nerr = await rejection(nulls.insertOne({ other: 2 }))
      expect(nerr.code).toBe(11000)
      expect(nerr.keyValue).toEqual({ k: null })
      expect(nerr.errmsg).toMatch(/dup key: \{ k: null \}$/)
    })

    it('fails to build a unique index over existing duplicates', async () => {
      const c = freshDb().collection('c')
      await c.insertMany([{ a: 1 }, { a: 1 }])
      const err = await rejection(c.createIndex({ a: 1 }, { unique: true }))
      expect(err.code).toBe(11000)
      expect((await c.indexes()).map((i) => i.name)).toEqual(['_id_'])
    })

    it('respects ordered and unordered insert semantics', async () => {
      const db = freshDb()
      const c = db.collection('c')
      await c.createIndex({ k: 1 }, { unique: true })
      const ordered = await rejection(c.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }]))
      expect((ordered as unknown as { insertedCount: number }).insertedCount).toBe(1)
      expect(await c.countDocuments()).toBe(1)
      const unordered = await rejection(c.insertMany([{ k: 3 }, { k: 1 }, { k: 4 }], { ordered: false }))
      const bulk = unordered as unknown as { insertedCount: number; writeErrors: { index: number; code: number }[] | { index: number; code: number } }
      expect(bulk.insertedCount).toBe(2)
      const errors = Array.isArray(bulk.writeErrors) ? bulk.writeErrors : [bulk.writeErrors]
      expect(errors.map((e) => [e.index, e.code])).toEqual([[1, 11000]])
      expect(await c.countDocuments()).toBe(3)
    })

    it('lets exactly one of 50 concurrent inserts of the same unique key succeed', async () => {
      const c = freshDb().collection('c')
      await c.createIndex({ username: 1 }, { unique: true })
      const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => c.insertOne({ username: 'same', i })))
      const ok = results.filter((r) => r.status === 'fulfilled')
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      expect(ok).toHaveLength(1)
      expect(failed).toHaveLength(49)
      for (const f of failed) expect((f.reason as MongoServerError).code).toBe(11000)
      expect(await c.countDocuments({ username: 'same' })).toBe(1)
    })

    it('finds with filter, projection, sort, skip and limit', async () => {
      const c = freshDb().collection('c')
      await c.insertMany(Array.from({ length: 20 }, (_, i) => ({ i, even: i % 2 === 0, tags: [`t${i % 3}`], nested: { v: i * 10 } })))
      const docs = await c.find({ even: true }, { projection: { _id: 0, i: 1, 'nested.v': 1 } }).sort({ i: -1 }).skip(2).limit(3).toArray()
      expect(docs).toEqual([
        { i: 14, nested: { v: 140 } },
        { i: 12, nested: { v: 120 } },
        { i: 10, nested: { v: 100 } },
      ])
      expect(await c.countDocuments({ tags: 't1' })).toBe(7)
      expect(await c.countDocuments({ i: { $in: [1, 2, 3, 99] } })).toBe(3)
      expect(await c.countDocuments({ 'nested.v': { $gte: 150 } })).toBe(5)
      expect(await c.countDocuments({ $or: [{ i: 0 }, { i: { $gt: 17 } }] })).toBe(3)
      const excluded = await c.findOne({ i: 5 }, { projection: { tags: 0, nested: 0, _id: 0 } })
      expect(excluded).toEqual({ i: 5, even: false })
      expect(await c.findOne({ i: 999 })).toBeNull()
      expect(await freshDb().collection('missing').find({}).toArray()).toEqual([])
    })

    it('uses index-friendly queries correctly (equality, $in, range with sort and limit)', async () => {
      const c = freshDb().collection('c')
      await c.createIndex({ username: 1 }, { unique: true })
      await c.createIndex({ group: 1 })
      await c.insertMany(Array.from({ length: 300 }, (_, i) => ({ username: `u${String(i).padStart(3, '0')}`, group: i % 10 })))
      expect((await c.findOne({ username: 'u123' }))?.group).toBe(3)
      expect(await c.countDocuments({ group: 4 })).toBe(30)
      expect(await c.countDocuments({ group: { $in: [1, 2] }, username: { $lt: 'u100' } })).toBe(20)
      const page = await c.find({ username: { $gt: 'u250' } }).sort({ username: 1 }).limit(5).toArray()
      expect(page.map((d) => d.username)).toEqual(['u251', 'u252', 'u253', 'u254', 'u255'])
      const desc = await c.find({ username: { $lte: 'u010' } }).sort({ username: -1 }).limit(3).toArray()
      expect(desc.map((d) => d.username)).toEqual(['u010', 'u009', 'u008'])
      await c.updateOne({ username: 'u251' }, { $set: { username: 'zzz' } })
      const after = await c.find({ username: { $gt: 'u250' } }).sort({ username: 1 }).limit(2).toArray()
      expect(after.map((d) => d.username)).toEqual(['u252', 'u253'])
      expect((await c.find({}).sort({ username: -1 }).limit(1).toArray())[0]?.username).toBe('zzz')
    })

    it('iterates a cursor of more than 101 documents with getMore, and kills cursors', async () => {
      const db = freshDb()
      const c = db.collection('c')
      await c.insertMany(Array.from({ length: 250 }, (_, i) => ({ i })))
      const before = started.length
      const all = await c.find({}).sort({ i: 1 }).toArray()
      expect(all).toHaveLength(250)
      expect(all.map((d) => d.i)).toEqual(Array.from({ length: 250 }, (_, i) => i))
      const cmds = started.slice(before).map((e) => e.commandName)
      expect(cmds.filter((n) => n === 'getMore').length).toBeGreaterThanOrEqual(1)

      const batched = await c.find({}, { batchSize: 40 }).toArray()
      expect(batched).toHaveLength(250)

      const cursor = c.find({}, { batchSize: 10 })
      await cursor.next()
      const mark = started.length
      await cursor.close()
      expect(started.slice(mark).map((e) => e.commandName)).toContain('killCursors')

      const gone = await rejection(db.command({ getMore: Long.fromNumber(123456789), collection: 'c' }))
      expect(gone.code).toBe(43)
    })

    it('updates with operators, replacement, upsert, multi, arrayFilters and pipelines', async () => {
      const c = freshDb().collection<Loose>('c')
      await c.insertMany([
        { k: 'a', n: 1, arr: [1, 2, 3], items: [{ id: 1, qty: 1 }, { id: 2, qty: 5 }] },
        { k: 'b', n: 2 },
        { k: 'c', n: 3 },
      ])
      const one = await c.updateOne({ k: 'a' }, { $inc: { n: 5 }, $push: { arr: 4 } as never, $set: { 'sub.x': true }, $unset: { missing: '' } })
      expect(one).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 })
      expect(await c.findOne({ k: 'a' }, { projection: { _id: 0, n: 1, arr: 1, sub: 1 } })).toEqual({ n: 6, arr: [1, 2, 3, 4], sub: { x: true } })

      const noop = await c.updateOne({ k: 'b' }, { $set: { n: 2 } })
      expect(noop).toMatchObject({ matchedCount: 1, modifiedCount: 0 })

      const many = await c.updateMany({ n: { $lte: 3 } }, { $mul: { n: 10 } })
      expect(many).toMatchObject({ matchedCount: 2, modifiedCount: 2 })

      await c.updateOne({ k: 'a' }, { $set: { 'items.$[it].qty': 0 } }, { arrayFilters: [{ 'it.qty': { $gt: 2 } }] })
      expect((await c.findOne({ k: 'a' }))?.items).toEqual([{ id: 1, qty: 1 }, { id: 2, qty: 0 }])
      await c.updateOne({ k: 'a', 'items.id': 1 }, { $set: { 'items.$.qty': 7 } })
      expect((await c.findOne({ k: 'a' }))?.items).toEqual([{ id: 1, qty: 7 }, { id: 2, qty: 0 }])
      await c.updateOne({ k: 'a' }, { $addToSet: { arr: 4 } })
      await c.updateOne({ k: 'a' }, { $pull: { arr: 1 } as never })
      const conflict = await rejection(c.updateOne({ k: 'a' }, { $addToSet: { arr: 4 }, $pull: { arr: 1 } as never }))
      expect(conflict.code).toBe(40)
      expect((await c.findOne({ k: 'a' }))?.arr).toEqual([2, 3, 4])

      const rep = await c.replaceOne({ k: 'c' }, { k: 'c', replaced: true })
      expect(rep.modifiedCount).toBe(1)
      expect(await c.findOne({ k: 'c' }, { projection: { _id: 0 } })).toEqual({ k: 'c', replaced: true })

      const up = await c.updateOne({ k: 'new', 'meta.src': 'q' }, { $set: { n: 1 }, $setOnInsert: { created: true } }, { upsert: true })
      expect(up.upsertedCount).toBe(1)
      expect(up.upsertedId).toBeDefined()
      expect(await c.findOne({ _id: up.upsertedId as never }, { projection: { _id: 0 } })).toEqual({ k: 'new', meta: { src: 'q' }, n: 1, created: true })
      const again = await c.updateOne({ k: 'new' }, { $set: { n: 2 }, $setOnInsert: { created: false } }, { upsert: true })
      expect(again).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedId: null })
      expect((await c.findOne({ k: 'new' }))?.created).toBe(true)

      const upRep = await c.replaceOne({ _id: 'fixed' as never }, { v: 1 }, { upsert: true })
      expect(upRep.upsertedId).toBe('fixed')

      await c.updateOne({ k: 'b' }, [{ $set: { total: { $add: ['$n', 1] } } }])
      expect((await c.findOne({ k: 'b' }))?.total).toBe(21)

      const idErr = await rejection(c.updateOne({ k: 'b' }, { $set: { _id: 'other' } }))
      expect(idErr.code).toBe(66)
    })

    it('deletes one or many', async () => {
      const c = freshDb().collection('c')
      await c.insertMany([{ g: 1 }, { g: 1 }, { g: 1 }, { g: 2 }])
      expect((await c.deleteOne({ g: 1 })).deletedCount).toBe(1)
      expect((await c.deleteMany({ g: 1 })).deletedCount).toBe(2)
      expect((await c.deleteMany({ g: 99 })).deletedCount).toBe(0)
      expect(await c.countDocuments()).toBe(1)
    })

    it('findAndModify returns value and lastErrorObject like mongod', async () => {
      const c = freshDb().collection('c')
      await c.insertMany([{ k: 1, v: 'a' }, { k: 2, v: 'b' }, { k: 3, v: 'c' }])
      const before = await c.findOneAndUpdate({ k: { $gte: 2 } }, { $set: { v: 'x' } }, { sort: { k: -1 }, includeResultMetadata: true })
      expect(before.value?.k).toBe(3)
      expect(before.value?.v).toBe('c')
      expect(before.lastErrorObject).toEqual({ n: 1, updatedExisting: true })

      const after = await c.findOneAndUpdate({ k: 1 }, { $set: { v: 'y' } }, { returnDocument: 'after', projection: { _id: 0, v: 1 } })
      expect(after).toEqual({ v: 'y' })

      const up = await c.findOneAndUpdate({ k: 9 }, { $set: { v: 'new' } }, { upsert: true, returnDocument: 'after', includeResultMetadata: true })
      expect(up.value).toMatchObject({ k: 9, v: 'new' })
      expect(up.lastErrorObject?.n).toBe(1)
      expect(up.lastErrorObject?.updatedExisting).toBe(false)
      expect(String(up.lastErrorObject?.upserted)).toBe(String(up.value?._id))

      const none = await c.findOneAndUpdate({ k: 42 }, { $set: { v: 'z' } }, { includeResultMetadata: true })
      expect(none.value).toBeNull()
      expect(none.lastErrorObject).toEqual({ n: 0, updatedExisting: false })

      const replaced = await c.findOneAndReplace({ k: 2 }, { k: 2, v: 'replaced' }, { returnDocument: 'after' })
      expect(replaced?.v).toBe('replaced')

      const removed = await c.findOneAndDelete({ k: 1 }, { includeResultMetadata: true })
      expect(removed.value?.v).toBe('y')
      expect(removed.lastErrorObject).toEqual({ n: 1 })
      expect(await c.countDocuments()).toBe(3)
    })

    it('aggregates with the common stages, including both $lookup forms', async () => {
      const db = freshDb()
      const orders = db.collection('orders')
      const users = db.collection('users')
      await users.insertMany([{ _id: 1 as never, name: 'ann' }, { _id: 2 as never, name: 'bob' }])
      await orders.insertMany([
        { user: 1, amount: 10, items: ['a', 'b'] },
        { user: 1, amount: 5, items: ['c'] },
        { user: 2, amount: 7, items: [] },
        { user: 3, amount: 1, items: ['d'] },
      ])
      const grouped = await orders
        .aggregate([{ $match: { amount: { $gte: 5 } } }, { $group: { _id: '$user', total: { $sum: '$amount' }, n: { $sum: 1 } } }, { $sort: { total: -1 } }])
        .toArray()
      expect(grouped).toEqual([
        { _id: 1, total: 15, n: 2 },
        { _id: 2, total: 7, n: 1 },
      ])
      const joined = await orders
        .aggregate([
          { $sort: { amount: -1 } },
          { $limit: 3 },
          { $lookup: { from: 'users', localField: 'user', foreignField: '_id', as: 'u' } },
          { $unwind: '$u' },
          { $project: { _id: 0, amount: 1, name: '$u.name' } },
        ])
        .toArray()
      expect(joined).toEqual([
        { amount: 10, name: 'ann' },
        { amount: 7, name: 'bob' },
        { amount: 5, name: 'ann' },
      ])
      const piped = await users
        .aggregate([
          { $lookup: { from: 'orders', let: { uid: '$_id' }, pipeline: [{ $match: { $expr: { $eq: ['$user', '$$uid'] } } }, { $count: 'n' }], as: 'orders' } },
          { $set: { orderCount: { $ifNull: [{ $first: '$orders.n' }, 0] } } },
          { $addFields: { upper: { $toUpper: '$name' } } },
          { $project: { _id: 0, name: 1, orderCount: 1, upper: 1 } },
          { $sort: { name: 1 } },
        ])
        .toArray()
      expect(piped).toEqual([
        { name: 'ann', orderCount: 2, upper: 'ANN' },
        { name: 'bob', orderCount: 1, upper: 'BOB' },
      ])
      const unwound = await orders.aggregate([{ $unwind: '$items' }, { $skip: 1 }, { $count: 'n' }]).toArray()
      expect(unwound).toEqual([{ n: 3 }])
      // Aggregation never changes stored documents.
      expect(await orders.countDocuments({ u: { $exists: true } })).toBe(0)
      expect((await orders.findOne({ amount: 10 }))?.items).toEqual(['a', 'b'])
      const many = db.collection('many')
      await many.insertMany(Array.from({ length: 150 }, (_, i) => ({ i })))
      expect(await many.aggregate([{ $match: {} }]).toArray()).toHaveLength(150)
    })

    it('counts and distincts', async () => {
      const db = freshDb()
      const c = db.collection('c')
      await c.insertMany([{ t: 'a', tags: ['x', 'y'] }, { t: 'b', tags: ['y'] }, { t: 'a' }, { other: 1 }])
      expect(await c.estimatedDocumentCount()).toBe(4)
      expect((await db.command({ count: 'c', query: { t: 'a' } })).n).toBe(2)
      expect(await c.countDocuments({ t: 'a' }, { limit: 1 })).toBe(1)
      expect((await c.distinct('t')).sort()).toEqual(['a', 'b'])
      expect((await c.distinct('tags')).sort()).toEqual(['x', 'y'])
      expect(await c.distinct('t', { tags: 'y' })).toEqual(expect.arrayContaining(['a', 'b']))
    })

    it('creates, lists and drops indexes with mongod semantics', async () => {
      const db = freshDb()
      const c = db.collection('c')
      await c.insertOne({ a: 1, b: 2, at: new Date() })
      await c.createIndex({ a: 1 })
      await c.createIndex({ a: 1, b: -1 }, { name: 'ab', unique: true, partialFilterExpression: { a: { $gt: 0 } } })
      await c.createIndex({ at: 1 }, { expireAfterSeconds: 3600 })
      await c.createIndex({ s: 1 }, { sparse: true })
      const specs = await c.indexes()
      expect(specs).toEqual([
        { v: 2, key: { _id: 1 }, name: '_id_' },
        { v: 2, key: { a: 1 }, name: 'a_1' },
        { v: 2, key: { a: 1, b: -1 }, name: 'ab', unique: true, partialFilterExpression: { a: { $gt: 0 } } },
        { v: 2, key: { at: 1 }, name: 'at_1', expireAfterSeconds: 3600 },
        { v: 2, key: { s: 1 }, name: 's_1', sparse: true },
      ])
      // Identical spec: no-op.
      expect(await c.createIndex({ a: 1 })).toBe('a_1')
      const raw = await db.command({ createIndexes: 'c', indexes: [{ key: { a: 1 }, name: 'a_1' }] })
      expect(raw.numIndexesBefore).toBe(raw.numIndexesAfter)
      // Same name, different options -> 86; same key, different name -> 85.
      const conflictName = await rejection(c.createIndex({ a: 1 }, { name: 'a_1', unique: true }))
      expect(conflictName.code).toBe(86)
      expect(conflictName.codeName).toBe('IndexKeySpecsConflict')
      const conflictKey = await rejection(c.createIndex({ a: 1 }, { name: 'other' }))
      expect(conflictKey.code).toBe(85)
      expect(conflictKey.codeName).toBe('IndexOptionsConflict')

      await c.dropIndex('a_1')
      expect((await c.indexes()).map((i) => i.name)).toEqual(['_id_', 'ab', 'at_1', 's_1'])
      expect((await rejection(c.dropIndex('nope'))).code).toBe(27)
      expect((await rejection(c.dropIndex('_id_'))).code).toBe(72)
      await c.dropIndexes()
      expect((await c.indexes()).map((i) => i.name)).toEqual(['_id_'])
      expect((await rejection(db.command({ listIndexes: 'missing' }))).code).toBe(26)
    })

    it('creates, lists and drops collections and databases', async () => {
      const db = freshDb()
      await db.createCollection('alpha')
      await db.collection('beta').insertOne({ x: 1 })
      const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort()
      expect(names).toEqual(['alpha', 'beta'])
      const full = await db.listCollections({ name: 'beta' }).toArray()
      expect(full).toHaveLength(1)
      expect(full[0]).toMatchObject({ name: 'beta', type: 'collection' })
      const dbsList = await client.db('admin').admin().listDatabases()
      expect(dbsList.databases.map((d) => d.name)).toContain(db.databaseName)
      expect(await db.collection('beta').drop()).toBe(true)
      expect((await db.listCollections().toArray()).map((c) => c.name)).toEqual(['alpha'])
      expect(await db.dropDatabase()).toBe(true)
      expect(await db.listCollections().toArray()).toEqual([])
      const after = await client.db('admin').admin().listDatabases({ nameOnly: true })
      expect(after.databases.map((d) => d.name)).not.toContain(db.databaseName)
    })

    it('refuses transactions as a standalone mongod does', async () => {
      const c = freshDb().collection('c')
      await c.insertOne({ a: 1 })
      const session = client.startSession()
      try {
        session.startTransaction()
        const err = await rejection(c.insertOne({ a: 2 }, { session }))
        // The driver rewraps mongod's code 20 "Transaction numbers are only allowed on a replica set member or mongos".
        expect(err.message).toMatch(/does not support retryable writes|Transaction numbers are only allowed/)
        await session.abortTransaction().catch(() => undefined)
      } finally {
        await session.endSession()
      }
      // Sessions without transactions still work.
      const s2 = client.startSession()
      await c.insertOne({ a: 3 }, { session: s2 })
      await s2.endSession()
      expect(await c.countDocuments()).toBe(2)
    })

    it(
      'expires documents through TTL indexes',
      async () => {
        const c = freshDb().collection('sessions')
        await c.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 })
        await c.createIndex({ createdAt: 1 }, { expireAfterSeconds: 3600 })
        await c.insertMany([
          { k: 'expired', expiresAt: new Date(Date.now() - 1000) },
          { k: 'future', expiresAt: new Date(Date.now() + 3_600_000) },
          { k: 'no-date', expiresAt: 'not a date' },
          { k: 'old', createdAt: new Date(Date.now() - 7_200_000) },
          { k: 'recent', createdAt: new Date() },
        ])
        const deadline = Date.now() + (target.name === 'embedded' ? 5_000 : 70_000)
        while (Date.now() < deadline && (await c.countDocuments({ k: { $in: ['expired', 'old'] } })) > 0) {
          await new Promise((r) => setTimeout(r, target.name === 'embedded' ? 50 : 1000))
        }
        expect((await c.find({}).toArray()).map((d) => d.k).sort()).toEqual(['future', 'no-date', 'recent'])
      },
      target.name === 'embedded' ? 10_000 : 80_000,
    )
  })
})
