import { route, send } from '../lib/http/index.js'
import { publicJwks } from '../lib/tokens.js'
import { defineRoute } from '../lib/routes.js'
import { Jwks } from '../lib/schemas.js'

export const spec = defineRoute({
  path: '/api/jwks',
  shortPaths: ['/.well-known/jwks.json'],
  methods: {
    GET: {
      tag: 'service',
      summary: 'Public signing keys (RFC 7517)',
      description: 'The keys that verify access tokens when an asymmetric key is configured; empty with HS256.',
      auth: 'none',
      db: false,
      ok: { status: 200, description: 'A JWK set', schema: Jwks, headers: ['Cache-Control'] },
    },
  },
})

// RFC 7517 key set of the public signing keys (served at /.well-known/jwks.json); empty with HS256.
export default route(spec, {
  GET: async (_req, res) => {
    send(res, 200, await publicJwks(), { 'Cache-Control': 'public, max-age=300' })
  },
})
