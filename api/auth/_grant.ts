// What the two token routes (login, refresh) share: the answer they describe, and how they turn
// a grant's result into a response (a `_` file: Vercel serves no function here).
import { record, send, type Response } from '../../lib/http/index.js'
import type { Success } from '../../lib/routes.js'
import { TokenResponse } from '../../lib/schemas.js'
import type { GrantResult } from '../../lib/sessions.js'

/** The 200 of a token route: a token pair, never cached (RFC 6749 5.1). */
export const tokenPairOk = (description: string): Success => ({ status: 200, description, schema: TokenResponse, headers: ['Cache-Control', 'Pragma'] })

/** Records what the grant reported, then throws its refusal or sends the pair with no-store. */
export function answerGrant(res: Response, result: GrantResult): void {
  record(result)
  if ('refusal' in result) throw result.refusal
  send(res, 200, result.pair, { 'Cache-Control': 'no-store', Pragma: 'no-cache' })
}
