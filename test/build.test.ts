// `npm run build` is the real `vercel build`, offline: one function per api/ file and no local
// tooling in any bundle. The bundle check itself is tested on small synthetic outputs.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkBundles } from '../scripts/check-bundles.js'
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

  it('ships no dev code in any function', () => {
    const report = checkBundles(root)
    expect(report.devCode).toEqual([])
    expect(report.ok).toBe(true)
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
