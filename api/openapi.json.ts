// Serves the OpenAPI 3.1 document (lib/openapi.ts builds it once per instance). Public and the
// same for every caller, so shared caches may keep it briefly.
import { route, send } from '../lib/http.js'
import { openApiDocument } from '../lib/openapi.js'

export default route(
  {
    GET: (_req, res) => {
      send(res, 200, openApiDocument(), { 'Cache-Control': 'public, max-age=300' })
    },
  },
  { name: '/api/openapi.json' },
)
