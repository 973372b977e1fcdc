import { route, readJson, parse, send, currentRequest, recordEvent, recordEvents } from '../../lib/http.js'
import { requireUser } from '../../lib/auth.js'
import { PatchMe } from '../../lib/schemas.js'
import { deleteUser, publicUser, updateUser } from '../../lib/users.js'

export default route(
  {
    GET: async (req, res) => {
      // Open to a caller who still owes a second factor (MFA_REQUIRED_ROLES): it is how they see they do.
      const caller = await requireUser(req, { beforeSecondFactor: true })
      send(res, 200, publicUser(caller.user))
    },
    // Changing email or password needs current_password (ASVS 2.1.5).
    PATCH: async (req, res) => {
      const caller = await requireUser(req)
      const change = parse(PatchMe, await readJson(req))
      const { user, events } = await updateUser(caller, caller.user, change, { ip: currentRequest()!.ip })
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
