// The local runner: serves a project's api/ functions over HTTP with Vercel's routing
// (filesystem + vercel.json) and Node.js runtime helpers, reloading edited files without a
// restart. Local tooling only: nothing in api/ or lib/ may import it (it would be bundled).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { buildFunctionTable } from './functions.js'
import { createModuleLoader } from './loader.js'
import { compileConfig, readVercelConfig } from './rules.js'
import { createRequestHandler, type RoutingState } from './server.js'

export interface RunnerOptions {
  /** project dir containing api/ and vercel.json, default process.cwd() */
  root?: string
  /** 0 = ephemeral */
  port?: number
  /** default 127.0.0.1 */
  host?: string
  /** pick up changed files, default true */
  watch?: boolean
}

export interface Runner {
  url: string
  port: number
  close(): Promise<void>
}

export async function startRunner(opts: RunnerOptions = {}): Promise<Runner> {
  const root = resolve(opts.root ?? process.cwd())
  const host = opts.host ?? '127.0.0.1'
  const watch = opts.watch ?? true

  // Routing state is rebuilt lazily after a change, so a burst of file events costs one rescan.
  // A broken vercel.json keeps the last good state and says why, instead of killing the server.
  let state: RoutingState | undefined
  let dirty = true
  const loadState = (): RoutingState => {
    const table = buildFunctionTable(root)
    return { table, config: compileConfig(readVercelConfig(root), table.extensions) }
  }
  state = loadState()
  dirty = false
  const getState = (): RoutingState => {
    if (dirty) {
      dirty = false
      try {
        state = loadState()
      } catch (err) {
        console.error('[runner] keeping the previous routes; could not reload:', err)
      }
    }
    return state!
  }

  const loader = createModuleLoader(root, { watch })
  loader.onChange(() => {
    dirty = true
  })

  const server = createServer(createRequestHandler(getState, loader))
  await new Promise<void>((ready, fail) => {
    server.once('error', fail)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', fail)
      ready()
    })
  })
  const { port } = server.address() as AddressInfo
  const shownHost = host.includes(':') ? `[${host}]` : host

  return {
    url: `http://${shownHost}:${port}`,
    port,
    async close() {
      await new Promise<void>((done) => {
        server.close(() => done())
        // Keep-alive connections would hold close() open; nothing is in flight we must finish.
        server.closeAllConnections()
      })
      await loader.close()
    },
  }
}
