// Raw wire-protocol behaviour of the embedded server: the legacy OP_QUERY handshake answered with
// OP_REPLY, OP_MSG with a checksum and document sequences, fire-and-forget (moreToCome) writes,
// and malformed input that must not take the server down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import net from 'node:net'
import { BSON } from 'bson'
import { MongoClient } from 'mongodb'
import { startEmbeddedMongo, type EmbeddedMongo } from '../../scripts/embedded-mongo/index.js'

let server: EmbeddedMongo

beforeAll(async () => {
  server = await startEmbeddedMongo({ memory: true, port: 0 })
})

afterAll(async () => {
  await server.stop()
})

function header(len: number, requestId: number, opCode: number): Buffer {
  const h = Buffer.alloc(16)
  h.writeInt32LE(len, 0)
  h.writeInt32LE(requestId, 4)
  h.writeInt32LE(0, 8)
  h.writeInt32LE(opCode, 12)
  return h
}

function opQuery(requestId: number, ns: string, query: object): Buffer {
  const body = Buffer.concat([Buffer.alloc(4), Buffer.from(ns + '\0'), Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), Buffer.from(BSON.serialize(query))])
  return Buffer.concat([header(16 + body.length, requestId, 2004), body])
}

function opMsg(requestId: number, flags: number, body: object, sequence?: { id: string; docs: object[] }): Buffer {
  const parts: Buffer[] = []
  const f = Buffer.alloc(4)
  f.writeUInt32LE(flags, 0)
  parts.push(f, Buffer.from([0]), Buffer.from(BSON.serialize(body)))
  if (sequence) {
    const docs = Buffer.concat(sequence.docs.map((d) => BSON.serialize(d)))
    const id = Buffer.from(sequence.id + '\0')
    const size = Buffer.alloc(4)
    size.writeInt32LE(4 + id.length + docs.length, 0)
    parts.push(Buffer.from([1]), size, id, docs)
  }
  if (flags & 1) parts.push(Buffer.alloc(4)) // checksum bytes (not verified)
  const payload = Buffer.concat(parts)
  return Buffer.concat([header(16 + payload.length, requestId, 2013), payload])
}

/** Sends raw bytes and resolves with the first complete reply message. */
function roundTrip(bytes: Buffer[]): Promise<{ opCode: number; responseTo: number; doc: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(server.port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      if (buf.length >= 4 && buf.length >= buf.readInt32LE(0)) {
        const opCode = buf.readInt32LE(12)
        const responseTo = buf.readInt32LE(8)
        const docStart = opCode === 1 ? 36 : 21
        sock.destroy()
        resolve({ opCode, responseTo, doc: BSON.deserialize(buf.subarray(docStart, buf.readInt32LE(0))) })
      }
    })
    sock.on('error', reject)
    sock.on('connect', () => {
      for (const b of bytes) sock.write(b)
    })
  })
}

describe('embedded mongo wire protocol', () => {
  it('answers a legacy OP_QUERY isMaster on admin.$cmd with OP_REPLY', async () => {
    const reply = await roundTrip([opQuery(7, 'admin.$cmd', { isMaster: 1, helloOk: true })])
    expect(reply.opCode).toBe(1)
    expect(reply.responseTo).toBe(7)
    expect(reply.doc).toMatchObject({ ismaster: true, helloOk: true, maxWireVersion: 21, minWireVersion: 0, ok: 1 })
    expect(reply.doc.setName).toBeUndefined()
    expect(reply.doc.compression).toBeUndefined()
    expect(reply.doc.topologyVersion).toBeUndefined()
  })

  it('accepts OP_MSG with a checksum and a kind-1 document sequence', async () => {
    const reply = await roundTrip([opMsg(9, 1, { insert: 'seq', $db: 'wire' }, { id: 'documents', docs: [{ a: 1 }, { a: 2 }] })])
    expect(reply.opCode).toBe(2013)
    expect(reply.responseTo).toBe(9)
    expect(reply.doc).toMatchObject({ n: 2, ok: 1 })
  })

  it('sends nothing back for moreToCome and still applies the write', async () => {
    const sock = net.connect(server.port, '127.0.0.1')
    await new Promise((r) => sock.once('connect', r))
    let received = 0
    sock.on('data', (d: Buffer) => (received += d.length))
    sock.write(opMsg(11, 2, { insert: 'w0', $db: 'wire', documents: [{ fire: 'forget' }] }))
    const client = await MongoClient.connect(server.uri)
    let found = 0
    for (let i = 0; i < 50 && found === 0; i++) {
      found = await client.db('wire').collection('w0').countDocuments()
      if (!found) await new Promise((r) => setTimeout(r, 10))
    }
    expect(found).toBe(1)
    expect(received).toBe(0)
    await client.db('wire').collection('w1').insertOne({ x: 1 }, { writeConcern: { w: 0 } })
    await client.close()
    sock.destroy()
  })

  it('survives malformed input and keeps serving other clients', async () => {
    // Unknown opcode: an error reply, the connection stays usable.
    const unknown = await roundTrip([Buffer.concat([header(20, 3, 9999), Buffer.alloc(4)])])
    expect(unknown.doc.ok).toBe(0)
    // A broken BSON body: an error reply rather than a crash.
    const broken = Buffer.concat([header(16 + 4 + 1 + 8, 4, 2013), Buffer.alloc(4), Buffer.from([0]), Buffer.from([8, 0, 0, 0, 0x7f, 0x61, 0, 0])])
    expect((await roundTrip([broken])).doc.ok).toBe(0)
    // Absurd framing: the server drops that connection only.
    const sock = net.connect(server.port, '127.0.0.1')
    await new Promise((r) => sock.once('connect', r))
    sock.write(Buffer.from([1, 0, 0, 0]))
    await new Promise((r) => sock.once('close', r))
    const client = await MongoClient.connect(server.uri)
    expect((await client.db('admin').command({ ping: 1 })).ok).toBe(1)
    await client.close()
  })
})
