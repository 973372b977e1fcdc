// Signing-key rotation without logging anyone out: a token signed by the old key keeps working
// (and refreshing) after the service restarts with a new signing key on the same database, and
// stops working once the old key is removed. Ed25519 (JWT_PRIVATE_KEYS) and HS256
// (JWT_SECRET_PREVIOUS).
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { ADMIN, login, startService, type Service, type Tokens } from '../helpers/service.js'

const ROTATION_TIMEOUT_MS = 120_000

async function ed25519(): Promise<{ pem: string; kid: string }> {
  const { privateKey } = generateKeyPairSync('ed25519')
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  // Without JWT_KID a key's kid is its RFC 7638 JWK thumbprint.
  const kid = await calculateJwkThumbprint(await exportJWK(createPublicKey(privateKey)))
  return { pem, kid }
}

const headerOf = (t: Tokens) => JSON.parse(Buffer.from(t.access_token.split('.')[0]!, 'base64url').toString()) as { alg: string; kid: string }
const me = (s: Service, t: Tokens) => s.call('GET', '/api/users/me', { token: t.access_token })
const refresh = (s: Service, t: Tokens) => s.call('POST', '/api/auth/refresh', { json: { refresh_token: t.refresh_token } })

async function jwks(s: Service): Promise<{ kid: string; d?: string }[]> {
  const res = await s.fetch('/.well-known/jwks.json')
  expect(res.status).toBe(200)
  return (await res.json()).keys
}

/** Runs fn against a service, always stopping it. */
async function using<T>(env: Record<string, string>, fn: (s: Service) => Promise<T>): Promise<T> {
  const s = await startService(env)
  try {
    return await fn(s)
  } finally {
    await s.stop()
  }
}

describe('key rotation', () => {
  it(
    'Ed25519: a token signed by B still works and refreshes after A takes over signing; JWKS lists both',
    async () => {
      const [a, b] = await Promise.all([ed25519(), ed25519()])
      const db = `t_rot_${randomBytes(5).toString('hex')}`

      const old = await using({ JWT_PRIVATE_KEYS: b.pem + a.pem, MONGODB_DB: db }, async (s) => {
        const t = await login(s, ADMIN.username, ADMIN.password)
        expect(headerOf(t)).toMatchObject({ alg: 'EdDSA', kid: b.kid })
        expect((await jwks(s)).map((k) => k.kid)).toEqual([b.kid, a.kid])
        return t
      })

      const fresh = await using({ JWT_PRIVATE_KEYS: `${a.pem}\n${b.pem}`, MONGODB_DB: db }, async (s) => {
        expect((await me(s, old)).status).toBe(200)
        const r = await refresh(s, old)
        expect(r.status).toBe(200)
        const next = (await r.json()) as Tokens
        expect(headerOf(next).kid).toBe(a.kid)
        expect((await me(s, next)).status).toBe(200)
        const keys = await jwks(s)
        expect(keys.map((k) => k.kid)).toEqual([a.kid, b.kid])
        // Public keys only.
        expect(keys.every((k) => k.d === undefined)).toBe(true)
        return next
      })

      // Once B is retired, what it signed is refused; A's tokens keep working.
      await using({ JWT_PRIVATE_KEYS: a.pem, MONGODB_DB: db }, async (s) => {
        expect((await me(s, old)).status).toBe(401)
        expect((await me(s, fresh)).status).toBe(200)
        expect((await jwks(s)).map((k) => k.kid)).toEqual([a.kid])
      })
    },
    ROTATION_TIMEOUT_MS,
  )

  it(
    'HS256: a token signed with the old JWT_SECRET verifies under JWT_SECRET_PREVIOUS, and refreshes onto the new one',
    async () => {
      const oldSecret = randomBytes(32).toString('base64url')
      const newSecret = randomBytes(32).toString('base64url')
      const db = `t_rot_${randomBytes(5).toString('hex')}`

      const old = await using({ JWT_SECRET: oldSecret, MONGODB_DB: db }, async (s) => {
        const t = await login(s, ADMIN.username, ADMIN.password)
        expect(headerOf(t).alg).toBe('HS256')
        return t
      })

      const fresh = await using({ JWT_SECRET: newSecret, JWT_SECRET_PREVIOUS: oldSecret, MONGODB_DB: db }, async (s) => {
        expect((await me(s, old)).status).toBe(200)
        const r = await refresh(s, old)
        expect(r.status).toBe(200)
        const next = (await r.json()) as Tokens
        expect(headerOf(next).kid).not.toBe(headerOf(old).kid)
        expect((await me(s, next)).status).toBe(200)
        // A shared secret is never published.
        expect(await jwks(s)).toEqual([])
        return next
      })

      await using({ JWT_SECRET: newSecret, MONGODB_DB: db }, async (s) => {
        expect((await me(s, old)).status).toBe(401)
        expect((await me(s, fresh)).status).toBe(200)
      })
    },
    ROTATION_TIMEOUT_MS,
  )
})
