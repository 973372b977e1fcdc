// Checks the output of `vercel build`: exactly one function (.func) per api/ file, and no local
// tooling inside any function bundle. Vercel ships whatever a function reaches by import
// (Node File Trace), so one stray import of the runner or the embedded database would deploy it.
// CLI: `node --import tsx scripts/check-bundles.ts [--root DIR]`; exits 1 on any problem.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { IMPORT_SPECIFIER } from './prebuilt/load-check.js'
import { listFunctionFiles } from './runner/functions.js'

export interface DevCodeFinding {
  /** the function, e.g. `api/users/index.func` */
  fn: string
  /** the offending file inside it (or the import found in one of its files) */
  file: string
  reason: string
}

export interface BundleReport {
  /** `.func` directories expected from api/, relative to .vercel/output/functions */
  expected: string[]
  /** `.func` directories found */
  found: string[]
  missing: string[]
  unexpected: string[]
  devCode: DevCodeFinding[]
  /** files served as static assets (not a failure, but worth seeing: they are public) */
  staticFiles: string[]
  ok: boolean
}

// Paths inside a bundle that can only come from local tooling.
// The name rules apply to our own files only: packages may well have a `runner.js` of their own.
const DEV_PATHS: { test: RegExp; reason: string; ownCodeOnly?: boolean }[] = [
  { test: /^scripts\//, reason: 'file from scripts/ (local tooling)' },
  { test: /(^|\/)node_modules\/mingo\//, reason: 'mingo (embedded database dependency)' },
  { test: /(^|\/)embedded-mongo(\/|\.|$)/, reason: 'embedded database code', ownCodeOnly: true },
  { test: /(^|\/)runner(\/|\.|$)/, reason: 'local runner code', ownCodeOnly: true },
]

// Import specifiers that would pull local tooling in at run time even if the tracer missed them.
const DEV_SPECIFIERS: { test: RegExp; reason: string }[] = [
  { test: /(^|\/)scripts\//, reason: 'imports from scripts/' },
  { test: /^mingo(\/|$)/, reason: 'imports mingo' },
  { test: /embedded-mongo/, reason: 'imports the embedded database' },
  { test: /(^|\/)runner(\/|\.|$)/, reason: 'imports the local runner' },
]

function walk(dir: string, onFile: (path: string) => void, onDir?: (path: string) => boolean): void {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    const stat = lstatSync(full)
    if (stat.isDirectory()) {
      if (!onDir || onDir(full)) walk(full, onFile, onDir)
    } else {
      onFile(full)
    }
  }
}

function toPosix(path: string): string {
  return path.split(sep).join('/')
}

function scanFunction(funcDir: string, fnName: string, findings: DevCodeFinding[]): void {
  const check = (path: string) => {
    const isPackage = path.includes('node_modules/')
    for (const rule of DEV_PATHS) {
      if (rule.ownCodeOnly && isPackage) continue
      if (rule.test.test(path)) {
        findings.push({ fn: fnName, file: path, reason: rule.reason })
        return
      }
    }
  }
  walk(funcDir, (full) => {
    const path = toPosix(relative(funcDir, full))
    check(path)
    // Our own compiled sources: look at what they import. node_modules is judged by path only.
    if (!path.includes('node_modules/') && /\.(m?js|cjs)$/.test(path)) {
      const text = readFileSync(full, 'utf8')
      for (const m of text.matchAll(IMPORT_SPECIFIER)) {
        const specifier = m[2]!
        const rule = DEV_SPECIFIERS.find((r) => r.test.test(specifier))
        if (rule) findings.push({ fn: fnName, file: `${path} → ${specifier}`, reason: rule.reason })
      }
    }
  })
  // A function may also reference files outside its directory (prebuilt outputs use filePathMap).
  const configPath = join(funcDir, '.vc-config.json')
  if (existsSync(configPath)) {
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as { filePathMap?: Record<string, string> }
    for (const [target, source] of Object.entries(config.filePathMap ?? {})) {
      check(target)
      check(source)
    }
  }
}

export function checkBundles(rootDir: string = process.cwd()): BundleReport {
  const root = resolve(rootDir)
  const output = join(root, '.vercel', 'output')
  const functionsDir = join(output, 'functions')
  const expected = listFunctionFiles(root).map((f) => `${f.outputPath.slice(1)}.func`).sort()
  const found: string[] = []
  const devCode: DevCodeFinding[] = []
  if (existsSync(functionsDir)) {
    walk(
      functionsDir,
      () => {},
      (dir) => {
        if (!dir.endsWith('.func')) return true
        const name = toPosix(relative(functionsDir, dir))
        found.push(name)
        scanFunction(dir, name, devCode)
        return false
      },
    )
  }
  found.sort()
  const staticFiles: string[] = []
  const staticDir = join(output, 'static')
  if (existsSync(staticDir)) walk(staticDir, (full) => staticFiles.push(toPosix(relative(staticDir, full))))
  const missing = expected.filter((e) => !found.includes(e))
  const unexpected = found.filter((f) => !expected.includes(f))
  return {
    expected,
    found,
    missing,
    unexpected,
    devCode,
    staticFiles: staticFiles.sort(),
    ok: missing.length === 0 && unexpected.length === 0 && devCode.length === 0 && existsSync(functionsDir),
  }
}

/** Human-readable lines for a report; problems first. */
export function describeReport(report: BundleReport): string[] {
  const lines: string[] = []
  if (report.found.length === 0) lines.push('no functions in .vercel/output/functions (did `vercel build` run?)')
  for (const m of report.missing) lines.push(`missing function: ${m} (api/ has a file for it)`)
  for (const u of report.unexpected) lines.push(`unexpected function: ${u} (no api/ file for it)`)
  for (const d of report.devCode) lines.push(`dev code in ${d.fn}: ${d.file} (${d.reason})`)
  if (report.ok) lines.push(`bundle check passed: ${report.found.length} functions, one per api/ file, no dev code`)
  const sourceLike = report.staticFiles.filter((f) => /\.(ts|tsx|mjs|cjs|js|json)$/.test(f) || f.startsWith('.'))
  if (sourceLike.length > 0) {
    lines.push(
      `warning: ${sourceLike.length} source/config files are in .vercel/output/static and would be publicly served ` +
        `(e.g. ${sourceLike.slice(0, 5).join(', ')}); exclude them with .vercelignore`,
    )
  }
  return lines
}

function main(): void {
  const { values } = parseArgs({ options: { root: { type: 'string' }, help: { type: 'boolean' } } })
  if (values.help) {
    process.stdout.write('Usage: node --import tsx scripts/check-bundles.ts [--root DIR]\n')
    return
  }
  const report = checkBundles(values.root ?? process.cwd())
  for (const line of describeReport(report)) (report.ok ? process.stdout : process.stderr).write(`${line}\n`)
  if (!report.ok) process.exit(1)
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main()
