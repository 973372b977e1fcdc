// Edits are picked up without a restart: function files, lib/ modules, new files and
// vercel.json, while globalThis state survives like in a warm instance. Works on a temporary
// copy of the fixture app so the committed fixture never changes.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest'
import { startRunner, type Runner } from '../../scripts/runner/index.js'

const fixture = fileURLToPath(new URL('../fixtures/runner-app', import.meta.url))

let dir: string
let runner: Runner

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runner-reload-'))
  cpSync(fixture, dir, { recursive: true })
  // Outside the repository the copy needs its own marker to stay ESM.
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n')
  runner = await startRunner({ root: dir, port: 0, watch: true })
})
afterAll(async () => {
  await runner.close()
  rmSync(dir, { recursive: true, force: true })
})

async function getJson(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(runner.url + path, { redirect: 'manual' })
  return { status: res.status, ...(res.headers.get('content-type')?.startsWith('application/json') ? ((await res.json()) as object) : {}) }
}

function edit(relative: string, change: (text: string) => string): void {
  const file = join(dir, relative)
  writeFileSync(file, change(readFileSync(file, 'utf8')))
}

const poll = { timeout: 10_000, interval: 50 }

describe('reloading', () => {
  it('picks up an edited function file', async () => {
    expect((await getJson('/api/hello')).route).toBe('hello')
    edit('api/hello.ts', (t) => t.replace("describe('hello')", "describe('hello, edited')"))
    await expect.poll(async () => (await getJson('/api/hello')).route, poll).toBe('hello, edited')
  })

  it('picks up an edited lib/ module and keeps globalThis state', async () => {
    const before = await getJson('/api/state')
    expect(before.message).toBe('original')
    const second = await getJson('/api/state')
    expect(second.moduleHits).toBe((before.moduleHits as number) + 1)

    edit('lib/message.ts', (t) => t.replace("'original'", "'edited'"))
    await expect.poll(async () => (await getJson('/api/state')).message, poll).toBe('edited')
    const after = await getJson('/api/state')
    // Module state starts over with the fresh modules; globalThis lives on, as in a warm instance.
    // (the fresh module counted only the hits since the reload; globalThis counted them all)
    expect((after.globalHits as number) - (after.moduleHits as number)).toBeGreaterThanOrEqual(second.globalHits as number)
  })

  it('routes a new file without a restart', async () => {
    expect((await getJson('/api/added')).status).toBe(404)
    writeFileSync(
      join(dir, 'api', 'added.ts'),
      "export default function handler(_req: unknown, res: { json(v: unknown): void }): void { res.json({ route: 'added' }) }\n",
    )
    await expect.poll(async () => (await getJson('/api/added')).route, poll).toBe('added')
  })

  it('recovers from a broken edit once the file is fixed', async () => {
    // The runner logs the syntax error; keep it out of the test output.
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    onTestFinished(() => logged.mockRestore())
    edit('api/index.ts', (t) => t.replace("res.json({ route: 'index' })", 'res.json({ route: '))
    await expect.poll(async () => (await getJson('/api')).status, poll).toBe(500)
    edit('api/index.ts', (t) => t.replace('res.json({ route: ', "res.json({ route: 'index, fixed' })"))
    await expect.poll(async () => (await getJson('/api')).route, poll).toBe('index, fixed')
  })

  it('picks up vercel.json changes: a new rewrite, and cleanUrls turned off', async () => {
    expect((await getJson('/hi-there')).status).toBe(404)
    expect((await getJson('/api/hello.ts')).status).toBe(308)
    edit('vercel.json', (t) => {
      const config = JSON.parse(t) as { cleanUrls?: boolean; rewrites: unknown[] }
      delete config.cleanUrls
      config.rewrites.push({ source: '/hi-there', destination: '/api/hello' })
      return JSON.stringify(config, null, 2)
    })
    await expect.poll(async () => (await getJson('/hi-there')).status, poll).toBe(200)
    // Without cleanUrls, Vercel serves the file path with its extension and index paths as they are.
    expect((await getJson('/api/hello.ts')).status).toBe(200)
    expect((await getJson('/api/things/index')).route).toBe('things')
  })
})
