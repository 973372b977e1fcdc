// Serves a copied-out build (output.ts) the way a deployment runs it: requests are routed by the
// build's own config.json (routes.ts), static files come from `static/`, and each function runs
// in a process of its own, started on its first request (a cold start) by @vercel/node's own
// launcher (`dist/dev-server.mjs`: its serverless event handler and request/response helpers),
// with the function directory as the working directory, as on Vercel, in production mode.
// Nothing here loads the project's sources or its runner. Local tooling only.
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { dirname, extname, join, normalize } from 'node:path'
import { listOutputFunctions, type OutputFunction } from './output.js'
import { routeRequest, type BuildRoute, type Filesystem } from './routes.js'
import { proxyHeaders, sendVercelError, vercelId } from '../vercel-proxy.js'

export interface HostOptions {
  /** A copied-out `.vercel/output`. */
  output: string
  port?: number
  host?: string
  /** Environment of every function, on top of this process's (VERCEL=1 and NODE_ENV=production are added). */
  env?: Record<string, string>
}

export interface Host {
  url: string
  /** Function processes started so far, by function name. */
  instances(): Map<string, number>
  close(): Promise<void>
}

const LAUNCHER = join(dirname(createRequire(import.meta.url).resolve('@vercel/node/package.json')), 'dist', 'dev-server.mjs')

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
}

/** What the deployment holds: function names (an `index` function also serves its directory) and static files. */
function filesystemOf(output: string, functions: OutputFunction[]): Filesystem {
  const byPath = new Map<string, string>()
  for (const fn of functions) {
    byPath.set(`/${fn.name}`, fn.name)
    if (fn.name === 'index' || fn.name.endsWith('/index')) byPath.set(`/${fn.name.slice(0, -'index'.length)}`.replace(/(.)\/$/, '$1'), fn.name)
  }
  const staticDir = join(output, 'static')
  const isFile = (file: string) => existsSync(file) && statSync(file).isFile()
  return (pathname) => {
    let decoded: string
    try {
      decoded = decodeURIComponent(pathname)
    } catch {
      return undefined
    }
    const name = byPath.get(decoded)
    if (name) return { kind: 'function', name }
    const relativePath = normalize(decoded).replace(/^(\.\.(\/|$))+/, '')
    for (const candidate of [relativePath, `${relativePath}.html`, join(relativePath, 'index.html')]) {
      const file = join(staticDir, candidate)
      if (file.startsWith(staticDir + '/') && isFile(file)) return { kind: 'static', file }
    }
    return undefined
  }
}

interface Instance {
  child: ChildProcess
  port: Promise<number>
}

export async function startHost(options: HostOptions): Promise<Host> {
  const config = JSON.parse(readFileSync(join(options.output, 'config.json'), 'utf8')) as { routes?: BuildRoute[] }
  const routes = config.routes ?? []
  const functions = listOutputFunctions(options.output)
  const byName = new Map(functions.map((fn) => [fn.name, fn]))
  const fs = filesystemOf(options.output, functions)
  const instances = new Map<string, Instance>()
  let closing = false

  function launch(fn: OutputFunction): Instance {
    // As `vercel dev` forks it: plain Node (no loader), the function directory as cwd.
    const child = fork(LAUNCHER, [], {
      cwd: fn.dir,
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...process.env,
        ...options.env,
        ...fn.config.environment,
        VERCEL: '1',
        // A production deployment unless told otherwise (the preview guard's tests ask for one).
        VERCEL_ENV: options.env?.VERCEL_ENV ?? process.env.VERCEL_ENV ?? 'production',
        NODE_ENV: 'production',
        VERCEL_DEV_ENTRYPOINT: fn.config.handler,
        VERCEL_DEV_CONFIG: JSON.stringify({ helpers: fn.config.shouldAddHelpers !== false }),
        VERCEL_DEV_BUILD_ENV: '{}',
        VERCEL_DEV_PUBLIC_DIR: '',
        NODE_OPTIONS: '--no-warnings',
      },
    })
    // The functions' log lines are the host's: one stream, as Vercel's log drain shows them.
    child.stdout!.pipe(process.stdout, { end: false })
    child.stderr!.pipe(process.stderr, { end: false })
    const port = new Promise<number>((resolve, reject) => {
      child.once('message', (msg: AddressInfo) => resolve(msg.port))
      child.once('exit', (code) => reject(new Error(`${fn.name}: the launcher exited with code ${code} before listening`)))
    })
    port.catch(() => {})
    const instance = { child, port }
    child.once('exit', () => {
      if (instances.get(fn.name) === instance) instances.delete(fn.name)
    })
    return instance
  }

  function instanceOf(fn: OutputFunction): Instance {
    let instance = instances.get(fn.name)
    if (!instance) {
      instance = launch(fn)
      instances.set(fn.name, instance)
    }
    return instance
  }

  async function invoke(req: IncomingMessage, res: ServerResponse, fn: OutputFunction, path: string, headers: Record<string, string | string[] | undefined>, routeHeaders: Record<string, string>): Promise<void> {
    let port: number
    try {
      port = await instanceOf(fn).port
    } catch (err) {
      console.error(`[prebuilt] ${String((err as Error).message)}`)
      sendVercelError(res, 500, 'FUNCTION_INVOCATION_FAILED', 'A server error has occurred')
      return
    }
    await new Promise<void>((done) => {
      // vercel.json's maxDuration, as Vercel enforces it: the invocation ends with a 504.
      const limitMs = (fn.config.maxDuration ?? 300) * 1000
      const timer = setTimeout(() => {
        upstream.destroy()
        sendVercelError(res, 504, 'FUNCTION_INVOCATION_TIMEOUT', 'An error occurred with your deployment')
        done()
      }, limitMs)
      res.on('close', () => clearTimeout(timer))
      const upstream = request({ host: '127.0.0.1', port, method: req.method, path, headers }, (answer) => {
        res.statusCode = answer.statusCode ?? 500
        for (const [key, value] of Object.entries(answer.headers)) if (value !== undefined) res.setHeader(key, value)
        for (const [key, value] of Object.entries(routeHeaders)) res.setHeader(key, value)
        answer.pipe(res)
        answer.on('end', done)
        answer.on('error', done)
      })
      upstream.on('error', (err) => {
        if (res.headersSent) return
        console.error(`[prebuilt] ${fn.name}: ${err.message}`)
        sendVercelError(res, 500, 'FUNCTION_INVOCATION_FAILED', 'A server error has occurred')
        done()
      })
      req.pipe(upstream)
    })
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = vercelId()
    res.setHeader('x-vercel-id', id)
    const url = new URL(req.url ?? '/', 'http://host.local')
    const method = (req.method ?? 'GET').toUpperCase()
    const resolution = routeRequest(routes, fs, method, url.pathname, url.searchParams)
    if (resolution.kind === 'status') {
      for (const [key, value] of Object.entries(resolution.headers)) res.setHeader(key, value)
      if (resolution.headers.location) {
        res.writeHead(resolution.status).end()
      } else if (resolution.status === 404) {
        sendVercelError(res, 404, 'NOT_FOUND', 'The page could not be found')
      } else {
        res.writeHead(resolution.status).end()
      }
      req.resume()
      return
    }
    if (resolution.kind === 'static') {
      req.resume()
      const body = readFileSync(resolution.file)
      for (const [key, value] of Object.entries(resolution.headers)) res.setHeader(key, value)
      res.writeHead(resolution.status ?? 200, {
        'content-type': CONTENT_TYPES[extname(resolution.file)] ?? 'application/octet-stream',
        'content-length': body.length,
      })
      res.end(method === 'HEAD' ? undefined : body)
      return
    }
    const fn = byName.get(resolution.name)!
    // The function sees the path the client asked for (a rewrite is invisible to it) with the
    // route's query parameters ([param] values) merged in.
    const qs = resolution.query.toString()
    await invoke(req, res, fn, url.pathname + (qs ? `?${qs}` : ''), proxyHeaders(req, id), resolution.headers)
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error('[prebuilt] internal error:', err)
      sendVercelError(res, 500, 'INTERNAL_HOST_ERROR', 'A server error has occurred')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    instances: () => new Map([...instances].map(([name, i]) => [name, i.child.pid ?? 0])),
    async close() {
      if (closing) return
      closing = true
      const exits = [...instances.values()].map(
        ({ child }) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()))),
      )
      for (const { child } of instances.values()) child.kill('SIGTERM')
      server.closeAllConnections()
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), ...exits])
    },
  }
}
