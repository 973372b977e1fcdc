import { route, readJson, parse, param, send, currentRequest, recordEvent } from '../../../lib/http.js'
import { requireUser, authorizeSelfOrAdmin } from '../../../lib/auth.js'
import { PatchUser, PutUser, normalizeUsername } from '../../../lib/schemas.js'
import { deleteUser, publicUser, requireUserNamed, updateUser } from '../../../lib/users.js'

const target = (req: Parameters<typeof param>[0]) => normalizeUsername(param(req, 'username') ?? '')

export default route(
  {
    GET: async (req, res) => {
      const caller = await requireUser(req)
      authorizeSelfOrAdmin(caller, target(req))
      send(res, 200, publicUser(await requireUserNamed(target(req))))
    },
    // The FastAPI project's full update: {email, password} (+ current_password on one's own).
    PUT: async (req, res) => {
      const caller = await requireUser(req)
      authorizeSelfOrAdmin(caller, target(req))
      const change = parse(PutUser, await readJson(req))
      const { user, events } = await updateUser(caller, await requireUserNamed(target(req)), change, { ip: currentRequest()!.ip })
      for (const event of events) recordEvent(event, { target: { id: user._id.toHexString(), username: user.username } })
      send(res, 200, publicUser(user))
    },
    PATCH: async (req, res) => {
      const caller = await requireUser(req)
      authorizeSelfOrAdmin(caller, target(req))
      const change = parse(PatchUser, await readJson(req))
      const { user, events } = await updateUser(caller, await requireUserNamed(target(req)), change, { ip: currentRequest()!.ip })
      for (const event of events) recordEvent(event, { target: { id: user._id.toHexString(), username: user.username } })
      send(res, 200, publicUser(user))
    },
    // Ends every session of the deleted user.
    DELETE: async (req, res) => {
      const caller = await requireUser(req)
      authorizeSelfOrAdmin(caller, target(req))
      const user = await requireUserNamed(target(req))
      await deleteUser(user)
      recordEvent('user.deleted', { target: { id: user._id.toHexString(), username: user.username } })
      send(res, 204)
    },
  },
  { name: '/api/users/[username]' },
)
