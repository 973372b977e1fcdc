// Fixtures for the MFA rows of the benchmark (issue 18): users with active TOTP written straight
// into the service's database, all on one secret (sealed for each user, as the service seals it)
// and the bench user's password hash, and the bodies of POST /api/auth/mfa/verify for them. A
// code is accepted once per user, so every verify request names a user of its own.
import { ObjectId, type MongoClient } from 'mongodb'
import type { UserDoc } from '../lib/db.js'

export interface MfaFixtures {
  /** A TOTP user whose password is the bench user's: its login answers 403 mfa_required. */
  passwordUser: string
  /** One verify body per user (a fresh mfa_token and the current code), made just before use. */
  verifyBodies(): Promise<string[]>
}

export async function mfaFixtures(client: MongoClient, dbName: string, template: UserDoc, count: number): Promise<MfaFixtures> {
  // The service's own modules, in this process, with the service's environment (set by the caller).
  const { newTotpSecret, totpCode } = await import('../lib/mfa/totp.js')
  const { sealSecret, enrolmentKey } = await import('../lib/mfa/secrets.js')
  const { signMfaToken } = await import('../lib/mfa/token.js')
  const secret = newTotpSecret()
  const key = enrolmentKey()
  const now = new Date()
  const docs: UserDoc[] = Array.from({ length: count }, (_, i) => {
    const _id = new ObjectId()
    const username = `mfa-bench-${i}`
    return {
      _id,
      username,
      email: `${username}@bench.example`,
      password_hash: template.password_hash,
      role: 'user',
      disabled: false,
      created_at: now,
      updated_at: now,
      cred_version: 0,
      mfa: { totp: { secret: sealSecret(secret, _id.toHexString(), key), activated_at: now, last_step: 0 } },
    }
  })
  await client.db(dbName).collection<UserDoc>('users').insertMany(docs)
  return {
    passwordUser: docs[0]!.username,
    async verifyBodies() {
      const code = await totpCode(secret, Date.now())
      return Promise.all(docs.map(async (d) => JSON.stringify({ mfa_token: await signMfaToken(d._id.toHexString(), 0), code })))
    },
  }
}
