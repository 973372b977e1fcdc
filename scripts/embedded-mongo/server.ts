// Owns the TCP side: accepting connections, per-connection in-order request processing,
// the legacy OP_QUERY handshake vs OP_MSG replies, and closing everything on stop.
import net from 'node:net'
import { runCommand, type ServerState } from './commands/index.js'
import { decodeMessage, encodeMsg, encodeReply, MessageReader, OP_QUERY, ProtocolError } from './wire.js'
import { MongoServerError } from './errors.js'

export interface TcpServer {
  port: number
  close(): Promise<void>
}

export async function listen(state: ServerState, host: string, port: number, counters: { current: number; total: number }): Promise<TcpServer> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    counters.current++
    const conn = { id: ++counters.total, remote: `${socket.remoteAddress}:${socket.remotePort}` }
    socket.setNoDelay(true)
    const reader = new MessageReader()
    // Requests on one connection are answered in order; the driver never pipelines, but be safe.
    let chain = Promise.resolve()
    socket.on('data', (chunk: Buffer) => {
      let messages: Buffer[]
      try {
        messages = reader.push(chunk)
      } catch {
        // Framing is lost; nothing sensible can be replied.
        socket.destroy()
        return
      }
      for (const msg of messages) {
        chain = chain.then(() => handle(msg)).catch(() => {
          socket.destroy()
        })
      }
    })
    const handle = async (msg: Buffer): Promise<void> => {
      const requestId = msg.readInt32LE(4)
      const opCode = msg.readInt32LE(12)
      let req
      try {
        req = decodeMessage(msg)
      } catch (err) {
        const reply = new MongoServerError(err instanceof ProtocolError ? 'FailedToParse' : 'BadValue', err instanceof Error ? err.message : String(err)).toDocument()
        if (!socket.destroyed) socket.write(opCode === OP_QUERY ? encodeReply(requestId, reply) : encodeMsg(requestId, reply))
        return
      }
      const reply = await runCommand(state, conn, req.command, req.legacyNs)
      if (req.noReply || socket.destroyed) return
      socket.write(req.opCode === OP_QUERY ? encodeReply(req.requestId, reply) : encodeMsg(req.requestId, reply))
    }
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      sockets.delete(socket)
      counters.current--
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address()
  const actualPort = typeof addr === 'object' && addr ? addr.port : port
  return {
    port: actualPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }),
  }
}
