import { route, readInput, param, send, clientMeta, record, type Request, type Response, requireUser } from '../../../lib/http/index.js'
import { authorizeSelfOrAdmin } from '../../../lib/auth.js'
import { verificationLinkBase } from '../../../lib/email-verification.js'
import { PatchUser, PutUser, normalizeUsername } from '../../../lib/schemas.js'
import { publicUser, requireUserNamed } from '../../../lib/users.js'
import { deleteUser, updateUser } from '../../../lib/account.js'
import { defineRoute } from '../../../lib/routes.js'
import { DELETED_204, LAST_ADMIN_DELETE, SELF_RULE, USER_200, userChange } from '../_descriptions.js'

export const spec = defineRoute({
  path: '/api/users/{username}',
  shortPaths: ['/users/{username}'],
  methods: {
    GET: {
      tag: 'users',
      summary: 'One user (admin, or yourself)',
      description: 'A user may read only themself (403 otherwise); only an admin learns whether another username exists (404).',
      auth: 'bearer',
      ok: USER_200,
      errors: [403, 404],
    },
    PUT: userChange(
      'Replace email and password (admin, or yourself)',
      `The FastAPI project's full update. An admin may also send \`role\`, \`disabled\` and \`email_verified\`; an email an admin sets for another user is set at once, unverified unless \`email_verified\` says otherwise. ${SELF_RULE}`,
      PutUser,
    ),
    PATCH: userChange(
      'Change some fields (admin, or yourself)',
      `Only an admin may change \`role\`, \`disabled\` or \`email_verified\`; disabling, demoting or a password change ends sessions. The last enabled admin can be neither demoted nor disabled (409). ${SELF_RULE}`,
      PatchUser,
    ),
    DELETE: {
      tag: 'users',
      summary: 'Delete a user (admin, or yourself)',
      description: LAST_ADMIN_DELETE,
      auth: 'bearer',
      ok: DELETED_204,
      errors: [403, 404, 409],
    },
  },
})

const target = (req: Request) => normalizeUsername(param(req, 'username') ?? '')

// PUT (whole, like the FastAPI project: {email, password}) and PATCH (partial) differ only in
// their schema; both need current_password when a user changes their own email or password.
const change = (op: typeof spec.methods.PUT | typeof spec.methods.PATCH) => async (req: Request, res: Response) => {
  const caller = await requireUser(req)
  authorizeSelfOrAdmin(caller, target(req))
  const input = await readInput(req, op)
  const { user, events } = await updateUser(caller, await requireUserNamed(target(req)), input, { ip: clientMeta().ip, verifyLinkBase: () => verificationLinkBase(req) })
  record(events)
  send(res, 200, publicUser(user))
}

export default route(spec, {
  GET: async (req, res) => {
    const caller = await requireUser(req)
    authorizeSelfOrAdmin(caller, target(req))
    send(res, 200, publicUser(await requireUserNamed(target(req))))
  },
  PUT: change(spec.methods.PUT),
  PATCH: change(spec.methods.PATCH),
  // Ends every session of the deleted user.
  DELETE: async (req, res) => {
    const caller = await requireUser(req)
    authorizeSelfOrAdmin(caller, target(req))
    const user = await requireUserNamed(target(req))
    record(await deleteUser(user))
    send(res, 204)
  },
})
