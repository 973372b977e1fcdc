// Owns the MongoDB wire protocol: message framing on a byte stream, decoding OP_MSG / OP_QUERY
// requests and encoding OP_MSG / OP_REPLY responses.
import { BSON } from 'bson'
import type { Doc } from './values.js'

export const OP_REPLY = 1
export const OP_QUERY = 2004
export const OP_COMPRESSED = 2012
export const OP_MSG = 2013

const FLAG_CHECKSUM = 1 << 0
const FLAG_MORE_TO_COME = 1 << 1

/** Larger than maxMessageSizeBytes so a maximal legal message is never refused. */
export const MAX_MESSAGE_BYTES = 48_000_000 + 16 * 1024 * 1024

export const DESERIALIZE_OPTIONS = { promoteLongs: true, promoteValues: true, promoteBuffers: false, bsonRegExp: false } as const

export interface Request {
  requestId: number
  opCode: number
  /** The command document, with kind-1 document sequences merged in as arrays. */
  command: Doc
  /** OP_MSG moreToCome: the client wants no reply (w:0). */
  noReply: boolean
  /** OP_QUERY's namespace (legacy handshake), undefined for OP_MSG. */
  legacyNs?: string
}

export class ProtocolError extends Error {}

/** Accumulates socket chunks and yields complete messages. */
export class MessageReader {
  private chunks: Buffer[] = []
  private size = 0

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk)
    this.size += chunk.length
    const out: Buffer[] = []
    while (this.size >= 4) {
      const head = this.chunks.length === 1 ? this.chunks[0]! : this.compact()
      const len = head.readInt32LE(0)
      if (len < 16 || len > MAX_MESSAGE_BYTES) throw new ProtocolError(`invalid message length ${len}`)
      if (this.size < len) break
      const all = this.compact()
      out.push(all.subarray(0, len))
      const rest = all.subarray(len)
      this.chunks = rest.length ? [rest] : []
      this.size = rest.length
    }
    return out
  }

  private compact(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)]
    return this.chunks[0]!
  }
}

function readCString(buf: Buffer, offset: number): [string, number] {
  const end = buf.indexOf(0, offset)
  if (end < 0) throw new ProtocolError('unterminated cstring')
  return [buf.toString('utf8', offset, end), end + 1]
}

function readDoc(buf: Buffer, offset: number): [Doc, number] {
  if (offset + 4 > buf.length) throw new ProtocolError('truncated document')
  const len = buf.readInt32LE(offset)
  if (len < 5 || offset + len > buf.length) throw new ProtocolError('invalid document length')
  const doc = BSON.deserialize(buf.subarray(offset, offset + len), DESERIALIZE_OPTIONS) as Doc
  return [doc, offset + len]
}

export function decodeMessage(msg: Buffer): Request {
  const requestId = msg.readInt32LE(4)
  const opCode = msg.readInt32LE(12)
  if (opCode === OP_MSG) {
    const flags = msg.readUInt32LE(16)
    // The checksum is optional for clients; we accept it and do not verify (localhost only).
    const end = flags & FLAG_CHECKSUM ? msg.length - 4 : msg.length
    let off = 20
    let command: Doc | undefined
    const sequences: [string, Doc[]][] = []
    while (off < end) {
      const kind = msg.readUInt8(off++)
      if (kind === 0) {
        ;[command, off] = readDoc(msg, off)
      } else if (kind === 1) {
        const size = msg.readInt32LE(off)
        const secEnd = off + size
        let id: string
        ;[id, off] = readCString(msg, off + 4)
        const docs: Doc[] = []
        while (off < secEnd) {
          let d: Doc
          ;[d, off] = readDoc(msg, off)
          docs.push(d)
        }
        sequences.push([id, docs])
      } else {
        throw new ProtocolError(`unknown OP_MSG section kind ${kind}`)
      }
    }
    if (!command) throw new ProtocolError('OP_MSG without a body section')
    for (const [id, docs] of sequences) command[id] = docs
    return { requestId, opCode, command, noReply: (flags & FLAG_MORE_TO_COME) !== 0 }
  }
  if (opCode === OP_QUERY) {
    let off = 20
    let ns: string
    ;[ns, off] = readCString(msg, off)
    off += 8 // numberToSkip, numberToReturn
    let query: Doc
    ;[query, off] = readDoc(msg, off)
    // Legacy drivers may wrap the command as {$query: {...}, $readPreference: ...}.
    if (query.$query && typeof query.$query === 'object') query = query.$query as Doc
    return { requestId, opCode, command: query, noReply: false, legacyNs: ns }
  }
  throw new ProtocolError(`unsupported opCode ${opCode}`)
}

let nextResponseId = 1

function header(length: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.allocUnsafe(16)
  h.writeInt32LE(length, 0)
  h.writeInt32LE(nextResponseId++ & 0x7fffffff, 4)
  h.writeInt32LE(responseTo, 8)
  h.writeInt32LE(opCode, 12)
  return h
}

export function encodeMsg(responseTo: number, doc: Doc): Buffer {
  const body = BSON.serialize(doc, { checkKeys: false, ignoreUndefined: true })
  const len = 16 + 4 + 1 + body.length
  const h = header(len, responseTo, OP_MSG)
  const flags = Buffer.alloc(5) // flagBits=0, section kind 0
  return Buffer.concat([h, flags, body], len)
}

export function encodeReply(responseTo: number, doc: Doc): Buffer {
  const body = BSON.serialize(doc, { checkKeys: false, ignoreUndefined: true })
  const len = 16 + 20 + body.length
  const h = header(len, responseTo, OP_REPLY)
  const fields = Buffer.alloc(20) // responseFlags, cursorID(8), startingFrom, numberReturned
  fields.writeInt32LE(1, 16)
  return Buffer.concat([h, fields, body], len)
}
