import { route, readJson, parse, send, currentRequest, recordEvent, recordEvents } from '../../lib/http.js'
import { verificationLinkBase } from '../../lib/email-verification.js'
import { requireUser } from '../../lib/auth.js'
import { PatchMe } from '../../lib/schemas.js'
import { deleteUser, publicUser, updateUser } from '../../lib/users.js'

export default route(
  {
    GET: async (req, res) => {
      const caller = await requireUser(req)
      send(res, 200, publicUser(caller.user))
    },
    // Changing email or password needs current_password (ASVS 2.1.5).
    PATCH: async (req, res) => {
      const caller = await requireUser(req)
      const change = parse(PatchMe, await readJson(req))
      const { user, events } = await updateUser(caller, caller.user, change, { ip: currentRequest()!.ip, verifyLinkBase: () => verificationLinkBase(req) })
      recordEvents(events)
      send(res, 200, publicUser(user))
    },
    DELETE: async (req, res) => {
      const caller = await requireUser(req)
      await deleteUser(caller.user)
      recordEvent('user.deleted')
      send(res, 204)
    },
  },
  { name: '/api/users/me' },
)
