// The repository stands alone: its Markdown links lead to files that exist in it. A link that
// climbs out of the checkout (the README once pointed at ../shared/CONTRACT.md) or names a
// missing file is broken in every clone.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

/** Link targets of a Markdown text outside code: inline `[text](target)` and `[ref]: target`. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '')
  const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!)
  const references = [...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!)
  return [...inline, ...references]
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')

it('finds the links it checks', () => {
  expect(linkTargets('see [a](docs/A.md "t") and [b](https://x.example) `[c](nope.md)`\n[d]: ../e.md\n')).toEqual(['docs/A.md', 'https://x.example', '../e.md'])
})

it.each(FILES)('%s links only to files inside the repository that exist', (file) => {
  const broken: string[] = []
  for (const target of linkTargets(readFileSync(join(ROOT, file), 'utf8'))) {
    if (isExternal(target) || target.startsWith('#')) continue
    const path = resolve(dirname(join(ROOT, file)), decodeURI(target.split('#')[0]!))
    const inside = !relative(ROOT, path).startsWith('..')
    if (!inside) broken.push(`${target} leaves the repository`)
    else if (!existsSync(path)) broken.push(`${target} does not exist`)
  }
  expect(broken).toEqual([])
})
