// The OpenAPI 3.1 document of the service, assembled from the routes' own descriptions (each
// beside its handler under api/, collected by api/_routes.ts) and the shared pieces of
// components.ts. Built once per instance and cached; never reads the filesystem or the
// environment, so it describes every deployment the same way and costs nothing per request.
import type { Method, OperationSpec, RouteSpec, Success } from '../routes.js'
import type { ErrorStatus } from '../routes.js'
import { componentSchemas, ERRORS, HEADERS, ref, responseHeaders, SECURITY, SECURITY_SCHEMES, toSchema, type Json } from './components.js'

const usernameParam: Json = { name: 'username', in: 'path', required: true, schema: { $ref: '#/components/schemas/Username' } }
const sessionIdParam: Json = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'A session id from GET /api/auth/sessions' }

function errorStatuses(op: OperationSpec): ErrorStatus[] {
  // Every route answers a method it does not serve with 405 + Allow (lib/http).
  const out = new Set<ErrorStatus>([...(op.errors ?? []), 405])
  if (op.body) [400, 413, 415].forEach((s) => out.add(s as ErrorStatus))
  if (op.auth === 'bearer' || op.auth === 'bearer-or-anonymous') out.add(401)
  out.add(500)
  if (op.db !== false) out.add(503)
  return [...out].sort((a, b) => a - b)
}

function buildOperation(route: RouteSpec, method: Method, op: OperationSpec): Json {
  // An operation's own entry for a path parameter replaces the generic one.
  const own = op.parameters ?? []
  const parameters: Json[] = [...pathParameters(route.path).filter((p) => !own.some((o) => o.in === 'path' && o.name === p.name)), ...own]
  if (op.query) {
    const schema = toSchema(op.query) as { properties?: Record<string, Json>; required?: string[] }
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      parameters.push({ name, in: 'query', required: schema.required?.includes(name) ?? false, schema: property })
    }
  }
  const notes = [op.description, route.shortPaths?.length ? `Also served at ${route.shortPaths.map((p) => `\`${p}\``).join(', ')}.` : undefined].filter(Boolean)

  const responses: Json = { [op.ok.status]: successResponse(op.ok) }
  for (const status of errorStatuses(op)) responses[status] = { $ref: `#/components/responses/${ERRORS[status].name}` }

  return {
    tags: [op.tag],
    summary: op.summary,
    ...(notes.length > 0 && { description: notes.join('\n\n') }),
    operationId: operationId(method, route.path),
    security: SECURITY[op.auth],
    ...(parameters.length > 0 && { parameters }),
    ...(op.body && { requestBody: requestBody(op.body) }),
    responses,
  }
}

function pathParameters(path: string): Json[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) =>
    name === 'username' ? usernameParam : name === 'id' ? sessionIdParam : { name, in: 'path', required: true, schema: { type: 'string' } },
  )
}

function operationId(method: Method, path: string): string {
  const words = path
    .replace(/^\/api\//, '')
    .split(/[/.-]/)
    .filter(Boolean)
    .map((w) => w.replace(/[{}]/g, ''))
  return [method.toLowerCase(), ...words].map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('')
}

/** A valibot schema (named in components) or plain JSON Schema. */
const isValibot = (schema: object): schema is Parameters<typeof ref>[0] & object => (schema as { kind?: unknown }).kind === 'schema'

function successResponse(ok: Success): Json {
  const headers = responseHeaders(ok.headers)
  if (!ok.schema) return { description: ok.description, headers }
  const schema = isValibot(ok.schema) ? ref(ok.schema) : ok.schema
  return { description: ok.description, headers, content: { [ok.contentType ?? 'application/json']: { schema } } }
}

function requestBody(body: NonNullable<OperationSpec['body']>): Json {
  const content: Json = {}
  if (body.json) content['application/json'] = { schema: ref(body.json) }
  if (body.form) content['application/x-www-form-urlencoded'] = { schema: ref(body.form) }
  return { required: !body.optional, content }
}

function buildDocument(routes: readonly RouteSpec[]): Json {
  const paths: Json = {}
  for (const route of routes) {
    const item: Json = {}
    for (const [method, op] of Object.entries(route.methods) as [Method, OperationSpec][]) item[method.toLowerCase()] = buildOperation(route, method, op)
    paths[route.path] = item
  }
  const responses: Json = {}
  for (const { name, description, headers } of Object.values(ERRORS)) {
    responses[name] = { description, headers: responseHeaders(headers), content: { 'application/problem+json': { schema: ref('Problem') } } }
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Auth API',
      version: '1.0.0',
      // The repository grants no licence (package.json: UNLICENSED, npm's word for that; SPDX
      // writes a licence of one's own as LicenseRef-...); whoever owns the project says so here
      // when they choose one.
      license: { name: 'Proprietary: no licence granted', identifier: 'LicenseRef-Proprietary' },
      contact: { name: 'The maintainers of vercel-mongo-auth' },
      description:
        'User authentication for Vercel functions and MongoDB: JWT access tokens, rotating refresh tokens, real logout, RBAC user management.\n\n' +
        'Errors are `application/problem+json` (RFC 9457). Any method a route does not serve gets 405 with `Allow`. ' +
        'Every response carries `x-request-id` and `Server-Timing`.' +
        '\n\n' +
        'Try it: **Authorize** with the OAuth2 password flow (your username and password; client id and secret stay empty), then call any route.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'auth', description: 'Log in, refresh, log out' },
      { name: 'users', description: 'Accounts and roles' },
      { name: 'mfa', description: 'Second factors: TOTP and recovery codes' },
      { name: 'sessions', description: 'Live sessions (refresh-token families)' },
      { name: 'password reset', description: 'Forgotten passwords' },
      { name: 'email verification', description: 'Proving an email address, and changing it' },
      { name: 'audit', description: 'Who did what, kept 90 days' },
      { name: 'service', description: 'Health, keys and this documentation' },
    ],
    paths,
    components: { schemas: componentSchemas(), responses, headers: HEADERS, securitySchemes: SECURITY_SCHEMES },
  }
}

let cached: { routes: readonly RouteSpec[]; doc: Json } | undefined

/** The document of these routes; built on first use, then the same object for the life of the instance. */
export function openApiDocument(routes: readonly RouteSpec[]): Json {
  if (cached?.routes !== routes) cached = { routes, doc: buildDocument(routes) }
  return cached.doc
}
