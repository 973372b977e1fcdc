import { route, readJson, parse, param, send, currentRequest, recordEvent, recordEvents, type Handler, type Request } from '../../../lib/http.js'
import { verificationLinkBase } from '../../../lib/email-verification.js'
import { requireUser, authorizeSelfOrAdmin } from '../../../lib/auth.js'
import { PatchUser, PutUser, normalizeUsername } from '../../../lib/schemas.js'
import { deleteUser, publicUser, requireUserNamed, updateUser } from '../../../lib/users.js'

const target = (req: Request) => normalizeUsername(param(req, 'username') ?? '')

// PUT (whole, like the FastAPI project: {email, password}) and PATCH (partial) differ only in
// their schema; both need current_password when a user changes their own email or password.
const change =
  (schema: typeof PutUser | typeof PatchUser): Handler =>
  async (req, res) => {
    const caller = await requireUser(req)
    authorizeSelfOrAdmin(caller, target(req))
    const input = parse(schema, await readJson(req))
    const { user, events } = await updateUser(caller, await requireUserNamed(target(req)), input, { ip: currentRequest()!.ip, verifyLinkBase: () => verificationLinkBase(req) })
    recordEvents(events)
    send(res, 200, publicUser(user))
  }

export default route(
  {
    GET: async (req, res) => {
      const caller = await requireUser(req)
      authorizeSelfOrAdmin(caller, target(req))
      send(res, 200, publicUser(await requireUserNamed(target(req))))
    },
    PUT: change(PutUser),
    PATCH: change(PatchUser),
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
