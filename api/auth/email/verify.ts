// POST /api/auth/email/verify: redeems a verification token once.
import { route, readInput, send, record } from '../../../lib/http/index.js'
import { EmailVerify } from '../../../lib/schemas.js'
import { confirmVerification } from '../../../lib/email-verification.js'
import { defineRoute } from '../../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/auth/email/verify',
  methods: {
    POST: {
      tag: 'email verification',
      summary: 'Confirm an email address with a verification token',
      description:
        'The token from the link (`VERIFY_URL_BASE?token=`); the page there must POST it: only a POST consumes a token, so mail scanners that open links change nothing. ' +
        "Marks the address verified, or makes a pending address the account's email. The token works once; an invalid, expired, used or superseded one is a 400 naming `token`. " +
        '409 when the pending address was taken by another account meanwhile.',
      auth: 'none',
      body: { json: EmailVerify },
      ok: { status: 204, description: 'The address is verified' },
      errors: [409],
    },
  },
})

// A GET (a mail scanner following the link) gets 405 and changes nothing.
export default route(spec, {
  POST: async (req, res) => {
    const input = await readInput(req, spec.methods.POST)
    record(await confirmVerification(input.token))
    send(res, 204)
  },
})
