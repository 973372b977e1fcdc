// Owns vercel.json: reads it and turns `redirects`, `headers`, `rewrites`, `cleanUrls` and
// `trailingSlash` into matchers with Vercel's semantics (path-to-regexp sources compiled with
// strict, case-sensitive matching; `:param`s substituted into destinations; `has`/`missing`).
// The rules themselves live only in vercel.json; nothing here restates them.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
// The same path-to-regexp major (6.1) that Vercel's routing-utils uses to compile `source`;
// it is installed at the root as a dependency of @vercel/node.
import { pathToRegexp, type Key } from 'path-to-regexp'

export interface HasCondition {
  type: 'header' | 'cookie' | 'query' | 'host'
  key?: string
  value?: string
}

interface SourceRule {
  source: string
  has?: HasCondition[]
  missing?: HasCondition[]
}
interface RedirectConfig extends SourceRule {
  destination: string
  permanent?: boolean
  statusCode?: number
}
interface RewriteConfig extends SourceRule {
  destination: string
  statusCode?: number
}
interface HeaderConfig extends SourceRule {
  headers: { key: string; value: string }[]
}

export interface VercelConfig {
  cleanUrls?: boolean
  trailingSlash?: boolean
  redirects?: RedirectConfig[]
  rewrites?: RewriteConfig[]
  headers?: HeaderConfig[]
  routes?: unknown
}

/** What a request offers for `has`/`missing` checks. */
export interface RequestFacts {
  headers: Record<string, string | string[] | undefined>
  query: URLSearchParams
  cookies: () => Record<string, string>
  host: string
}

/** Captured values: numbered groups under "1", "2", ..., named params and `has` groups by name. */
export type Captures = Map<string, string>

export interface CompiledSource {
  match(pathname: string, facts: RequestFacts): Captures | undefined
  /** names of the `:params` in `source` and of named groups in `has` (what a destination may use) */
  paramNames: string[]
}

export interface RedirectRule {
  kind: 'redirect'
  matcher: CompiledSource
  destination: string
  status: number
}
export interface HeaderRule {
  kind: 'headers'
  matcher: CompiledSource
  headers: { key: string; value: string }[]
}
export interface RewriteRule {
  kind: 'rewrite'
  matcher: CompiledSource
  destination: string
  status?: number
}

export interface CompiledConfig {
  cleanUrls: boolean
  trailingSlash: boolean | undefined
  /** routes evaluated before the filesystem, in Vercel's order: cleanUrls, trailingSlash, redirects, headers */
  before: (RedirectRule | HeaderRule)[]
  rewrites: RewriteRule[]
}

/** A regex route like the ones Vercel itself generates for cleanUrls/trailingSlash (`$1` in Location). */
function regexRedirect(src: string, location: string, status = 308): RedirectRule {
  const regex = new RegExp(src)
  return {
    kind: 'redirect',
    destination: location,
    status,
    matcher: {
      paramNames: [],
      match(pathname) {
        const m = regex.exec(pathname)
        if (!m) return undefined
        const captures: Captures = new Map()
        m.slice(1).forEach((v, i) => captures.set(String(i + 1), v ?? ''))
        return captures
      },
    },
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}

function checkCondition(condition: HasCondition, facts: RequestFacts, captures: Captures): boolean {
  let actual: string | undefined
  switch (condition.type) {
    case 'header':
      actual = headerValue(facts.headers[(condition.key ?? '').toLowerCase()])
      break
    case 'cookie':
      actual = facts.cookies()[condition.key ?? '']
      break
    case 'query':
      actual = facts.query.get(condition.key ?? '') ?? undefined
      break
    case 'host':
      actual = facts.host
      break
  }
  if (actual === undefined) return false
  if (condition.value === undefined) {
    // A `has` without a value makes the key itself usable as `:key` in the destination.
    if (condition.key) captures.set(condition.key, actual)
    return true
  }
  // The value is a regex that must match the whole value; its named groups become params.
  const m = new RegExp(`^${condition.value}$`).exec(actual)
  if (!m) return false
  for (const [name, v] of Object.entries(m.groups ?? {})) captures.set(name, v ?? '')
  if (condition.type === 'host') captures.set('host', actual)
  return true
}

function compileSource(rule: SourceRule): CompiledSource {
  const keys: Key[] = []
  const regex = pathToRegexp(rule.source, keys, { strict: true, sensitive: true, delimiter: '/' })
  const paramNames = keys.map((k) => k.name).filter((n): n is string => typeof n === 'string')
  for (const c of rule.has ?? []) {
    if (c.value === undefined && c.key) paramNames.push(c.key)
    for (const g of (c.value ?? '').matchAll(/\(\?<([a-zA-Z][a-zA-Z0-9]*)>/g)) paramNames.push(g[1]!)
  }
  return {
    paramNames,
    match(pathname, facts) {
      const m = regex.exec(pathname)
      if (!m) return undefined
      const captures: Captures = new Map()
      keys.forEach((key, i) => {
        const value = m[i + 1] ?? ''
        captures.set(String(i + 1), value)
        if (typeof key.name === 'string') captures.set(key.name, value)
      })
      for (const c of rule.has ?? []) if (!checkCondition(c, facts, captures)) return undefined
      for (const c of rule.missing ?? []) if (checkCondition(c, facts, new Map())) return undefined
      return captures
    },
  }
}

/**
 * Fills `:name` (with an optional `*`, `+` or `?` modifier) and `$1`/`$name` references with the
 * captured values, as they were in the request path (still percent-encoded), like Vercel does.
 */
export function fillTemplate(template: string, captures: Captures): string {
  return template
    .replace(/:([A-Za-z_][A-Za-z0-9_]*)[*+?]?/g, (whole, name: string) => captures.get(name) ?? whole)
    .replace(/\$(\d+|[A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string) => captures.get(name) ?? whole)
}

/** Does the destination's path (or host/hash) use any of the source's params? */
function destinationUsesParams(destination: string, paramNames: string[]): boolean {
  const withoutQuery = destination.replace(/\?[^#]*/, '')
  return paramNames.some((name) => new RegExp(`:${name}(?![A-Za-z0-9_])`).test(withoutQuery))
}

/**
 * A rewrite's destination with its params filled in. When the destination's path uses none of
 * the source's params, Vercel passes all of them as query parameters instead, so that a
 * rewrite like `/p/:slug` → `/api/post` still hands `slug` to the function.
 */
export function rewriteDestination(rule: RewriteRule, captures: Captures): string {
  const filled = fillTemplate(rule.destination, captures)
  const names = rule.matcher.paramNames
  if (names.length === 0 || destinationUsesParams(rule.destination, names)) return filled
  const hashAt = filled.indexOf('#')
  const base = hashAt === -1 ? filled : filled.slice(0, hashAt)
  const [path, search = ''] = base.split(/\?(.*)/s, 2) as [string, string?]
  const query = new URLSearchParams(search)
  for (const name of names) {
    // The captured value is raw from the path; decode it once so the query does not double-encode.
    if (!query.has(name)) query.set(name, safeDecode(captures.get(name) ?? ''))
  }
  const qs = query.toString()
  return path + (qs ? `?${qs}` : '')
}

export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

function redirectStatus(r: RedirectConfig): number {
  // Vercel: `permanent` picks 308/307, else `statusCode`, else 308.
  if (typeof r.permanent === 'boolean') return r.permanent ? 308 : 307
  return r.statusCode ?? 308
}

export function compileConfig(config: VercelConfig, apiExtensions: string[]): CompiledConfig {
  if (config.routes !== undefined) {
    throw new Error('vercel.json: legacy `routes` are not supported by the local runner; use rewrites/redirects/headers')
  }
  const cleanUrls = config.cleanUrls === true
  const trailingSlash = config.trailingSlash
  const before: (RedirectRule | HeaderRule)[] = []
  // The regexes below are the ones `vercel build` writes to .vercel/output/config.json for these options.
  if (cleanUrls) {
    const loc = trailingSlash ? '/$1/' : '/$1'
    before.push(regexRedirect('^/(?:(.+)/)?index(?:\\.html)?/?$', loc))
    before.push(regexRedirect('^/(.*)\\.html/?$', loc))
  }
  if (trailingSlash === true) {
    before.push(regexRedirect('^/((?:[^/]+/)*[^/\\.]+)$', '/$1/'))
    before.push(regexRedirect('^/((?:[^/]+/)*[^/]+\\.\\w+)/$', '/$1'))
  } else if (trailingSlash === false) {
    before.push(regexRedirect('^/(.*)\\/$', '/$1'))
  }
  for (const r of config.redirects ?? []) {
    before.push({ kind: 'redirect', matcher: compileSource(r), destination: r.destination, status: redirectStatus(r) })
  }
  for (const h of config.headers ?? []) {
    before.push({ kind: 'headers', matcher: compileSource(h), headers: h.headers })
  }
  // With cleanUrls, zero config also redirects `/api/x/index(.ts)` and `/api/x.ts` to the clean path.
  if (cleanUrls && apiExtensions.length > 0) {
    const exts = apiExtensions.map((e) => e.slice(1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')
    before.push(regexRedirect(`^/(api(?:.+)?)/index(?:\\.(?:${exts}))?/?$`, '/$1'))
    before.push(regexRedirect(`^/api/(.+)(?:\\.(?:${exts}))/?$`, '/api/$1'))
  }
  const rewrites: RewriteRule[] = (config.rewrites ?? []).map((r) => ({
    kind: 'rewrite',
    matcher: compileSource(r),
    destination: r.destination,
    status: r.statusCode,
  }))
  return { cleanUrls, trailingSlash, before, rewrites }
}

/** Reads `<root>/vercel.json`; a missing file is an empty config, a broken one an error. */
export function readVercelConfig(root: string): VercelConfig {
  let text: string
  try {
    text = readFileSync(join(root, 'vercel.json'), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw err
  }
  return JSON.parse(text) as VercelConfig
}
