// The HTTP layer as handlers (api/) see it: the wrapper, bodies and answers, and the caller and
// events of the request. Only api/ and lib/http itself import it (test/unit/architecture.test.ts).
export { route, type Handler, type Request, type Response } from './route.js'
export { param, parse, parseBody, queryOf, readBody, readInput, readQuery, send, type Body, type InputOf } from './body.js'
export { clientMeta, currentRequest, record, requireAdmin, requireAdminOnUser, requireUser, setCaller } from './caller.js'
export { clientIp } from './headers.js'
