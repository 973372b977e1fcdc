import { route, readJson, parse, send, recordEvents, setCaller } from '../../../lib/http.js'
import { PasswordResetConfirm } from '../../../lib/schemas.js'
import { confirmReset } from '../../../lib/reset.js'

// Redeems a reset token once: sets the new password and ends every session of the user.
export default route(
  {
    POST: async (req, res) => {
      const input = parse(PasswordResetConfirm, await readJson(req))
      const { actor, events } = await confirmReset(input.token, input.new_password)
      setCaller(actor.id, actor.username)
      recordEvents(events)
      send(res, 204)
    },
  },
  { name: '/api/auth/password-reset/confirm' },
)
