// `npm run build` is the real `vercel build`, offline: one function per api/ file and no local
// tooling in any bundle. The bundle check itself is tested on small synthetic outputs.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkBundles } from '../scripts/check-bundles.js'
import { checkHandlersLoad } from '../scripts/prebuilt/load-check.js'
import { listOutputFunctions } from '../scripts/prebuilt/output.js'
import { listFunctionFiles } from '../scripts/runner/functions.js'

const root = fileURLToPath(new URL('..', import.meta.url))

function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((done, reject) => {
    const child = spawn(command, args, { cwd, env: process.env })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => done({ code: code ?? 1, output }))
  })
}

describe('npm run build', () => {
  let result: { code: number; output: string }

  beforeAll(async () => {
    result = await run('npm', ['run', 'build'], root)
  }, 600_000)

  it('runs vercel build and the bundle check successfully', () => {
    expect(result.output).toContain('Build Completed')
    expect(result.output).toContain('bundle check passed')
    if (result.code !== 0) console.error(result.output)
    expect(result.code).toBe(0)
  })

  it('emits exactly one function per api/ file', () => {
    const expected = listFunctionFiles(root).map((f) => `${f.outputPath.slice(1)}.func`).sort()
    expect(expected.length).toBeGreaterThan(0)
    const report = checkBundles(root)
    expect(report.found).toEqual(expected)
  })

  it('gives every function the runtime of engines.node, with the settings of vercel.json', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
    const functions = listOutputFunctions(join(root, '.vercel', 'output'))
    expect(functions.length).toBeGreaterThan(0)
    for (const fn of functions) {
      expect(fn.config.runtime, fn.name).toBe(`nodejs${pkg.engines.node}`)
      expect(fn.config.maxDuration, fn.name).toBe(10)
    }
  })

  it('ships no dev code in any function', () => {
    const report = checkBundles(root)
    expect(report.devCode).toEqual([])
    expect(report.ok).toBe(true)
  })

  it('ships the driver as the one-file bundle of the build command, not as node_modules/mongodb', () => {
    const functions = listOutputFunctions(join(root, '.vercel', 'output'))
    const dbFunctions = functions.filter((fn) => existsSync(join(fn.dir, 'lib', 'db.js')))
    expect(dbFunctions.length).toBeGreaterThan(10)
    for (const fn of dbFunctions) {
      expect(existsSync(join(fn.dir, 'lib', 'vendor', 'mongodb.cjs')), fn.name).toBe(true)
      expect(existsSync(join(fn.dir, 'node_modules', 'mongodb')), fn.name).toBe(false)
      expect(existsSync(join(fn.dir, 'node_modules', 'whatwg-url')), fn.name).toBe(false)
    }
  })
})

describe('checkBundles', () => {
  let dir: string

  const put = (relative: string, text = '') => {
    const file = join(dir, relative)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, text)
  }
  const func = (name: string) => `.vercel/output/functions/${name}.func`

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'check-bundles-'))
    put('api/clean.ts')
    put('api/users/[id].ts')
    put('api/_helper.ts')
    put('api/stray.ts')
    put('api/imports.ts')
    put('api/missing.ts')
    put(`${func('api/clean')}/api/clean.js`, "import { x } from '../lib/x.js'\n// the runner and embedded-mongo are never imported\n")
    put(`${func('api/clean')}/node_modules/some-pkg/runner.js`)
    put(`${func('api/users/[id]')}/api/users/[id].js`)
    put(`${func('api/stray')}/api/stray.js`)
    put(`${func('api/stray')}/scripts/embedded-mongo/index.js`)
    put(`${func('api/stray')}/node_modules/mingo/dist/index.js`)
    put(`${func('api/imports')}/api/imports.js`, "const m = await import('../scripts/runner/index.js')\n")
    put(`${func('api/extra')}/api/extra.js`)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('lists expected, missing and unexpected functions', () => {
    const report = checkBundles(dir)
    expect(report.expected).toEqual([
      'api/clean.func',
      'api/imports.func',
      'api/missing.func',
      'api/stray.func',
      'api/users/[id].func',
    ])
    expect(report.missing).toEqual(['api/missing.func'])
    expect(report.unexpected).toEqual(['api/extra.func'])
    expect(report.ok).toBe(false)
  })

  it('flags scripts/, mingo and imports of local tooling, not look-alikes in packages or comments', () => {
    const findings = checkBundles(dir).devCode.map((d) => `${d.fn}: ${d.file}`)
    expect(findings).toEqual(
      expect.arrayContaining([
        'api/stray.func: scripts/embedded-mongo/index.js',
        'api/stray.func: node_modules/mingo/dist/index.js',
        'api/imports.func: api/imports.js → ../scripts/runner/index.js',
      ]),
    )
    expect(findings.filter((f) => f.startsWith('api/clean.func'))).toEqual([])
  })
})

describe('the load check (npm run build imports every handler from a copy outside the repository)', () => {
  let output: string

  const put = (relative: string, text = '') => {
    const file = join(output, relative)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, text)
  }
  const fn = (name: string, files: Record<string, string>) => {
    const dir = `functions/${name}.func`
    put(`${dir}/.vc-config.json`, JSON.stringify({ handler: `${name}.js`, launcherType: 'Nodejs' }))
    put(`${dir}/package.json`, '{"type":"module"}')
    for (const [path, text] of Object.entries(files)) put(`${dir}/${path}`, text)
  }

  beforeAll(() => {
    output = mkdtempSync(join(tmpdir(), 'load-check-'))
    put('config.json', '{"version":3}')
    fn('api/ok', {
      'api/ok.js': "import { greet } from '../lib/greet.js'\nexport default (req, res) => res.end(greet())\n",
      'lib/greet.js': "export const greet = () => 'hi'\nexport const later = () => import('present-pkg')\n",
      'node_modules/present-pkg/package.json': '{"name":"present-pkg","main":"index.js"}',
      'node_modules/present-pkg/index.js': 'module.exports = 1\n',
    })
    fn('api/static-missing', { 'api/static-missing.js': "import x from 'absent-pkg'\nexport default () => x\n" })
    fn('api/lazy-missing', {
      'api/lazy-missing.js': "import { policy } from '../lib/policy.js'\nexport default () => policy()\n",
      // What the common-password list looked like: a require that only runs on first use.
      'lib/policy.js': "import { createRequire } from 'node:module'\nexport function policy() {\n  const require = createRequire(import.meta.url)\n  return require('absent-list/list.js')\n}\n",
    })
    fn('api/no-handler', { 'api/no-handler.js': 'export const x = 1\n' })
  })
  afterAll(() => rmSync(output, { recursive: true, force: true }))

  it('passes a function whose modules are all in its bundle, and names each missing module', async () => {
    const failures = await checkHandlersLoad(output)
    const byFn = Object.fromEntries(failures.map((f) => [f.fn, f]))
    expect(byFn['api/ok']).toBeUndefined()
    expect(byFn['api/static-missing']).toMatchObject({ what: 'handler' })
    expect(byFn['api/static-missing']!.message).toContain('absent-pkg')
    expect(byFn['api/lazy-missing']).toMatchObject({ what: 'lib/policy.js → absent-list/list.js' })
    expect(byFn['api/lazy-missing']!.message).toContain('absent-list')
    expect(byFn['api/no-handler']).toMatchObject({ what: 'handler', message: 'exports no handler function' })
    expect(failures).toHaveLength(3)
  })
})
