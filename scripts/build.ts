// `npm run build`: the real `vercel build`, run offline with the vercel CLI from node_modules,
// then the bundle check (one function per api/ file, no local tooling in any bundle) and the
// load check (every handler, and every module it loads on first use, imported from a copy of
// the output made outside the repository). Writes .vercel/output; never deploys, never needs a
// Vercel login.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { checkBundles, describeReport } from './check-bundles.js'
import { checkHandlersLoad } from './prebuilt/load-check.js'
import { copyOutput } from './prebuilt/output.js'

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

// `vercel build` runs the Node.js builder once per function, and each run prints the same notes
// and warnings ("Using TypeScript ...", engines warnings): each distinct line is printed once.
function printOnce(stream: NodeJS.ReadableStream, out: NodeJS.WritableStream, seen: Set<string>): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    if (line.trim() !== '' && seen.has(line)) return
    seen.add(line)
    out.write(`${line}\n`)
  })
}

function runVercelBuild(root: string): Promise<number> {
  return new Promise((done, reject) => {
    const child = spawn('npx', ['--no-install', 'vercel', 'build', '--yes'], {
      cwd: root,
      stdio: ['inherit', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // The Node.js builder would run `npm install` again; dependencies are installed and we are offline.
        VERCEL_INSTALL_COMPLETED: '1',
        VERCEL_TELEMETRY_DISABLED: '1',
        NO_UPDATE_NOTIFIER: '1',
      },
    })
    const seen = new Set<string>()
    printOnce(child.stdout!, process.stdout, seen)
    printOnce(child.stderr!, process.stderr, seen)
    child.on('error', reject)
    child.on('close', (code, signal) => done(code ?? (signal ? 1 : 0)))
  })
}

/** Imports every handler from a copy outside the repository; the failures, one line each. */
async function loadCheck(root: string): Promise<string[]> {
  const copy = copyOutput(root)
  try {
    const failures = await checkHandlersLoad(copy)
    return failures.map((f) => `cannot load ${f.fn} (${f.what}): ${f.message}`)
  } finally {
    rmSync(copy, { recursive: true, force: true })
  }
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

  const failures = await loadCheck(root)
  for (const line of failures) process.stderr.write(`build: ${line}\n`)
  if (failures.length > 0) fail('a function cannot load its code from the build output (see above); trace it with a literal import or vercel.json includeFiles')
  process.stdout.write(`build: load check passed: every handler and every module it loads later imports from a copy outside the repository\n`)
}

main().catch((err: unknown) => fail((err as Error).stack ?? String(err)))
