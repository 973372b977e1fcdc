// Empty variables mean "unset": `.env.example` writes every optional variable as `NAME=`, and a
// copy of it must leave each default in force, locally and deployed. The local tools' loader
// applies the same rule to .env and the real environment.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../lib/config.js'
import { loadLocalEnv } from '../../scripts/local-env.js'

const URI = 'mongodb://127.0.0.1:27017'

describe('loadConfig', () => {
  it.each([
    { name: 'JWT_SECRET (locally)', env: { JWT_SECRET: '' }, want: { jwtSecrets: [new TextEncoder().encode('local-development-secret-not-for-production-use')] } },
    { name: 'MONGODB_DB', env: { MONGODB_DB: '' }, want: { mongoDb: 'auth' } },
    { name: 'number', env: { BCRYPT_COST: '', ACCESS_TOKEN_TTL: ' ', DB_TIMEOUT_MS: '' }, want: { bcryptCost: 12, accessTtlSeconds: 900, dbTimeoutMs: 3000 } },
    { name: 'key', env: { JWT_PRIVATE_KEY: '', JWT_PRIVATE_KEYS: '', JWT_KID: '' }, want: { jwtPrivateKeys: [] } },
    { name: 'LOG_LEVEL or ALLOW_SIGNUP', env: { LOG_LEVEL: '', ALLOW_SIGNUP: '' }, want: { logLevel: 'info', allowSignup: false } },
    { name: 'mail setting', env: { SMTP_URL: '', RESET_URL_BASE: '', MAIL_FROM: '' }, want: { smtpUrl: undefined, resetUrlBase: undefined, mailFrom: 'no-reply@localhost' } },
  ])('an empty $name takes the default', ({ env, want }) => {
    expect(loadConfig({ MONGODB_URI: URI, ...env })).toMatchObject(want)
  })

  it('an empty MONGODB_URI is unset, not a malformed URI', () => {
    expect(() => loadConfig({ MONGODB_URI: '' })).toThrow(/MONGODB_URI is not set/)
  })

  it('an empty JWT_SECRET is still missing when deployed', () => {
    expect(() => loadConfig({ MONGODB_URI: URI, JWT_SECRET: '', VERCEL: '1' })).toThrow(/JWT_SECRET is not set/)
  })
})

describe('MFA settings', () => {
  const DEPLOYED = { MONGODB_URI: URI, JWT_SECRET: 'x'.repeat(32), VERCEL: '1' }
  const hex = 'ab'.repeat(32)

  it.each([
    { name: 'hex', value: hex },
    { name: 'base64', value: Buffer.from(hex, 'hex').toString('base64') },
    { name: 'base64url without padding', value: Buffer.from(hex, 'hex').toString('base64url') },
  ])('MFA_ENCRYPTION_KEY as $name is the same 32 bytes', ({ value }) => {
    expect(loadConfig({ ...DEPLOYED, MFA_ENCRYPTION_KEY: value }).mfaEncryptionKey).toEqual(Buffer.from(hex, 'hex'))
  })

  it.each(['short', 'ab'.repeat(31), 'ab'.repeat(33), Buffer.alloc(31).toString('base64')])('MFA_ENCRYPTION_KEY %s is refused, by name, without echoing it', (value) => {
    expect(() => loadConfig({ ...DEPLOYED, MFA_ENCRYPTION_KEY: value })).toThrow(/MFA_ENCRYPTION_KEY must be 32 bytes/)
    try {
      loadConfig({ ...DEPLOYED, MFA_ENCRYPTION_KEY: value })
    } catch (err) {
      expect(String(err)).not.toContain(value)
    }
  })

  it('without MFA_ENCRYPTION_KEY: a development key locally, none when deployed (enrolment then answers 501)', () => {
    expect(loadConfig({ MONGODB_URI: URI }).mfaEncryptionKey).toHaveLength(32)
    expect(loadConfig({ ...DEPLOYED, MFA_ENCRYPTION_KEY: '' }).mfaEncryptionKey).toBeUndefined()
  })

  it('MFA_REQUIRED_ROLES lists roles; anything else is refused', () => {
    expect(loadConfig({ MONGODB_URI: URI, MFA_REQUIRED_ROLES: ' admin, user ' }).mfaRequiredRoles).toEqual(['admin', 'user'])
    expect(loadConfig({ MONGODB_URI: URI }).mfaRequiredRoles).toEqual([])
    expect(() => loadConfig({ MONGODB_URI: URI, MFA_REQUIRED_ROLES: 'admin,root' })).toThrow(/MFA_REQUIRED_ROLES/)
  })
})

describe('loadLocalEnv', () => {
  let dir: string
  let cwd: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-env-'))
    await writeFile(join(dir, '.env'), 'JWT_SECRET=\nMONGODB_DB=from_file\nDATA_DIR=\nLOG_LEVEL=warn\n')
    cwd = process.cwd()
    process.chdir(dir)
  })
  afterAll(async () => {
    process.chdir(cwd)
    await rm(dir, { recursive: true, force: true })
  })

  it('drops blank variables from .env and lets .env fill blank real ones', () => {
    const env: NodeJS.ProcessEnv = { MONGODB_DB: '', LOG_LEVEL: 'debug', PORT: '' }
    loadLocalEnv(env)
    // Blank in .env: unset. Blank in the environment: .env fills it. Set in both: the environment wins.
    expect(env).toEqual({ MONGODB_DB: 'from_file', LOG_LEVEL: 'debug' })
  })
})
