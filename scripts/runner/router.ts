// Owns the order in which Vercel routes a request: redirects and headers first, then the
// filesystem (static function paths), then rewrites and the generated [param] routes, each
// followed by a filesystem check, then 404. Pure: no I/O, so it is easy to reason about.
import { lookupFunction, type FunctionEntry, type FunctionTable } from './functions.js'
import {
  fillTemplate,
  rewriteDestination,
  safeDecode,
  type CompiledConfig,
  type RequestFacts,
} from './rules.js'

export type Resolution =
  | { kind: 'redirect'; status: number; location: string }
  | {
      kind: 'function'
      fn: FunctionEntry
      /** query parameters the route adds (rewrite destination query, [param] values); they override the client's */
      query: URLSearchParams
      /** headers from vercel.json `headers` rules, set on the response */
      headers: Record<string, string>
      status?: number
    }
  | { kind: 'not-found'; headers: Record<string, string> }
  | { kind: 'external'; url: string }

function splitPathAndQuery(target: string): { pathname: string; query: URLSearchParams } {
  const hashAt = target.indexOf('#')
  const base = hashAt === -1 ? target : target.slice(0, hashAt)
  const q = base.indexOf('?')
  return q === -1
    ? { pathname: base, query: new URLSearchParams() }
    : { pathname: base.slice(0, q), query: new URLSearchParams(base.slice(q + 1)) }
}

/** Later values for a key replace earlier ones, as the route's own query wins over the client's. */
function assignQuery(into: URLSearchParams, from: URLSearchParams): void {
  for (const key of new Set(from.keys())) {
    into.delete(key)
    for (const v of from.getAll(key)) into.append(key, v)
  }
}

function withClientQuery(location: string, clientQuery: URLSearchParams): string {
  // The client's query string is passed through to the redirect target; the target's own
  // parameters win where both name the same key.
  if (clientQuery.size === 0) return location
  const hashAt = location.indexOf('#')
  const hash = hashAt === -1 ? '' : location.slice(hashAt)
  const base = hashAt === -1 ? location : location.slice(0, hashAt)
  const q = base.indexOf('?')
  const merged = new URLSearchParams(clientQuery)
  if (q !== -1) assignQuery(merged, new URLSearchParams(base.slice(q + 1)))
  const path = q === -1 ? base : base.slice(0, q)
  const qs = merged.toString()
  return path + (qs ? `?${qs}` : '') + hash
}

/**
 * A redirect written as a path of this site stays on it. A captured part of the request path can
 * begin with a slash (`/.//evil.com/a.html` is `//evil.com/a.html` once the dot segment goes, and
 * cleanUrls' `/$1` then makes `//evil.com/a`), and a Location of `//host/...` or `/\host/...` is
 * another origin to a browser (an open redirect, CWE-601): the leading slashes collapse to one.
 * A destination vercel.json itself writes as absolute or protocol-relative is left as written.
 */
export function sameSiteLocation(destination: string, location: string): string {
  if (!destination.startsWith('/') || /^[/\\]{2}/.test(destination)) return location
  return location.replace(/^[/\\]+/, '/')
}

export function resolveRoute(
  pathname: string,
  facts: RequestFacts,
  config: CompiledConfig,
  table: FunctionTable,
): Resolution {
  const headers: Record<string, string> = {}
  for (const rule of config.before) {
    const captures = rule.matcher.match(pathname, facts)
    if (!captures) continue
    if (rule.kind === 'redirect') {
      const location = withClientQuery(sameSiteLocation(rule.destination, fillTemplate(rule.destination, captures)), facts.query)
      return { kind: 'redirect', status: rule.status, location }
    }
    for (const { key, value } of rule.headers) {
      headers[fillTemplate(key, captures).toLowerCase()] = fillTemplate(value, captures)
    }
  }

  const lookupOptions = { allowExtension: !config.cleanUrls }
  const direct = lookupFunction(table, pathname, lookupOptions)
  if (direct) return { kind: 'function', fn: direct, query: new URLSearchParams(), headers }

  // Rewrites, then the generated [param] routes: each rewrite re-checks the filesystem and,
  // on a miss, matching continues with the rewritten path (Vercel's `check: true`).
  let path = pathname
  const added = new URLSearchParams()
  let status: number | undefined
  for (const rule of config.rewrites) {
    const captures = rule.matcher.match(path, facts)
    if (!captures) continue
    const destination = rewriteDestination(rule, captures)
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(destination)) return { kind: 'external', url: destination }
    const target = splitPathAndQuery(destination)
    path = target.pathname
    assignQuery(added, target.query)
    if (rule.status) status = rule.status
    const fn = lookupFunction(table, path, lookupOptions)
    if (fn) return { kind: 'function', fn, query: added, headers, status }
  }
  for (const route of table.dynamic) {
    const m = route.regex.exec(path)
    if (!m) continue
    const params = new URLSearchParams()
    route.paramNames.forEach((name, i) => params.set(name, safeDecode(m[i + 1] ?? '')))
    assignQuery(added, params)
    return { kind: 'function', fn: route.fn, query: added, headers, status }
  }
  return { kind: 'not-found', headers }
}
