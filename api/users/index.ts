import { route, readInput, readQuery, send, clientMeta, record, requireAdmin, requireUser } from '../../lib/http/index.js'
import { isAdmin } from '../../lib/auth.js'
import { getConfig } from '../../lib/config.js'
import { CreateUser, ListUsersQuery, PublicUser, UserPage } from '../../lib/schemas.js'
import { createUser, listUsers, publicUser } from '../../lib/users.js'
import { forbidden } from '../../lib/problem.js'
import { countSignup } from '../../lib/throttle.js'
import { mailSignupLink, signupLinkBase } from '../../lib/email-verification.js'
import { adminPage, defineRoute } from '../../lib/routes.js'

export const spec = defineRoute({
  path: '/api/users',
  shortPaths: ['/users', '/users/'],
  methods: {
    POST: {
      tag: 'users',
      summary: 'Create a user',
      description:
        'Admins only; with ALLOW_SIGNUP=true anyone may create a user of role `user` without a token, 10 an hour per client address (then 429 with Retry-After), ' +
        'and a verification link is mailed to the new address at once (a deployment without SMTP_URL or VERIFY_URL_BASE mails none and the address stays unverified; with REQUIRE_VERIFIED_EMAIL=true it answers 501 instead). ' +
        'Only an admin may send `email_verified` (default false).',
      auth: 'bearer-or-anonymous',
      body: { json: CreateUser },
      ok: { status: 201, description: 'Created', schema: PublicUser, headers: ['Location'] },
      errors: [403, 409, 429, 501],
    },
    GET: adminPage({ tag: 'users', summary: 'List users (admin)', description: 'Cursor pages sorted by username.' }, ListUsersQuery, { description: 'One page of users', schema: UserPage }),
  },
})

export default route(spec, {
  // Admins create users; with ALLOW_SIGNUP=true anyone may create a plain user, whose address
  // gets a verification link at once (none when deployed without mail: the address stays
  // unverified; 501 instead where REQUIRE_VERIFIED_EMAIL makes the link the only way in).
  POST: async (req, res) => {
    const open = getConfig().allowSignup
    const caller = open && !req.headers.authorization ? undefined : await requireUser(req)
    if (caller && !isAdmin(caller) && !open) throw forbidden('This needs the admin role')
    const input = await readInput(req, spec.methods.POST)
    const byAdmin = caller !== undefined && isAdmin(caller)
    if (!byAdmin && input.role !== 'user') throw forbidden('Only an admin may create an admin')
    if (!byAdmin && input.email_verified !== undefined) throw forbidden('Only an admin may set email_verified')
    const linkBase = byAdmin ? undefined : signupLinkBase(req)
    // Sign-ups share the bcrypt workers with logins: 10 an hour per address (429), counted before the hash.
    if (!byAdmin) await countSignup(clientMeta().ip)
    const { user, events } = await createUser({ ...input, emailVerified: input.email_verified })
    record(events)
    if (linkBase) record(await mailSignupLink(user, linkBase))
    send(res, 201, publicUser(user), { Location: `/api/users/${user.username}` })
  },
  // Cursor pages sorted by username: ?limit=1..100&cursor=..&role=..&q=prefix
  GET: async (req, res) => {
    await requireAdmin(req)
    send(res, 200, await listUsers(readQuery(req, spec.methods.GET)))
  },
})
