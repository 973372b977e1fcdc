// Password hashing with bcryptjs. bcrypt reads at most 72 bytes: a longer password is refused
// by the schemas, never silently cut here. Verification of an unknown user still runs a full
// compare against a dummy hash, so timing does not tell which usernames exist.
import bcrypt from 'bcryptjs'
import { getConfig } from './config.js'

export const PASSWORD_MAX_BYTES = 72

export async function hashPassword(password: string, cost = getConfig().bcryptCost): Promise<string> {
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) throw new RangeError('password longer than 72 bytes')
  return bcrypt.hash(password, cost)
}

const dummyHashes = new Map<number, Promise<string>>()

function dummyHash(cost: number): Promise<string> {
  let hash = dummyHashes.get(cost)
  if (!hash) {
    hash = bcrypt.hash('dummy password for absent users', cost)
    dummyHashes.set(cost, hash)
  }
  return hash
}

/** True when `password` matches `hash`; with no hash, does the same work and answers false. */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  const cost = getConfig().bcryptCost
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
    await bcrypt.compare('x', await dummyHash(cost))
    return false
  }
  if (!hash) {
    await bcrypt.compare(password, await dummyHash(cost))
    return false
  }
  return bcrypt.compare(password, hash)
}

/** A hash made at a lower cost than configured is upgraded on the next successful login. */
export function needsRehash(hash: string): boolean {
  const cost = Number(/^\$2[aby]\$(\d{2})\$/.exec(hash)?.[1])
  return !Number.isFinite(cost) || cost < getConfig().bcryptCost
}

export function isBcryptHash(value: string): boolean {
  return /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/.test(value)
}
