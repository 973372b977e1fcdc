// The interactive documentation page (GET /docs, rewritten here): Swagger UI over
// /api/openapi.json. Every script and style comes from this service (api/docs/[asset].ts), never
// a CDN, so the page works offline and its CSP can forbid inline and third-party code.
import { route } from '../lib/http/index.js'
import { defineRoute } from '../lib/routes.js'

// No inline script or style: the page's configuration lives in /api/docs/init.js.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // swagger-ui.css draws its icons as data: images.
  "img-src 'self' data:",
  // The UI fetches the document and calls the API (the Authorize dialog posts to the login route).
  "connect-src 'self'",
  "font-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Auth API documentation</title>
<link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png">
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<noscript>This page needs JavaScript; the OpenAPI document itself is at <a href="/api/openapi.json">/api/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`

export const spec = defineRoute({
  path: '/api/docs',
  shortPaths: ['/docs'],
  methods: {
    GET: {
      tag: 'service',
      summary: 'Interactive documentation (Swagger UI)',
      description: 'Swagger UI over this document, its files served by the service itself (no CDN), so it works offline.',
      auth: 'none',
      db: false,
      ok: { status: 200, description: 'An HTML page', contentType: 'text/html', schema: { type: 'string' } },
    },
  },
})

export default route(
  spec,
  {
    GET: (_req, res) => {
      res.statusCode = 200
      res.setHeader('Content-Type', 'text/html; charset=utf-8')
      res.setHeader('Cache-Control', 'public, max-age=300')
      res.end(PAGE)
    },
  },
  { csp: CSP },
)
