// Owns loading function modules and reloading them after edits. Each "generation" is a tsx
// import namespace: all functions loaded in it share one copy of lib/, as a warm instance
// would keep its modules. An edit under api/ or lib/ starts a new generation, so the next
// request re-imports everything fresh; values kept on globalThis (a cached MongoClient)
// survive, exactly as they would across invocations of a warm Vercel instance.
import { watch, type FSWatcher } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { register, type NamespacedUnregister } from 'tsx/esm/api'
import type { VercelRequest, VercelResponse } from '@vercel/node'

export type NodeHandler = (req: VercelRequest, res: VercelResponse) => unknown

interface Generation {
  id: number
  namespace: NamespacedUnregister
  modules: Map<string, Promise<NodeHandler>>
}

export interface ModuleLoader {
  load(file: string): Promise<NodeHandler>
  /** forget loaded modules; the next load imports fresh copies */
  invalidate(): void
  /** runs after every change seen in a watched directory (to refresh routes and config) */
  onChange(listener: (path: string) => void): void
  close(): Promise<void>
}

// Namespaces are unique per process: several runners (tests) may live side by side.
let namespaceCounter = 0

function pickHandler(mod: unknown, file: string): NodeHandler {
  // CommonJS interop can nest the default export (`module.exports = { default }`); Vercel unwraps it too.
  let candidate = mod
  for (let i = 0; i < 5 && candidate && typeof candidate !== 'function'; i++) {
    candidate = (candidate as { default?: unknown }).default
  }
  if (typeof candidate !== 'function') {
    throw new Error(`${file}: the default export is not a function (req, res) => ...`)
  }
  return candidate as NodeHandler
}

export function createModuleLoader(root: string, options: { watch: boolean }): ModuleLoader {
  const parentURL = pathToFileURL(join(root, '/')).href
  const listeners: ((path: string) => void)[] = []
  const retired: Generation[] = []
  let current: Generation | undefined

  const generation = (): Generation => {
    if (!current) {
      const id = ++namespaceCounter
      current = { id, namespace: register({ namespace: `vercel-runner-${process.pid}-${id}` }), modules: new Map() }
    }
    return current
  }

  const invalidate = (): void => {
    if (current) retired.push(current)
    current = undefined
  }

  const watchers: FSWatcher[] = []
  if (options.watch) {
    for (const dir of ['api', 'lib']) {
      try {
        const watcher = watch(join(root, dir), { recursive: true }, (_event, filename) => {
          invalidate()
          for (const listener of listeners) listener(join(dir, filename ?? ''))
        })
        watcher.on('error', () => {})
        watchers.push(watcher)
      } catch {
        // A directory that does not exist has nothing to watch.
      }
    }
    // vercel.json sits in the root; watch only that file's changes, not the whole tree.
    try {
      const watcher = watch(root, (_event, filename) => {
        if (filename === 'vercel.json') for (const listener of listeners) listener('vercel.json')
      })
      watcher.on('error', () => {})
      watchers.push(watcher)
    } catch {
      // the root always exists; nothing to do otherwise
    }
  }

  return {
    load(file) {
      const gen = generation()
      const cached = gen.modules.get(file)
      if (cached) return cached
      const pending = gen.namespace
        .import(pathToFileURL(file).href, parentURL)
        .then((mod: unknown) => pickHandler(mod, file))
      gen.modules.set(file, pending)
      // A module that failed to load (say, a half-saved file) is cached as failed by Node within
      // its namespace; move on to a fresh generation so the next request tries again.
      pending.catch(() => {
        if (current === gen) invalidate()
      })
      return pending
    },
    invalidate,
    onChange(listener) {
      listeners.push(listener)
    },
    async close() {
      for (const w of watchers) w.close()
      if (current) retired.push(current)
      current = undefined
      await Promise.all(retired.map((g) => g.namespace.unregister()))
      retired.length = 0
    },
  }
}
