import { route, readInput, send, clientMeta, record, requireUser } from '../../lib/http/index.js'
import { PatchMe } from '../../lib/schemas.js'
import { verificationLinkBase } from '../../lib/email-verification.js'
import { publicUser } from '../../lib/users.js'
import { deleteUser, updateUser } from '../../lib/account.js'
import { defineRoute } from '../../lib/routes.js'
import { CHANGED_200, DELETED_204, LAST_ADMIN_DELETE, SELF_RULE, USER_200 } from './_descriptions.js'

export const spec = defineRoute({
  path: '/api/users/me',
  shortPaths: ['/users/me'],
  methods: {
    GET: { tag: 'users', summary: 'The caller', description: 'The user the access token belongs to, read at the time of the request.', auth: 'bearer', ok: USER_200 },
    PATCH: {
      tag: 'users',
      summary: 'Change your email or password',
      description: SELF_RULE,
      auth: 'bearer',
      body: { json: PatchMe },
      ok: CHANGED_200,
      errors: [409, 429, 501],
    },
    DELETE: {
      tag: 'users',
      summary: 'Delete your own account',
      description: LAST_ADMIN_DELETE,
      auth: 'bearer',
      ok: DELETED_204,
      errors: [409],
    },
  },
})

export default route(spec, {
  GET: async (req, res) => {
    // Open to a caller who still owes a second factor (MFA_REQUIRED_ROLES): it is how they see they do.
    const caller = await requireUser(req, { beforeSecondFactor: true })
    send(res, 200, publicUser(caller.user))
  },
  // Changing email or password needs current_password (ASVS 2.1.5); a new email waits for the
  // link mailed to it (pending_email).
  PATCH: async (req, res) => {
    const caller = await requireUser(req)
    const change = await readInput(req, spec.methods.PATCH)
    const { user, events } = await updateUser(caller, caller.user, change, { ip: clientMeta().ip, verifyLinkBase: () => verificationLinkBase(req) })
    record(events)
    send(res, 200, publicUser(user))
  },
  DELETE: async (req, res) => {
    const caller = await requireUser(req)
    record(await deleteUser(caller.user))
    send(res, 204)
  },
})
