// Routing of a build's `config.json` (Build Output API v3), as Vercel's proxy applies it: the
// routes before `{"handle": "filesystem"}` (redirects, headers), then the files and functions,
// then the routes after it (rewrites, dynamic routes; `check` looks the destination up again),
// and when nothing matched, the `error` phase. Pure: the host (host.ts) says what exists.
// Local tooling only.

export interface BuildRoute {
  src?: string
  dest?: string
  headers?: Record<string, string>
  status?: number
  methods?: string[]
  continue?: boolean
  check?: boolean
  caseSensitive?: boolean
  handle?: string
}

export type FilesystemHit = { kind: 'function'; name: string } | { kind: 'static'; file: string }

/** What the deployment holds at a path: a function (by name) or a static file, or nothing. */
export type Filesystem = (pathname: string) => FilesystemHit | undefined

export type Resolution =
  | (FilesystemHit & { query: URLSearchParams; headers: Record<string, string>; status?: number })
  | { kind: 'status'; status: number; headers: Record<string, string>; query: URLSearchParams }

interface Matched {
  route: BuildRoute
  groups: string[]
  named: Record<string, string>
}

function match(route: BuildRoute, method: string, pathname: string): Matched | undefined {
  if (route.src === undefined) return undefined
  if (route.methods && !route.methods.map((m) => m.toUpperCase()).includes(method)) return undefined
  // Routes match without regard to case unless they say otherwise.
  const m = new RegExp(route.src, route.caseSensitive ? '' : 'i').exec(pathname)
  if (!m) return undefined
  return { route, groups: [...m].map((g) => g ?? ''), named: { ...m.groups } }
}

/** `$1`, `$name` in a destination or header value, from the route's captures. */
function fill(template: string, m: Matched): string {
  return template.replace(/\$([1-9][0-9]*|[a-zA-Z_][a-zA-Z0-9_]*)/g, (_, key: string) =>
    /^\d+$/.test(key) ? (m.groups[Number(key)] ?? '') : (m.named[key] ?? ''),
  )
}

function phases(routes: BuildRoute[]): Map<string | null, BuildRoute[]> {
  const byPhase = new Map<string | null, BuildRoute[]>()
  let phase: string | null = null
  for (const route of routes) {
    if (route.handle) {
      phase = route.handle
      continue
    }
    byPhase.set(phase, [...(byPhase.get(phase) ?? []), route])
  }
  return byPhase
}

/** Resolves one request against the build's routes. */
export function routeRequest(routes: BuildRoute[], fs: Filesystem, method: string, rawPath: string, rawQuery: URLSearchParams): Resolution {
  const byPhase = phases(routes)
  const headers: Record<string, string> = {}
  const query = new URLSearchParams(rawQuery)
  let pathname = rawPath

  const addHeaders = (m: Matched) => {
    for (const [key, value] of Object.entries(m.route.headers ?? {})) headers[key.toLowerCase()] = fill(value, m)
  }
  // A destination's query parameters ([param] values, rewrite queries) replace the client's of
  // the same name, as the local runner does: `/api/users/alice?username=bob` is about alice.
  const moveTo = (m: Matched) => {
    const dest = new URL(fill(m.route.dest!, m), 'http://route.local')
    for (const key of new Set(dest.searchParams.keys())) {
      query.delete(key)
      for (const value of dest.searchParams.getAll(key)) query.append(key, value)
    }
    pathname = dest.pathname
  }
  const found = (hit: FilesystemHit, status?: number): Resolution => ({ ...hit, query, headers, ...(status ? { status } : {}) })

  // Before the filesystem: redirects and headers. The first route that neither continues nor
  // only adds headers ends the phase.
  for (const route of byPhase.get(null) ?? []) {
    const m = match(route, method, pathname)
    if (!m) continue
    addHeaders(m)
    if (route.dest) moveTo(m)
    if (route.continue) continue
    if (route.status && !route.dest) return { kind: 'status', status: route.status, headers, query }
    break
  }

  let status: number | undefined
  let hit = fs(pathname)
  if (hit) return found(hit)

  // After the filesystem: rewrites. `check` looks the destination up; a miss goes on to the
  // next route with the rewritten path (how `/users/alice` reaches `/api/users/[username]`).
  for (const route of byPhase.get('filesystem') ?? []) {
    const m = match(route, method, pathname)
    if (!m) continue
    addHeaders(m)
    if (route.dest) moveTo(m)
    if (route.continue) {
      status = route.status ?? status
      continue
    }
    if (!route.dest && route.status) {
      status = route.status
      break
    }
    hit = fs(pathname)
    if (hit) return found(hit, route.status)
    if (route.check) continue
    break
  }

  // Nothing served it: the error phase may name a page for the status (404 by default).
  status ??= 404
  for (const route of byPhase.get('error') ?? []) {
    if (route.status !== undefined && route.status !== status) continue
    const m = match(route, method, pathname)
    if (!m || !route.dest) continue
    addHeaders(m)
    const page = fs(new URL(fill(route.dest, m), 'http://route.local').pathname)
    if (page) return found(page, status)
  }
  return { kind: 'status', status, headers, query }
}
