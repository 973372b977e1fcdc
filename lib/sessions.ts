// Sessions: one document per login, holding the hash of the current refresh token. Access
// tokens name their session (`sid`); a request is authenticated by one query that checks the
// session is live and loads its user, so ending a session takes effect on the next request.
// A session records the credential version of its user when it started (credentials.ts), and
// the session read and refresh refuse it once the user's version has moved on: a login that read
// the old password hash before a change can insert its session after the change ended the
// others, and that session must still be dead.
// Refresh tokens are random, single use and stored only as SHA-256 hashes (256-bit secrets
// need no slow hash); a used one ends the session unless it comes back within the reuse grace.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { ObjectId } from 'mongodb'
import { getConfig } from './config.js'
import { coalesce } from './coalesce.js'
import { credVersion, versionIs } from './credentials.js'
import { collections, currentDbMetrics, getDb, objectId, onBehalfOf, type DbMetrics, type SessionDoc, type UserDoc } from './db.js'
import { invalidGrant, unauthorized, type Problem } from './problem.js'
import type { AuditEvent, Outcome } from './audit.js'
import type { SessionView } from './schemas.js'
import { PASSWORD_ONLY, signAccessToken, type AccessClaims, type Assurance } from './tokens.js'
import type { AnyBulkWriteOperation } from 'mongodb'
import { now as clockNow } from './clock.js'

export interface TokenPair {
  access_token: string
  token_type: 'bearer'
  expires_in: number
  refresh_token: string
}

export interface ClientMeta {
  ip: string
  userAgent: string
}

/** The caller of an authenticated request: the live session and its user. */
export interface Caller {
  sid: string
  user: UserDoc
  /** How the session was authenticated, from the verified access token. */
  assurance: Assurance
}

// How many rotated hashes a session remembers: reuse of any of them is detected.
const REMEMBERED_HASHES = 50

const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url')

// Format `<sid>.<secret>`: the sid finds the session by its _id; only the hash of the whole
// token is stored. 256 random bits of secret (RFC 6749 10.10 asks for unguessable tokens).
function newRefreshToken(sid: string): { token: string; hash: string } {
  const token = `${sid}.${randomBytes(32).toString('base64url')}`
  return { token, hash: hashToken(token) }
}

async function pairFor(session: Pick<SessionDoc, '_id' | 'user_id' | 'username' | 'role' | 'amr' | 'aal'>, refreshToken: string): Promise<TokenPair> {
  // A refresh keeps the assurance the session was started with.
  const assurance = session.aal ? { amr: session.amr ?? PASSWORD_ONLY.amr, aal: session.aal } : PASSWORD_ONLY
  const claims: AccessClaims = { sub: session.user_id.toHexString(), preferred_username: session.username, role: session.role, sid: session._id, ...assurance }
  const { token, expiresIn } = await signAccessToken(claims)
  return { access_token: token, token_type: 'bearer', expires_in: expiresIn, refresh_token: refreshToken }
}

/**
 * Starts a session for a user who just proved their password, stamped with the credential
 * version read together with the hash that was compared (so a change in between leaves it dead).
 * `alsoWrite` (the clearing of the account's login attempts) goes in the same update command: the
 * session is an upsert of a fresh random id, which always inserts. `assurance` is how the user
 * proved who they are (a password, or a password and a second factor). `claim`, when given, is a
 * write that must succeed before the session exists (the upsert that spends a single-use
 * mfa_token): it goes first in an ordered bulk write, so its duplicate key stops the session.
 */
export async function createSession(
  user: UserDoc,
  meta: ClientMeta,
  alsoWrite: AnyBulkWriteOperation<SessionDoc>[] = [],
  assurance: Assurance = PASSWORD_ONLY,
  claim?: AnyBulkWriteOperation<SessionDoc>,
): Promise<TokenPair> {
  const { sessions } = await collections()
  const now = clockNow()
  const sid = randomBytes(16).toString('base64url')
  const refresh = newRefreshToken(sid)
  const session: SessionDoc = {
    _id: sid,
    user_id: user._id,
    username: user.username,
    role: user.role,
    refresh_hash: refresh.hash,
    recent: [],
    created_at: now,
    last_used_at: now,
    expires_at: new Date(now.getTime() + getConfig().refreshTtlSeconds * 1000),
    user_agent: meta.userAgent.slice(0, 200),
    ip: meta.ip,
    cred_version: credVersion(user),
    amr: assurance.amr,
    aal: assurance.aal,
  }
  if (claim) {
    const { _id, ...fields } = session
    await sessions.bulkWrite([claim, { updateOne: { filter: { _id }, update: { $setOnInsert: fields }, upsert: true } }, ...alsoWrite], { ordered: true })
  } else if (alsoWrite.length > 0) {
    const { _id, ...fields } = session
    await sessions.bulkWrite([{ updateOne: { filter: { _id }, update: { $setOnInsert: fields }, upsert: true } }, ...alsoWrite], { ordered: false })
  } else {
    await sessions.insertOne(session)
  }
  return pairFor(session, refresh.token)
}

/** A grant's result (login, refresh): a token pair, or the refusal to throw; either way what to audit. */
export type GrantResult = Outcome & ({ pair: TokenPair } | { refusal: Problem })

/**
 * Rotates a refresh token: one atomic update in the common case. A token rotated away less than
 * REFRESH_REUSE_INTERVAL ago gets a fresh pair (a lost response, two tabs); an older one is
 * treated as stolen and ends the whole session (RFC 9700 4.14.2), which is audited as
 * `token.reuse`. Tokens that are simply not valid are refused by a throw, with nothing to audit.
 */
export async function rotateRefreshToken(token: string, meta: ClientMeta): Promise<GrantResult> {
  const sid = token.split('.')[0] ?? ''
  if (!/^[A-Za-z0-9_-]{22}$/.test(sid)) throw invalidGrant('The refresh token is not valid')
  const { sessions } = await collections()
  const now = clockNow()
  const hash = hashToken(token)
  const next = newRefreshToken(sid)
  const touch = { last_used_at: now, user_agent: meta.userAgent.slice(0, 200), ip: meta.ip }

  const rotated = await sessions.findOneAndUpdate(
    { _id: sid, refresh_hash: hash, expires_at: { $gt: now } },
    { $set: { refresh_hash: next.hash, ...touch }, $push: { recent: { $each: [{ hash, at: now }], $slice: -REMEMBERED_HASHES } } },
    { returnDocument: 'after' },
  )
  if (rotated) {
    await refuseStale(rotated)
    return { pair: await pairFor(rotated, next.token), actor: actorOf(rotated), events: [{ event: 'token.refresh' }] }
  }

  // Not the current token: find out whether it is a recent one, an old one, or nothing of ours.
  const session = await sessions.findOne({ _id: sid, expires_at: { $gt: now } })
  const seen = session?.recent.find((r) => safeEqual(r.hash, hash))
  if (!session || !seen) throw invalidGrant('The refresh token is not valid')
  const graceMs = getConfig().refreshReuseSeconds * 1000
  if (now.getTime() - seen.at.getTime() < graceMs) {
    // Compare-and-set on the current hash, so two graced refreshes cannot both win.
    const graced = await sessions.findOneAndUpdate(
      { _id: sid, refresh_hash: session.refresh_hash },
      {
        $set: { refresh_hash: next.hash, ...touch },
        $push: { recent: { $each: [{ hash: session.refresh_hash, at: now }], $slice: -REMEMBERED_HASHES } },
      },
      { returnDocument: 'after' },
    )
    if (graced) {
      await refuseStale(graced)
      return { pair: await pairFor(graced, next.token), actor: actorOf(graced), events: [{ event: 'token.refresh_grace' }] }
    }
    throw invalidGrant('The refresh token is not valid')
  }
  await sessions.deleteOne({ _id: sid })
  return {
    actor: actorOf(session),
    events: [{ event: 'token.reuse', detail: { session_id: session._id } }],
    refusal: invalidGrant('The refresh token was already used; the session has ended'),
  }
}

const actorOf = (session: Pick<SessionDoc, 'user_id' | 'username'>) => ({ id: session.user_id.toHexString(), username: session.username })

/**
 * A refresh is refused, and its session ended, when the session's user is gone, disabled or on
 * another credential version than the session was started under (one read of the user).
 */
async function refuseStale(session: SessionDoc): Promise<void> {
  const { users, sessions } = await collections()
  const user = await users.findOne({ _id: session.user_id }, { projection: { cred_version: 1, disabled: 1 } })
  if (user && !user.disabled && credVersion(user) === credVersion(session)) return
  await sessions.deleteOne({ _id: session._id })
  throw invalidGrant('The session has ended')
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

type CallerRow = { _id: string; user_id: ObjectId; user: UserDoc[]; cred_version?: number }

// Sessions and their users for many session ids in one aggregate: concurrent authenticated
// requests in this instance share one round trip (coalesce.ts), each still read after it arrived.
const lookupSession = coalesce<string, CallerRow, DbMetrics | undefined>(
  (sids, participants) =>
    onBehalfOf(participants, async () => {
      // The aggregate command itself rather than a cursor: at most one row per id, so a first
      // batch one larger than the ids holds them all and the server closes the cursor; and the
      // driver decodes the reply once (a cursor decodes it again after command monitoring).
      const reply = await (await getDb()).command({
        aggregate: 'sessions',
        pipeline: [
          { $match: { _id: sids.length === 1 ? sids[0] : { $in: sids }, expires_at: { $gt: clockNow() } } },
          { $lookup: { from: 'users', localField: 'user_id', foreignField: '_id', as: 'user' } },
          { $project: { user_id: 1, user: 1, cred_version: 1 } },
        ],
        cursor: { batchSize: sids.length + 1 },
      })
      const cursor = reply.cursor as { id: unknown; firstBatch: CallerRow[] }
      if (Number(cursor.id) !== 0) throw new Error('the session read left a cursor open')
      // Requests that named the same session share its row: frozen, so none can change another's.
      for (const row of cursor.firstBatch) for (const user of row.user) Object.freeze(user)
      return new Map(cursor.firstBatch.map((row) => [row._id, Object.freeze(row)]))
    }),
  currentDbMetrics,
  { maxInFlight: 4, maxKeys: 100 },
)

/**
 * The live session named by verified claims, with its user, in one round trip. Refused (401)
 * when the session has ended, the user is gone or disabled, the user's credentials changed since
 * the session started, or the role in the token is stale.
 */
export async function loadCaller(claims: AccessClaims): Promise<Caller> {
  const row = await lookupSession(claims.sid)
  const user = row?.user[0]
  if (!row || !user || row.user_id.toHexString() !== claims.sub) throw unauthorized('The session has ended')
  if (user.disabled) throw unauthorized('The account is disabled')
  if (credVersion(user) !== credVersion(row)) throw unauthorized('The session has ended')
  if (user.role !== claims.role) throw unauthorized('The session has ended')
  return { sid: claims.sid, user, assurance: { amr: claims.amr, aal: claims.aal } }
}

/** Ends the caller's own session; false when it had already ended. One delete. */
export async function endSession(userId: string, sid: string): Promise<boolean> {
  const { sessions } = await collections()
  const { deletedCount } = await sessions.deleteOne({ _id: sid, user_id: objectId(userId) })
  return deletedCount === 1
}

/**
 * After a user changed their own password: the session they changed it from moves to the new
 * credential version (only if it is still on the version the change was made from, so a session
 * ended or outdated meanwhile stays so) and every other session ends.
 */
export async function keepOnlySession(userId: ObjectId, sid: string, from: number, to: number): Promise<void> {
  const { sessions } = await collections()
  await Promise.all([
    sessions.updateOne({ _id: sid, user_id: userId, cred_version: versionIs(from) }, { $set: { cred_version: to } }),
    endSessions(userId, sid),
  ])
}

/** Ends every session of a user, or every one but `keep`. */
export async function endSessions(userId: ObjectId, keep?: string): Promise<number> {
  const { sessions } = await collections()
  const { deletedCount } = await sessions.deleteMany(keep ? { user_id: userId, _id: { $ne: keep } } : { user_id: userId })
  return deletedCount
}

/**
 * A user ends one of their own sessions: logging out of the current one (`logout`, scope local)
 * or ending another from the list (`session.ended`). The event, or undefined when no live session
 * of theirs has that id (one delete proves both).
 */
export async function endOwnSession(userId: string, sid: string, as: 'logout' | 'session.ended'): Promise<AuditEvent[] | undefined> {
  if (!(await endSession(userId, sid))) return undefined
  return [as === 'logout' ? { event: 'logout', detail: { scope: 'local' } } : { event: 'session.ended', detail: { session_id: sid } }]
}

/** A user logs out everywhere (`global`) or everywhere but the session `keep` (`others`). */
export async function logOutEverywhere(userId: ObjectId, keep?: string): Promise<AuditEvent[]> {
  await endSessions(userId, keep)
  return [{ event: 'logout', detail: { scope: keep === undefined ? 'global' : 'others' } }]
}

/** An admin signs a user out everywhere: `sessions.ended`, with how many there were. */
export async function endSessionsOf(user: UserDoc): Promise<AuditEvent[]> {
  const count = await endSessions(user._id)
  return [{ event: 'sessions.ended', target: { id: user._id.toHexString(), username: user.username }, detail: { count } }]
}


/** A client address cut to its network (/24 for IPv4, /48 for IPv6): enough to recognise, not to locate. */
export function truncateIp(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.\d+$/.exec(ip)
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`
  if (ip.includes(':')) {
    const groups = ip.split('::')[0]!.split(':').filter(Boolean).slice(0, 3)
    while (groups.length < 3) groups.push('0')
    return `${groups.join(':')}::/48`
  }
  return 'unknown'
}

/**
 * The user's live sessions, newest first. A session left on an older credential version (a
 * login that straddled a password change) is refused on use, so it is not listed as live either.
 */
export async function listSessions(user: Pick<UserDoc, '_id' | 'cred_version'>, currentSid?: string): Promise<SessionView[]> {
  const { sessions } = await collections()
  const docs = await sessions
    .find({ user_id: user._id, expires_at: { $gt: clockNow() }, cred_version: versionIs(credVersion(user)) }, { projection: { refresh_hash: 0, recent: 0 } })
    .sort({ created_at: -1 })
    .limit(200)
    .toArray()
  return docs.map((s) => ({
    id: s._id,
    created_at: s.created_at.toISOString(),
    last_used_at: s.last_used_at.toISOString(),
    expires_at: s.expires_at.toISOString(),
    user_agent: s.user_agent,
    ip: truncateIp(s.ip),
    current: s._id === currentSid,
  }))
}
