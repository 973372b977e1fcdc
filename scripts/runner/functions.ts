// Owns the filesystem half of Vercel's routing: which files under api/ are functions, the
// path each one is served at, and the dynamic ([param]) routes Vercel generates for them.
// Shared with scripts/check-bundles.ts so the runner and the build check agree on the list.
import { readdirSync, type Dirent } from 'node:fs'
import { join, relative, sep } from 'node:path'

// Vercel's zero-config Node.js builder picks these up under api/ (api/**/*.+(js|mjs|ts|tsx)).
export const FUNCTION_EXTENSIONS = ['.ts', '.tsx', '.js', '.mjs'] as const

export interface FunctionEntry {
  /** absolute path of the source file */
  file: string
  /** path relative to the project root with forward slashes, e.g. `api/things/[id].ts` */
  source: string
  /** output path without extension, e.g. `/api/things/[id]`; also the `.func` name in the build output */
  outputPath: string
  extension: string
}

export interface DynamicRoute {
  regex: RegExp
  paramNames: string[]
  fn: FunctionEntry
}

export interface FunctionTable {
  entries: FunctionEntry[]
  /** output path → entry, for the filesystem phase */
  byPath: Map<string, FunctionEntry>
  /** generated routes for files with [param] segments, most specific first */
  dynamic: DynamicRoute[]
  /** extensions in use, for the cleanUrls `/api/x.ts` redirect Vercel generates */
  extensions: string[]
}

function isFunctionFile(name: string): string | undefined {
  // Vercel ignores `_` and `.` prefixed files (helpers that must live in api/) and type declarations.
  if (name.startsWith('_') || name.startsWith('.') || name.endsWith('.d.ts')) return undefined
  return FUNCTION_EXTENSIONS.find((ext) => name.endsWith(ext))
}

/** Lists the function source files under `<root>/api`, sorted, the way Vercel's zero config does. */
export function listFunctionFiles(root: string): FunctionEntry[] {
  const apiDir = join(root, 'api')
  const found: FunctionEntry[] = []
  const walk = (dir: string): void => {
    let items: Dirent[]
    try {
      items = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const item of items) {
      const full = join(dir, item.name)
      if (item.isDirectory()) {
        // A `_` or `.` directory is private to the functions beside it; node_modules is never routed.
        if (item.name.startsWith('_') || item.name.startsWith('.') || item.name === 'node_modules') continue
        walk(full)
        continue
      }
      if (!item.isFile()) continue
      const extension = isFunctionFile(item.name)
      if (!extension) continue
      const source = relative(root, full).split(sep).join('/')
      found.push({ file: full, source, outputPath: '/' + source.slice(0, -extension.length), extension })
    }
  }
  walk(apiDir)
  return found.sort((a, b) => a.source.localeCompare(b.source))
}

const DYNAMIC_SEGMENT = /^\[([A-Za-z_$][\w$]*)\]$/

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function toDynamicRoute(fn: FunctionEntry): DynamicRoute | undefined {
  const segments = fn.outputPath.split('/').slice(1)
  if (!segments.some((s) => DYNAMIC_SEGMENT.test(s))) return undefined
  // `api/things/[id]/index.ts` is served at /api/things/:id, like a static index.
  if (segments.length > 1 && segments[segments.length - 1] === 'index') segments.pop()
  const paramNames: string[] = []
  const parts = segments.map((segment, i) => {
    const m = DYNAMIC_SEGMENT.exec(segment)
    if (m) {
      paramNames.push(m[1]!)
      return '([^/]+)'
    }
    const literal = escapeRegex(segment)
    // The routes Vercel emits accept a trailing slash after a static last segment
    // (`^/api/things/([^/]+)/(parts/|parts)$`) but not after a dynamic one.
    return i === segments.length - 1 ? `(?:${literal}/|${literal})` : literal
  })
  return { regex: new RegExp(`^/${parts.join('/')}$`), paramNames, fn }
}

// Most specific first: compare segment by segment, a static segment beating a dynamic one,
// then the longer route. Static files never reach this list (they win in the filesystem phase).
function compareSpecificity(a: DynamicRoute, b: DynamicRoute): number {
  const sa = a.fn.outputPath.split('/')
  const sb = b.fn.outputPath.split('/')
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const da = DYNAMIC_SEGMENT.test(sa[i]!)
    const db = DYNAMIC_SEGMENT.test(sb[i]!)
    if (da !== db) return da ? 1 : -1
  }
  return sb.length - sa.length || a.fn.source.localeCompare(b.fn.source)
}

export function buildFunctionTable(root: string): FunctionTable {
  const entries = listFunctionFiles(root)
  const byPath = new Map<string, FunctionEntry>()
  for (const entry of entries) {
    // Two files for one path (hello.ts and hello.js): Vercel fails the build; we keep the first.
    if (!byPath.has(entry.outputPath)) byPath.set(entry.outputPath, entry)
  }
  const dynamic = entries
    .map(toDynamicRoute)
    .filter((r): r is DynamicRoute => r !== undefined)
    .sort(compareSpecificity)
  const extensions = [...new Set(entries.map((e) => e.extension))]
  return { entries, byPath, dynamic, extensions }
}

/**
 * The filesystem phase: an exact function path, or a directory whose `index` file is a
 * function. A single trailing slash is tolerated, as Vercel serves `/x/` like `/x` unless
 * `trailingSlash` says otherwise (which redirects before this phase).
 */
export function lookupFunction(
  table: FunctionTable,
  pathname: string,
  options: { allowExtension: boolean },
): FunctionEntry | undefined {
  const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname
  const direct = table.byPath.get(path) ?? table.byPath.get(path === '/' ? '/index' : `${path}/index`)
  if (direct) return direct
  // Without cleanUrls, Vercel also serves `/api/hello.ts` (its "miss" route strips the extension);
  // with cleanUrls it redirects that path instead, before the filesystem is consulted.
  if (options.allowExtension) {
    const ext = table.extensions.find((e) => path.endsWith(e))
    if (ext) return table.byPath.get(path.slice(0, -ext.length))
  }
  return undefined
}
