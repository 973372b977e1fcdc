// Serves the OpenAPI 3.1 document (lib/openapi/document.ts builds it once per instance from the
// routes' descriptions). Public and the same for every caller, so shared caches may keep it briefly.
import { route, send } from '../lib/http/index.js'
import { openApiDocument } from '../lib/openapi/document.js'
import { OPENAPI_DOCUMENT } from '../lib/openapi/components.js'
import { defineRoute } from '../lib/routes.js'
import { routeSpecs } from './_routes.js'

export const spec = defineRoute({
  path: '/api/openapi.json',
  shortPaths: ['/openapi.json'],
  methods: {
    GET: {
      tag: 'service',
      summary: 'This document',
      description: 'The same for every caller and deployment; shared caches may keep it for 5 minutes.',
      auth: 'none',
      db: false,
      ok: { status: 200, description: 'OpenAPI 3.1', schema: OPENAPI_DOCUMENT, headers: ['Cache-Control'] },
    },
  },
})

export default route(spec, {
  GET: (_req, res) => {
    send(res, 200, openApiDocument(routeSpecs()), { 'Cache-Control': 'public, max-age=300' })
  },
})
