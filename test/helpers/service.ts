// Starts the service as a user would: the local runner (`scripts/dev.ts`) in a child process,
// on an ephemeral port, against the test run's database (embedded, or TEST_MONGODB_URI) under a
// database name of its own. Every test file gets fresh data; logs are kept for assertions.
// With TEST_TARGET=prebuilt (`npm run test:prebuilt`), the same tests run against the built
// functions instead: the copied-out build in PREBUILT_OUTPUT, served by @vercel/node's launcher
// in production mode (scripts/prebuilt/serve.ts).
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import type { Role } from '../../lib/schemas.js'
import { whenReady } from './ready.js'

export interface Service {
  url: string
  env: Record<string, string>
  /** The runner process, for resource checks (RSS from /proc/<pid>/status). */
  pid: number
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  stop(): Promise<void>
  fetch(path: string, init?: RequestInit): Promise<Response>
  /** JSON request helper: sets content-type and Authorization when given a token. */
  call(method: string, path: string, opts?: { token?: string; json?: unknown; form?: Record<string, string>; headers?: Record<string, string> }): Promise<Response>
}

/** True in the prebuilt lane: the tests talk to the built functions, not the local runner. */
export const onPrebuilt = process.env.TEST_TARGET === 'prebuilt'

function serviceCommand(): string[] {
  if (!onPrebuilt) return ['--import', 'tsx', 'scripts/dev.ts']
  const output = process.env.PREBUILT_OUTPUT
  if (!output) throw new Error('TEST_TARGET=prebuilt needs PREBUILT_OUTPUT (run npm run test:prebuilt)')
  return ['--import', 'tsx', 'scripts/prebuilt/serve.ts', '--output', output]
}

export const ADMIN = { username: 'root-admin', password: 'Adm1n-Test-Passw0rd!' }

export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    MONGODB_URI: inject('mongoUri'),
    MONGODB_DB: `t_${randomBytes(6).toString('hex')}`,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    BCRYPT_COST: '4',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'info',
    ...extra,
  }
}

export async function startService(extra: Record<string, string> = {}): Promise<Service> {
  const env = testEnv(extra)
  const child: ChildProcess = spawn(process.execPath, serviceCommand(), {
    env: { ...process.env, ...env, PORT: '0', DOTENV_CONFIG_QUIET: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const { url, output } = await whenReady(child, 'the service', 30_000)
  const service: Service = {
    url,
    env,
    pid: child.pid!,
    output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
    ...clientFor(url),
  }
  return service
}

/** fetch and the JSON request helper for a service at `url`. */
export function clientFor(url: string): Pick<Service, 'fetch' | 'call'> {
  return {
    fetch: (path, init) => fetch(url + path, init),
    call: (method, path, opts = {}) => {
      const headers: Record<string, string> = { ...opts.headers }
      if (opts.token) headers.authorization = `Bearer ${opts.token}`
      let body: string | undefined
      if (opts.json !== undefined) {
        headers['content-type'] = 'application/json'
        body = JSON.stringify(opts.json)
      } else if (opts.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded'
        body = new URLSearchParams(opts.form).toString()
      }
      return fetch(url + path, { method, headers, body })
    },
  }
}

export interface Tokens {
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
}

export async function login(service: Service, username: string, password: string): Promise<Tokens> {
  const res = await service.call('POST', '/api/auth/login', { json: { username, password } })
  if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as Tokens
}

let counter = 0
/** A fresh, policy-passing user created by the bootstrap admin; returns its credentials. */
export async function newUser(service: Service, adminToken: string, role: Role = 'user') {
  const username = `u${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`
  const password = `Pw-${randomBytes(9).toString('base64url')}`
  const email = `${username}@example.com`
  const res = await service.call('POST', '/api/users', { token: adminToken, json: { username, email, password, role } })
  if (res.status !== 201) throw new Error(`create ${username} failed: ${res.status} ${await res.text()}`)
  return { username, password, email, user: (await res.json()) as { id: string } }
}

/** A service for one test file, with the bootstrap admin logged in. */
export async function startWithAdmin(extra: Record<string, string> = {}): Promise<{ svc: Service; adminToken: string }> {
  const svc = await startService(extra)
  const adminToken = (await login(svc, ADMIN.username, ADMIN.password)).access_token
  return { svc, adminToken }
}
