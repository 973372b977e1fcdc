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

// Issue 16 ("lib/ without HTTP"): domain modules that still import the request wrapper. The list
// only shrinks: the last test fails when a file here stops importing it, so it cannot go stale.
//   auth.ts, login.ts: record the caller and audit events in the request context; they should
//     return them (as users.ts and reset.ts do) for the handler to record.
const HTTP_IMPORT_EXCEPTIONS = ['lib/auth.ts', 'lib/login.ts']

describe('the import rule (docs/ARCHITECTURE.md)', () => {
  it('reads the imports it checks', () => {
    // Without this, a parser that found nothing would pass every rule below.
    expect(deployed).toContain('api/users/me.ts')
    expect(importsOf('api/users/me.ts')).toEqual(expect.arrayContaining(['lib/http.ts', 'lib/auth.ts', 'lib/users.ts']))
    expect(importsOf('lib/http.ts')).toEqual(expect.arrayContaining(['lib/db.ts', 'lib/problem.ts']))
    expect(importsOf('test/helpers/global-setup.ts')).toContain('scripts/embedded-mongo/index.ts')
  })

  it('nothing in api/ or lib/ imports dev code (scripts/, bench/, test/)', () => {
    expect(edges.filter((e) => isDevCode(e.to))).toEqual([])
  })

  it('lib/ never imports api/', () => {
    expect(edges.filter((e) => e.from.startsWith('lib/') && e.to.startsWith('api/'))).toEqual([])
  })

  it('only handlers and the wrapper itself import the HTTP layer (lib/http)', () => {
    const offending = edges.filter(
      (e) => isHttpLayer(e.to) && !e.from.startsWith('api/') && !isHttpLayer(e.from) && !HTTP_IMPORT_EXCEPTIONS.includes(e.from),
    )
    expect(offending).toEqual([])
  })

  it('lists as exceptions only modules that still import the HTTP layer', () => {
    const stillImporting = HTTP_IMPORT_EXCEPTIONS.filter((file) => importsOf(file).some(isHttpLayer))
    expect(stillImporting, 'drop the files that no longer import lib/http from HTTP_IMPORT_EXCEPTIONS').toEqual(HTTP_IMPORT_EXCEPTIONS)
  })
})
