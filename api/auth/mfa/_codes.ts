// What the two routes that hand out recovery codes share (activation and renewal): the answer
// they describe, and how a checked result becomes a response (a `_` file: Vercel serves no function here).
import { record, send, type Response } from '../../../lib/http/index.js'
import type { Checked } from '../../../lib/mfa/factors.js'
import type { Success } from '../../../lib/routes.js'
import { RecoveryCodes } from '../../../lib/schemas.js'

/** The 200 of a route that hands out recovery codes: shown once, never cached. */
export const recoveryCodesOk = (description: string): Success => ({ status: 200, description, schema: RecoveryCodes, headers: ['Cache-Control'] })

/** Records what the operation reported, then throws its refusal or sends the codes with no-store. */
export function answerCodes(res: Response, result: Checked<string[]>): void {
  record(result)
  if ('refusal' in result) throw result.refusal
  send(res, 200, { recovery_codes: result.value }, { 'Cache-Control': 'no-store' })
}
