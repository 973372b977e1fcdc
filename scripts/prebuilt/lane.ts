// `npm run test:prebuilt`: the HTTP tests against what Vercel runs. Builds with the real
// `vercel build` (npm run build, which also loads every handler from a copied-out bundle), copies
// .vercel/output out of the repository, then runs the same test files as `npm test` with
// TEST_TARGET=prebuilt, so each test's service is the built functions under @vercel/node's
// launcher, in production mode, on the Node this runs on (24 through npm, as Vercel's nodejs24.x).
// Local tooling only.
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { copyOutput } from './output.js'

const HELP = `Usage: npm run test:prebuilt [-- --no-build] [vitest arguments]

  --no-build   use the existing .vercel/output instead of building first
Other arguments go to vitest (e.g. a test file to run only that one).
`

// Every test file that talks to the service over HTTP. The runner's own tests, the build and
// the embedded database's tests have no service to point elsewhere.
export const HTTP_TEST_DIRS = ['test/auth', 'test/account', 'test/users', 'test/docs', 'test/service', 'test/seed', 'test/load']

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env })
    child.on('error', reject)
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP)
    return
  }
  const build = !args.includes('--no-build')
  const vitestArgs = args.filter((a) => a !== '--no-build')
  if (build) {
    const code = await run('npm', ['run', 'build'])
    if (code !== 0) process.exit(code)
  }
  const output = copyOutput(process.cwd())
  process.stdout.write(`test:prebuilt: build output copied to ${output}; tests run on Node ${process.versions.node}\n`)
  const targets = vitestArgs.some((a) => !a.startsWith('-')) ? vitestArgs : [...HTTP_TEST_DIRS, ...vitestArgs]
  // Each function's first request starts a process under @vercel/node's launcher, which loads
  // the TypeScript compiler (ts-morph) before the function: seconds on a busy machine, paid by
  // whichever test first calls that function. More time per test, not different assertions.
  const timeouts = ['--testTimeout=120000', '--hookTimeout=180000']
  const code = await run(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...timeouts, ...targets], {
    ...process.env,
    TEST_TARGET: 'prebuilt',
    PREBUILT_OUTPUT: output,
  })
  rmSync(output, { recursive: true, force: true })
  process.exit(code)
}

main().catch((err: unknown) => {
  process.stderr.write(`test:prebuilt: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
