// The import rule of docs/ARCHITECTURE.md, read from the sources: api/ handlers over the request
// wrapper (lib/http) over the domain modules of lib/ over lib/db. Dev code (scripts/, bench/,
// test/) ships in no function, so nothing deployed may import it (Vercel bundles what each
// function reaches); lib/ never reaches up into api/; and only handlers and the wrapper itself
// touch the HTTP layer.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..')

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.ts$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort()
}

// Static imports and re-exports, `import type` included (a type import still couples the layers,
// even if it ships nothing), dynamic import() and require(); comments are stripped first so
// prose naming a path is not mistaken for an import.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g

/** The repository files a source imports by relative path (packages are not followed). */
function importsOf(file: string): string[] {
  const source = readFileSync(join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
  const found = new Set<string>()
  for (const [, , specifier] of source.matchAll(SPECIFIER)) {
    if (!specifier!.startsWith('.')) continue
    found.add(relative(ROOT, resolve(ROOT, dirname(file), specifier!)).replace(/\.js$/, '.ts'))
  }
  return [...found].sort()
}

const deployed = [...sourcesUnder('api'), ...sourcesUnder('lib')]
const edges = deployed.flatMap((from) => importsOf(from).map((to) => ({ from, to })))

const isDevCode = (path: string) => /^(scripts|bench|test)\//.test(path)
const isHttpLayer = (path: string) => path === 'lib/http.ts' || path.startsWith('lib/http/')

describe('the import rule (docs/ARCHITECTURE.md)', () => {
  it('reads the imports it checks', () => {
    // Without this, a parser that found nothing would pass every rule below.
    expect(deployed).toContain('api/users/me.ts')
    expect(importsOf('api/users/me.ts')).toEqual(expect.arrayContaining(['lib/http/index.ts', 'lib/users.ts']))
    expect(importsOf('lib/http/route.ts')).toEqual(expect.arrayContaining(['lib/context.ts', 'lib/problem.ts']))
    expect(importsOf('test/helpers/global-setup.ts')).toContain('scripts/embedded-mongo/index.ts')
  })

  it('nothing in api/ or lib/ imports dev code (scripts/, bench/, test/)', () => {
    expect(edges.filter((e) => isDevCode(e.to))).toEqual([])
  })

  it('lib/ never imports api/', () => {
    expect(edges.filter((e) => e.from.startsWith('lib/') && e.to.startsWith('api/'))).toEqual([])
  })

  it('only handlers and the wrapper itself import the HTTP layer (lib/http)', () => {
    const offending = edges.filter((e) => isHttpLayer(e.to) && !e.from.startsWith('api/') && !isHttpLayer(e.from))
    expect(offending).toEqual([])
  })

  it('the request context (lib/context.ts) is read only by the wrapper and the database accounting', () => {
    // Domain modules take the caller and client as arguments and return their events: were they
    // to reach the context, where an event is recorded would be hidden again.
    const offending = edges.filter((e) => e.to === 'lib/context.ts' && !isHttpLayer(e.from) && e.from !== 'lib/db.ts')
    expect(offending).toEqual([])
  })

  it('lib/audit.ts and the HTTP layer do not import each other both ways', () => {
    expect(importsOf('lib/audit.ts').filter(isHttpLayer)).toEqual([])
  })

  it('problems are made only in lib/problem.ts, by its factories', () => {
    const makers = [...deployed, ...sourcesUnder('scripts')].filter((f) => f !== 'lib/problem.ts' && /new Problem\(/.test(readFileSync(join(ROOT, f), 'utf8')))
    expect(makers).toEqual([])
  })

  it('one pool of password workers: only lib/passwords.ts starts worker threads', () => {
    const starters = [...deployed, ...sourcesUnder('scripts')].filter((f) => /new Worker\(/.test(readFileSync(join(ROOT, f), 'utf8')))
    expect(starters).toEqual(['lib/passwords.ts'])
  })

  it('api/ and lib/ import only runtime dependencies (dotenv and other dev tools stay local)', () => {
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    const packages = new Set<string>()
    for (const file of deployed) {
      const source = readFileSync(join(ROOT, file), 'utf8')
      for (const [, , specifier] of source.matchAll(SPECIFIER)) {
        if (specifier!.startsWith('.') || specifier!.startsWith('node:')) continue
        const parts = specifier!.split('/')
        packages.add(specifier!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!)
      }
    }
    expect(packages.has('mongodb')).toBe(true)
    expect([...packages].filter((name) => !(name in dependencies))).toEqual([])
  })
})
