// `npm run build`: the real `vercel build`, run offline with the vercel CLI from node_modules,
// then the bundle check (one function per api/ file, no local tooling in any bundle).
// Writes .vercel/output; never deploys, never needs a Vercel login.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkBundles, describeReport } from './check-bundles.js'

const HELP = `Usage: npm run build

Runs \`vercel build --yes\` offline (no login: a local project stub is written to
.vercel/project.json when none is linked), then checks .vercel/output/functions.
`

// What `vercel build` needs to run without a linked project. The empty build and install
// commands matter: with framework "Other" Vercel would otherwise run `npm run build` (this
// script, recursively) and expect a public/ directory, and would try an `npm install`.
const PROJECT_STUB = {
  projectId: 'local',
  orgId: 'local',
  settings: { framework: null, buildCommand: '', installCommand: '' },
}

function fail(message: string): never {
  process.stderr.write(`build: ${message}\n`)
  process.exit(1)
}

function runVercelBuild(root: string): Promise<number> {
  return new Promise((done, reject) => {
    const child = spawn('npx', ['--no-install', 'vercel', 'build', '--yes'], {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        // The Node.js builder would run `npm install` again; dependencies are installed and we are offline.
        VERCEL_INSTALL_COMPLETED: '1',
        VERCEL_TELEMETRY_DISABLED: '1',
        NO_UPDATE_NOTIFIER: '1',
      },
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)))
  })
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP)
    return
  }
  // `vercel build` runs the project's build command; if that is this script (Vercel's default
  // for an "Other" project with a build script), building again would recurse. Vercel builds the
  // functions itself there, so there is nothing to do.
  if (process.env.VERCEL === '1' || process.env.NOW_BUILDER === '1') {
    process.stdout.write('build: inside a Vercel build; the functions are built by Vercel, nothing to do\n')
    return
  }
  const root = process.cwd()
  const projectFile = join(root, '.vercel', 'project.json')
  if (!existsSync(projectFile)) {
    mkdirSync(join(root, '.vercel'), { recursive: true })
    writeFileSync(projectFile, `${JSON.stringify(PROJECT_STUB, null, 2)}\n`)
    process.stdout.write('build: wrote a local project stub to .vercel/project.json (no Vercel login needed)\n')
  }

  const code = await runVercelBuild(root)
  if (code !== 0) fail(`vercel build failed (exit ${code})`)

  const report = checkBundles(root)
  for (const line of describeReport(report)) (report.ok ? process.stdout : process.stderr).write(`build: ${line}\n`)
  if (!report.ok) fail('the build output failed the bundle check (see above)')
}

main().catch((err: unknown) => fail((err as Error).stack ?? String(err)))
