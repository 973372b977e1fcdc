// What the caller's own MFA routes share (enrolment, activation, new codes, removal): how they
// are described and who may call them; and for the two that hand out recovery codes, how a
// checked result becomes a response (a `_` file: Vercel serves no function here).
import type * as v from 'valibot'
import { readInput, record, requireUser, send, type Handler, type InputOf } from '../../../lib/http/index.js'
import type { Caller } from '../../../lib/auth.js'
import type { Checked } from '../../../lib/mfa/factors.js'
import type { ErrorStatus, OperationSpec, Success } from '../../../lib/routes.js'
import { RecoveryCodes } from '../../../lib/schemas.js'

type Text = Pick<OperationSpec, 'summary' | 'description'>

/** A bearer route of the caller's own MFA, with a JSON body; 409 (the state is not the one it needs) and 429 (wrong codes). */
export function mfaOperation<S extends v.GenericSchema>(text: Text, body: S, ok: Success, errors: ErrorStatus[] = [409, 429]) {
  return { ...text, tag: 'mfa', auth: 'bearer', body: { json: body }, ok, errors } satisfies OperationSpec
}

/** An MFA route whose 200 is ten recovery codes, shown once and never cached. */
export const codesOperation = <S extends v.GenericSchema>(text: Text, body: S, answer: string) =>
  mfaOperation(text, body, { status: 200, description: answer, schema: RecoveryCodes, headers: ['Cache-Control'] })

/**
 * The handler: a caller who may still lack the second factor (this is how they get one), the
 * validated body, then what `issue` reported is recorded and its refusal thrown, or the codes
 * sent with no-store.
 */
export function issueCodes<S extends v.GenericSchema>(
  op: ReturnType<typeof codesOperation<S>>,
  issue: (caller: Caller, input: InputOf<{ json: S }>) => Promise<Checked<string[]>>,
): Handler {
  return async (req, res) => {
    const caller = await requireUser(req, { beforeSecondFactor: true })
    const result = await issue(caller, await readInput(req, op))
    record(result)
    if ('refusal' in result) throw result.refusal
    send(res, 200, { recovery_codes: result.value }, { 'Cache-Control': 'no-store' })
  }
}
