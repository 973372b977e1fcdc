// Owns one request's trip through the runner: Vercel's proxy headers, the body limit, routing,
// and invoking the function with the Node.js runtime helpers. Error answers mimic Vercel's
// (plain text plus `x-vercel-error`), and a crashing function never leaks its stack to the client.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { addResponseHelpers, BodyParseError, createFunctionRequest, parseCookies, PayloadTooLargeError, readBody } from './helpers.js'
import type { ModuleLoader } from './loader.js'
import { resolveRoute } from './router.js'
import type { CompiledConfig, RequestFacts } from './rules.js'
import type { FunctionTable } from './functions.js'
import { proxyHeaders, sendVercelError, vercelId } from '../vercel-proxy.js'

export interface RoutingState {
  config: CompiledConfig
  table: FunctionTable
}

export function createRequestHandler(
  getState: () => RoutingState,
  loader: ModuleLoader,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(req, res, getState, loader).catch((err: unknown) => {
      console.error('[runner] internal error:', err)
      sendVercelError(res, 500, 'INTERNAL_RUNNER_ERROR', 'A server error has occurred')
    })
  }
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  getState: () => RoutingState,
  loader: ModuleLoader,
): Promise<void> {
  const id = vercelId()
  res.setHeader('x-vercel-id', id)

  const headers = proxyHeaders(req, id)

  let body: Buffer
  try {
    body = await readBody(req)
  } catch (err) {
    if (err instanceof PayloadTooLargeError) {
      // Answer now and drop the rest of the upload with the connection.
      res.setHeader('connection', 'close')
      sendVercelError(res, 413, 'FUNCTION_PAYLOAD_TOO_LARGE', 'Request Entity Too Large')
      req.resume()
      return
    }
    throw err
  }

  const url = new URL(req.url ?? '/', 'http://runner.local')
  const host = (req.headers.host ?? 'localhost').replace(/:\d+$/, '')
  const facts: RequestFacts = {
    headers,
    query: url.searchParams,
    host,
    cookies: () => parseCookies(req.headers.cookie),
  }
  const { config, table } = getState()
  const route = resolveRoute(url.pathname, facts, config, table)

  switch (route.kind) {
    case 'redirect':
      res.writeHead(route.status, { location: route.location }).end()
      return
    case 'external':
      sendVercelError(res, 502, 'EXTERNAL_REWRITE_UNSUPPORTED', `The local runner does not proxy to ${route.url}`)
      return
    case 'not-found':
      for (const [k, v] of Object.entries(route.headers)) res.setHeader(k, v)
      sendVercelError(res, 404, 'NOT_FOUND', 'The page could not be found')
      return
  }

  for (const [k, v] of Object.entries(route.headers)) res.setHeader(k, v)
  if (route.status) res.statusCode = route.status

  // The function sees the path the client asked for (a rewrite is invisible to it, as on Vercel)
  // with the route's query parameters (rewrite query, [param] values) replacing the client's.
  const query = new URLSearchParams(url.searchParams)
  for (const key of new Set(route.query.keys())) {
    query.delete(key)
    for (const v of route.query.getAll(key)) query.append(key, v)
  }
  const qs = query.toString()
  const functionUrl = url.pathname + (qs ? `?${qs}` : '')

  let handler
  try {
    handler = await loader.load(route.fn.file)
  } catch (err) {
    console.error(`[runner] could not load ${route.fn.source}:`, err)
    sendVercelError(res, 500, 'FUNCTION_INVOCATION_FAILED', 'A server error has occurred')
    return
  }

  const vreq = createFunctionRequest(req, functionUrl, headers, body)
  const vres = addResponseHelpers(vreq, res)
  try {
    await handler(vreq, vres)
  } catch (err) {
    if (err instanceof BodyParseError) {
      // @vercel/node answers a malformed JSON body the function did not handle with 400.
      sendVercelError(res, 400, 'INVALID_REQUEST_BODY', 'Invalid JSON')
      return
    }
    console.error(`[runner] ${route.fn.source} threw:`, err)
    sendVercelError(res, 500, 'FUNCTION_INVOCATION_FAILED', 'A server error has occurred')
  }
}
