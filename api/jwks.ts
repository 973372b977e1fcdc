import { route, send } from '../lib/http.js'
import { publicJwks } from '../lib/tokens.js'

// RFC 7517 key set of the public signing keys (served at /.well-known/jwks.json); empty with HS256.
export default route(
  {
    GET: async (_req, res) => {
      send(res, 200, await publicJwks(), { 'Cache-Control': 'public, max-age=300' })
    },
  },
  { name: '/.well-known/jwks.json' },
)
