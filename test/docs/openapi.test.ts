// The OpenAPI document against the OpenAPI 3.1 schema, against the functions on disk (every
// file and method documented, nothing documented that has no file, except routes flagged
// `planned`), and against what the running service really answers.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openApiDocument } from '../../lib/openapi/document.js'
import { routeSpecs } from '../../api/_routes.js'
import { listFunctionFiles } from '../../scripts/runner/functions.js'
import { checkOpenApi, documentedResponse, responseProblems, type DocumentCheck } from '../helpers/json-schema.js'
import { ADMIN, login, newUser, startService, type Service, type Tokens } from '../helpers/service.js'

const ROOT = new URL('../../', import.meta.url).pathname

/** `api/users/[username]/index.ts` → `/api/users/{username}`, as Vercel serves it. */
function pathOf(outputPath: string): string {
  return outputPath.replace(/\/index$/, '').replace(/\[(\w+)\]/g, '{$1}')
}

/** The methods a function serves: the keys of its `route({ GET: ..., POST: ... })`. */
function methodsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8')
  return [...new Set([...source.matchAll(/^\s*(GET|POST|PUT|PATCH|DELETE)\s*[:(]/gm)].map((m) => m[1]!))].sort()
}

const served = listFunctionFiles(ROOT).map((f) => ({ file: f.source, path: pathOf(f.outputPath), methods: methodsOf(f.file) }))
const doc = openApiDocument(routeSpecs()) as { openapi: string; servers: unknown; paths: Record<string, Record<string, unknown>>; components: any }
let check: DocumentCheck

beforeAll(async () => {
  check = await checkOpenApi(doc)
})

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    expect(check.errors).toBeUndefined()
    expect(check.valid).toBe(true)
    expect(doc.openapi).toMatch(/^3\.1\./)
  })

  it('finds the functions it checks against', () => {
    expect(served.map((s) => s.path)).toContain('/api/users/{username}')
    for (const fn of served) expect(fn.methods, `${fn.file} serves no method the test can see`).not.toEqual([])
  })

  it.each(served)('documents $file ($path) and each of its methods', ({ path, methods }) => {
    const item = doc.paths[path]
    expect(item, `${path} is missing from api/_routes.ts`).toBeDefined()
    expect(Object.keys(item!).map((m) => m.toUpperCase()).sort()).toEqual(methods)
  })

  it('documents no path without a function, and lists each function once (api/_routes.ts)', () => {
    const listed = routeSpecs().map((r) => r.path)
    expect([...listed].sort()).toEqual(served.map((s) => s.path).sort())
  })

  it("matches vercel.json's rewrites with the short paths the routes describe", () => {
    const vercel = JSON.parse(readFileSync(`${ROOT}vercel.json`, 'utf8')) as { rewrites: { source: string; destination: string }[] }
    // Vercel writes a path parameter :name; the descriptions write it {name}, as OpenAPI does.
    const described = routeSpecs().flatMap((r) => (r.shortPaths ?? []).map((p) => ({ source: p.replace(/\{(\w+)\}/g, ':$1'), destination: r.path.replace(/\{(\w+)\}/g, ':$1') })))
    const byPair = (a: { source: string }, b: { source: string }) => a.source.localeCompare(b.source)
    expect([...vercel.rewrites].sort(byPair)).toEqual(described.sort(byPair))
  })

  it('gives every operation a unique operationId and unique parameters', () => {
    const ids: string[] = []
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const op of Object.values(item) as { operationId: string; parameters?: { in: string; name: string }[] }[]) {
        ids.push(op.operationId)
        const params = (op.parameters ?? []).map((p) => `${p.in}:${p.name}`)
        expect(new Set(params).size, `${path} ${op.operationId}`).toBe(params.length)
      }
    }
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('offers bearer JWTs and the OAuth2 password flow against the login and refresh routes', () => {
    expect(doc.servers).toEqual([{ url: '/' }])
    const schemes = doc.components.securitySchemes
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    expect(schemes.oauth2.flows.password).toMatchObject({ tokenUrl: '/api/auth/login', refreshUrl: '/api/auth/refresh' })
  })

  it('describes login and refresh bodies as JSON and as OAuth2 forms', () => {
    for (const path of ['/api/auth/login', '/api/auth/refresh']) {
      const content = (doc.paths[path]!.post as { requestBody: { content: Record<string, unknown> } }).requestBody.content
      expect(Object.keys(content).sort()).toEqual(['application/json', 'application/x-www-form-urlencoded'])
    }
    // The form schema comes from schemas.ts: the OAuth2 extras Swagger UI sends are in it.
    expect(Object.keys(check.resolved.components.schemas.LoginForm.properties)).toEqual(
      expect.arrayContaining(['grant_type', 'username', 'password', 'scope', 'client_id', 'client_secret']),
    )
  })

  it('documents 405 with Allow on every operation', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item) as [string, { responses: Record<string, unknown> }][]) {
        expect(op.responses['405'], `${method} ${path}`).toEqual({ $ref: '#/components/responses/MethodNotAllowed' })
      }
    }
    expect(Object.keys(check.resolved.components.responses.MethodNotAllowed.headers)).toContain('Allow')
  })

  it('describes `limit` as the integer 1 to 100 a client sends, not the string it is on the wire', () => {
    for (const path of ['/api/users', '/api/audit']) {
      const limit = (doc.paths[path]!.get as { parameters: { name: string; schema: unknown }[] }).parameters.find((p) => p.name === 'limit')
      expect(limit?.schema, path).toEqual({ type: 'integer', minimum: 1, maximum: 100, description: 'Default: `50`.' })
    }
  })

  it('carries no `default`, which generated clients turn into a required field, and says the defaults in words', () => {
    expect(JSON.stringify(doc)).not.toContain('"default"')
    expect(check.resolved.components.schemas.CreateUser.properties.role.description).toBe('Default: `user`.')
    expect(check.resolved.components.schemas.CreateUser.required).not.toContain('role')
    expect(check.resolved.components.schemas.LogoutBody.properties.scope.description).toBe('Default: `local`.')
  })

  it('documents the two names of a new password where a password is set', () => {
    const schemas = check.resolved.components.schemas
    for (const name of ['PutUser', 'PatchUser', 'PatchMe', 'PasswordResetConfirm']) {
      expect(Object.keys(schemas[name].properties), name).toEqual(expect.arrayContaining(['password', 'new_password']))
      expect(schemas[name].description, name).toMatch(/is accepted as the same field/)
    }
    expect(schemas.PutUser.oneOf).toEqual([{ required: ['password'] }, { required: ['new_password'] }])
    expect(schemas.PasswordResetConfirm.oneOf).toEqual([{ required: ['new_password'] }, { required: ['password'] }])
  })

  it('promises what every answer carries: a problem detail, timestamps as date-times, itself as an OpenAPI object', () => {
    const schemas = check.resolved.components.schemas
    expect(schemas.Problem.required).toContain('detail')
    expect(schemas.PublicUser.properties.created_at).toEqual({ type: 'string', format: 'date-time' })
    expect(schemas.PublicUser.properties.updated_at).toEqual({ type: 'string', format: 'date-time' })
    const self = check.resolved.paths['/api/openapi.json'].get.responses['200'].content['application/json'].schema
    expect(self.required).toEqual(['openapi', 'info', 'paths'])
  })

  it('builds the document once per instance', () => {
    expect(openApiDocument(routeSpecs())).toBe(doc)
  })
})

describe('live answers match the document', () => {
  let svc: Service
  let admin: Tokens

  beforeAll(async () => {
    // Reset links need their base when deployed (the prebuilt lane runs in production mode).
    svc = await startService({ RESET_URL_BASE: 'https://app.example/reset-password' })
    admin = await login(svc, ADMIN.username, ADMIN.password)
  })
  afterAll(() => svc?.stop())

  /** Sends a request and checks the answer against what the document says `path`/`method` gives. */
  async function expectDocumented(path: string, method: string, res: Response): Promise<unknown> {
    const text = await res.text()
    const isJson = /json/.test(res.headers.get('content-type') ?? '')
    const body = text && isJson ? JSON.parse(text) : text || undefined
    // A 405 is documented on the operations the route serves (the method asked for is none of them).
    const served = ['get', 'post', 'put', 'patch', 'delete'].find((m) => m !== method.toLowerCase() && doc.paths[path]?.[m])
    const documented = documentedResponse(check.resolved, path, res.status === 405 ? served! : method, res.status)
    expect(await responseProblems(documented, res, body), `${method} ${path} → ${res.status} ${text.slice(0, 300)}`).toEqual([])
    expect(res.headers.get('x-request-id')).toBeTruthy()
    expectServerTiming(res, `${method} ${path}`)
    return body
  }

  // README and docs/API.md: `db;dur=<ms>;desc="<n> round trips"`, "1 round trip" for one.
  function expectServerTiming(res: Response, what: string): void {
    const timing = res.headers.get('server-timing')
    expect(timing, `${what} → ${res.status} has no Server-Timing`).toMatch(/^db;dur=\d+\.\d{2};desc="\d+ round trips?"$/)
    const trips = Number(/desc="(\d+)/.exec(timing!)![1])
    expect(timing, what).toContain(trips === 1 ? '"1 round trip"' : `"${trips} round trips"`)
  }

  /** A path Vercel serves for the function, its parameters filled in with values that exist. */
  const concrete = (path: string) => path.replace('{username}', ADMIN.username).replace('{id}', 'no-such-session').replace('{asset}', 'init.js')

  // Every function, whatever it answers (200, 401, 400, 404), and whoever writes the answer: the
  // handler through send(), a synchronous handler writing its own body (the document, the docs
  // page), a stream (the docs files), the error writer, the wrapper's 405 and preflight.
  it.each(served)('$path answers with Server-Timing to each method, a wrong one and a preflight', async ({ path, methods }) => {
    const url = concrete(path)
    for (const method of methods) expectServerTiming(await svc.fetch(url, { method }), `${method} ${url}`)
    const wrong = ['PUT', 'PATCH', 'DELETE', 'POST'].find((m) => !methods.includes(m))!
    const refused = await svc.fetch(url, { method: wrong })
    expect(refused.status).toBe(405)
    expectServerTiming(refused, `${wrong} ${url}`)
    const preflight = await svc.fetch(url, { method: 'OPTIONS' })
    expect(preflight.status).toBe(204)
    expectServerTiming(preflight, `OPTIONS ${url}`)
  })

  it('login (JSON and form), refresh and logout', async () => {
    const u = await newUser(svc, admin.access_token)
    const json = await svc.call('POST', '/api/auth/login', { json: { username: u.username, password: u.password } })
    expect(json.status).toBe(200)
    await expectDocumented('/api/auth/login', 'POST', json)

    const form = await svc.call('POST', '/api/auth/login', { form: { grant_type: 'password', username: u.username, password: u.password, scope: '' } })
    expect(form.status).toBe(200)
    const pair = (await expectDocumented('/api/auth/login', 'POST', form)) as Tokens

    const refreshed = await svc.call('POST', '/api/auth/refresh', { form: { grant_type: 'refresh_token', refresh_token: pair.refresh_token } })
    expect(refreshed.status).toBe(200)
    const next = (await expectDocumented('/api/auth/refresh', 'POST', refreshed)) as Tokens

    const out = await svc.call('POST', '/api/auth/logout', { token: next.access_token })
    expect(out.status).toBe(204)
    await expectDocumented('/api/auth/logout', 'POST', out)
  })

  it('the user routes', async () => {
    const me = await svc.call('GET', '/api/users/me', { token: admin.access_token })
    expect(me.status).toBe(200)
    await expectDocumented('/api/users/me', 'GET', me)

    const list = await svc.call('GET', '/api/users?limit=1', { token: admin.access_token })
    expect(list.status).toBe(200)
    await expectDocumented('/api/users', 'GET', list)

    const name = `doc${Date.now().toString(36)}`
    const created = await svc.call('POST', '/api/users', {
      token: admin.access_token,
      json: { username: name, email: `${name}@example.com`, password: 'Docs-Passw0rd-Long' },
    })
    expect(created.status).toBe(201)
    expect(created.headers.get('location')).toBe(`/api/users/${name}`)
    await expectDocumented('/api/users', 'POST', created)

    const one = await svc.call('GET', `/api/users/${name}`, { token: admin.access_token })
    expect(one.status).toBe(200)
    await expectDocumented('/api/users/{username}', 'GET', one)
  })

  it('sessions, audit and password reset', async () => {
    const u = await newUser(svc, admin.access_token)
    const mine = await login(svc, u.username, u.password)
    const sessions = await svc.call('GET', '/api/auth/sessions', { token: mine.access_token })
    expect(sessions.status).toBe(200)
    const { items } = (await expectDocumented('/api/auth/sessions', 'GET', sessions)) as { items: { id: string }[] }

    const theirs = await svc.call('GET', `/api/users/${u.username}/sessions`, { token: admin.access_token })
    expect(theirs.status).toBe(200)
    await expectDocumented('/api/users/{username}/sessions', 'GET', theirs)

    const audit = await svc.call('GET', '/api/audit?limit=5', { token: admin.access_token })
    expect(audit.status).toBe(200)
    await expectDocumented('/api/audit', 'GET', audit)

    const link = await svc.call('POST', `/api/users/${u.username}/password-reset`, { token: admin.access_token })
    expect(link.status).toBe(200)
    await expectDocumented('/api/users/{username}/password-reset', 'POST', link)

    // 202 with mail configured, 501 without: either way a documented answer.
    const ask = await svc.call('POST', '/api/auth/password-reset', { json: { username: u.username } })
    expect([202, 501]).toContain(ask.status)
    await expectDocumented('/api/auth/password-reset', 'POST', ask)

    const badToken = await svc.call('POST', '/api/auth/password-reset/confirm', { json: { token: 'not-a-token', new_password: 'Another-Passw0rd-Long' } })
    expect(badToken.status).toBe(400)
    await expectDocumented('/api/auth/password-reset/confirm', 'POST', badToken)

    const ended = await svc.call('DELETE', `/api/auth/sessions/${items[0]!.id}`, { token: mine.access_token })
    expect(ended.status).toBe(204)
    await expectDocumented('/api/auth/sessions/{id}', 'DELETE', ended)

    const all = await svc.call('DELETE', `/api/users/${u.username}/sessions`, { token: admin.access_token })
    expect(all.status).toBe(204)
    await expectDocumented('/api/users/{username}/sessions', 'DELETE', all)
  })

  it('problem answers: 400, 401 (no token, bad credentials), 404, 405', async () => {
    const invalid = await svc.call('POST', '/api/users', { token: admin.access_token, json: { username: 'x', email: 'nope', password: 'short', admin: true } })
    expect(invalid.status).toBe(400)
    const problem = (await expectDocumented('/api/users', 'POST', invalid)) as { errors?: unknown[] }
    expect(problem.errors?.length).toBeGreaterThan(0)

    const anonymous = await svc.call('GET', '/api/users/me')
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer')
    await expectDocumented('/api/users/me', 'GET', anonymous)

    const badLogin = await svc.call('POST', '/api/auth/login', { json: { username: 'nobody-here', password: 'whatever-pass' } })
    expect(badLogin.status).toBe(401)
    await expectDocumented('/api/auth/login', 'POST', badLogin)

    const missing = await svc.call('GET', '/api/users/nobody-here', { token: admin.access_token })
    expect(missing.status).toBe(404)
    await expectDocumented('/api/users/{username}', 'GET', missing)

    const wrongMethod = await svc.call('DELETE', '/api/auth/login')
    expect(wrongMethod.status).toBe(405)
    await expectDocumented('/api/auth/login', 'DELETE', wrongMethod)
  })

  it('health, keys, the document itself and the docs page', async () => {
    const health = await svc.call('GET', '/api/health')
    expect(health.status).toBe(200)
    await expectDocumented('/api/health', 'GET', health)

    const jwks = await svc.call('GET', '/.well-known/jwks.json')
    expect(jwks.status).toBe(200)
    await expectDocumented('/api/jwks', 'GET', jwks)

    const served = await svc.call('GET', '/openapi.json')
    expect(served.status).toBe(200)
    expect(await expectDocumented('/api/openapi.json', 'GET', served)).toEqual(JSON.parse(JSON.stringify(doc)))

    const page = await svc.fetch('/docs')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    await expectDocumented('/api/docs', 'GET', page)
  })

  it.each([
    { asset: 'swagger-ui.css', type: /^text\/css/ },
    { asset: 'swagger-ui-bundle.js', type: /^text\/javascript/ },
    { asset: 'init.js', type: /^text\/javascript/ },
    { asset: 'favicon-32x32.png', type: /^image\/png/ },
  ])('serves the docs file $asset itself', async ({ asset, type }) => {
    const res = await svc.fetch(`/api/docs/${asset}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(type)
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100)
  })

  it.each(['swagger-ui.js', 'package.json', '..%2Fpackage.json', 'swagger-ui.css.map', 'oauth2-redirect.html', 'constructor', '__proto__'])(
    'serves no other file (%s)',
    async (name) => {
      const res = await svc.fetch(`/api/docs/${name}`)
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
    },
  )
})
