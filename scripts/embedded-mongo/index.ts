// Owns the public entry point: wiring engine, storage, TCP server and the TTL monitor together.
// Local dev/test tooling only: nothing under api/ or lib/ may import this.
import { Engine } from './engine.js'
import { CursorManager } from './cursors.js'
import { listen } from './server.js'
import { Storage } from './storage.js'
import type { ServerState } from './commands/index.js'
import type { Op } from './engine.js'

export interface EmbeddedMongoOptions {
  /** 0 = ephemeral, default 27017 */
  port?: number
  /** default 127.0.0.1 */
  host?: string
  /** default '.data' */
  dataDir?: string
  /** no disk at all */
  memory?: boolean
  /** TTL monitor period, default 60000 like mongod */
  ttlIntervalMs?: number
}

export interface EmbeddedMongo {
  /** mongodb://127.0.0.1:PORT */
  uri: string
  port: number
  stop(): Promise<void>
}

export async function startEmbeddedMongo(opts: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const host = opts.host ?? '127.0.0.1'
  const engine = new Engine()
  const storage = opts.memory ? undefined : await Storage.open(opts.dataDir ?? '.data', engine)
  const cursors = new CursorManager()
  const counters = { current: 0, total: 0 }
  const state: ServerState = {
    engine,
    cursors,
    startedAt: Date.now(),
    connections: () => counters.current,
    totalConnections: () => counters.total,
  }
  let tcp
  try {
    tcp = await listen(state, host, opts.port ?? 27017, counters)
  } catch (err) {
    await storage?.close()
    throw err
  }

  const ttlTimer = setInterval(() => {
    const ops: Op[] = []
    const now = Date.now()
    for (const coll of engine.allCollections()) {
      for (const doc of coll.expired(now)) {
        coll.remove(doc)
        ops.push({ o: 'del', ns: coll.ns, id: doc._id })
      }
    }
    cursors.sweep(now)
    // Nobody waits on TTL deletes; a failed journal write is reported by storage itself.
    engine.commit(ops).catch(() => undefined)
  }, opts.ttlIntervalMs ?? 60_000)
  ttlTimer.unref()

  let stopped: Promise<void> | undefined
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    uri: `mongodb://${urlHost}:${tcp.port}`,
    port: tcp.port,
    stop() {
      stopped ??= (async () => {
        clearInterval(ttlTimer)
        await tcp.close()
        await storage?.close()
      })()
      return stopped
    },
  }
}
