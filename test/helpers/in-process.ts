// The service in the test's own process, on a clock the test moves: the local runner serving
// api/ (as `npm run dev` does) against the test run's database, with lib/clock.ts replaced by a
// manual clock. For what only time shows (the refresh reuse grace, throttle windows, reset link
// expiry) without sleeping, a second service with other settings, or writing expired rows.
// One per test file (it sets the process's environment). Not run in the prebuilt lane: a
// built function in another process has its own clock.
import { manualClock, setClock } from '../../lib/clock.js'
import { startRunner } from '../../scripts/runner/index.js'
import { ensureFirstAdmin } from '../../scripts/first-admin.js'
import { ADMIN, clientFor, login, testEnv, type Service } from './service.js'

export type ClockedService = Service & {
  /** Moves the service's time forward. */
  advance(ms: number): void
  /** The service's time now (milliseconds since the epoch). */
  nowMs(): number
  /** A fresh access token of the first admin (an older one may have expired as time moved). */
  admin(): Promise<string>
}

export async function startClocked(extra: Record<string, string> = {}): Promise<ClockedService> {
  const env = testEnv({ LOG_LEVEL: 'info', ...extra })
  Object.assign(process.env, env)
  const clock = manualClock()
  setClock(clock)
  // The log lines the functions write, kept for assertions as a child's output would be.
  let output = ''
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    output += chunk.toString()
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest)
  }) as typeof process.stdout.write
  await ensureFirstAdmin(process.env)
  const runner = await startRunner({ root: process.cwd(), port: 0, watch: false })
  const base = { url: runner.url, env, pid: process.pid, output: () => output, ...clientFor(runner.url) }
  return {
    ...base,
    admin: async () => (await login(base as Service, ADMIN.username, ADMIN.password)).access_token,
    advance: (ms) => clock.advance(ms),
    nowMs: () => clock.nowMs(),
    async stop() {
      await runner.close()
      process.stdout.write = write
      setClock(undefined)
    },
  }
}
