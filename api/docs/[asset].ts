// The documentation page's files: Swagger UI's bundle, stylesheet and icon, read from the
// installed swagger-ui-dist package (no CDN, so /docs works offline), and the page's own init
// script. Only the names listed here are served: the path parameter never reaches the filesystem.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { route, param } from '../../lib/http/index.js'
import { notFound } from '../../lib/problem.js'
import { defineRoute } from '../../lib/routes.js'

// Resolved like an import, so it works wherever the function's node_modules sits; vercel.json's
// `includeFiles` ships these files, as file tracing cannot follow a computed path. Resolved on
// first use, not at import: the OpenAPI function imports this file for its description only,
// and ships no Swagger UI.
let dist: string | undefined
const distDir = () => (dist ??= dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json')))

// Configuration as a served script rather than inline, so the page's CSP stays `script-src 'self'`.
// The Authorize dialog's password flow posts a form (grant_type=password&username&password&scope,
// client credentials as Basic auth) to the login route, which accepts and ignores those extras.
const INIT_JS = `// Swagger UI for /docs (served by api/docs/[asset].ts).
window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    // The token survives a reload (kept in this browser's localStorage).
    persistAuthorization: true,
    // The default validator badge would call validator.swagger.io; the page stays offline.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    tryItOutEnabled: false,
  })
})
`

interface Asset {
  type: string
  /** a file of swagger-ui-dist, or the body itself */
  file?: string
  body?: string
}

const ASSETS: Record<string, Asset> = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', file: 'swagger-ui.css' },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', file: 'swagger-ui-bundle.js' },
  'favicon-32x32.png': { type: 'image/png', file: 'favicon-32x32.png' },
  'init.js': { type: 'text/javascript; charset=utf-8', body: INIT_JS },
}

// Read once per instance: the files never change while it lives.
const loaded = new Map<string, Promise<Buffer>>()

function load(asset: Asset): Promise<Buffer> {
  if (asset.body !== undefined) return Promise.resolve(Buffer.from(asset.body))
  const file = asset.file!
  let body = loaded.get(file)
  if (!body) {
    body = readFile(join(distDir(), file))
    // A failed read is retried by the next request rather than cached.
    body.catch(() => loaded.delete(file))
    loaded.set(file, body)
  }
  return body
}

export const spec = defineRoute({
  path: '/api/docs/{asset}',
  methods: {
    GET: {
      tag: 'service',
      summary: "The documentation page's scripts, styles and icon",
      description: 'Served by the service itself so the page works offline and under a strict CSP.',
      auth: 'none',
      db: false,
      parameters: [{ name: 'asset', in: 'path', required: true, schema: { type: 'string' }, example: 'swagger-ui.css' }],
      ok: { status: 200, description: 'The file', contentType: '*/*', schema: { type: 'string' } },
      errors: [404],
    },
  },
})

export default route(spec, {
  GET: async (req, res) => {
    const name = param(req, 'asset') ?? ''
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined
    if (!asset) throw notFound('No such documentation file')
    const body = await load(asset)
    res.statusCode = 200
    res.setHeader('Content-Type', asset.type)
    res.setHeader('Content-Length', String(body.length))
    // Swagger UI changes only with the package version, i.e. with a deployment.
    res.setHeader('Cache-Control', 'public, max-age=3600')
    res.end(body)
  },
})
