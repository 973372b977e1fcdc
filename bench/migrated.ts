// A migrated user's first login beside a normal one (issue #21), for `npm run bench`. Users are
// written straight into the service's database as the FastAPI project stores them: an argon2id
// hash with passlib's parameters (m=102400 KiB, t=2, p=8), made here with hash-wasm, each with a
// salt of its own. The first login of each verifies that hash, then stores bcrypt at the
// service's BCRYPT_COST in the same request; the second login of the same user is a normal one
// (a bcrypt compare). Both one at a time, one connection, nothing else running. Local tooling only.
import { randomBytes } from 'node:crypto'
import argon2Wasm from 'hash-wasm/dist/argon2.umd.min.js'
import { ObjectId, type MongoClient } from 'mongodb'
import type { UserDoc } from '../lib/db.js'
import { median } from './load.js'

// passlib 1.7.4's argon2 defaults, which the FastAPI project's CryptContext(schemes=["argon2"]) used.
export const PASSLIB_ARGON2 = { memorySize: 102400, iterations: 2, parallelism: 8, hashLength: 16 } as const

export interface MigratedFigures {
  users: number
  /** One argon2 verify at passlib's parameters in the bench process (hash-wasm, idle server). */
  argon2VerifyMs: number
  firstLogin: { p50Ms: number; samplesMs: number[] }
  normalLogin: { p50Ms: number; samplesMs: number[] }
  /** Every first login left a bcrypt hash behind (the upgrade happened in that request). */
  upgraded: boolean
}

async function timedLogin(url: string, username: string, password: string): Promise<number> {
  const started = performance.now()
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  })
  await res.arrayBuffer()
  const ms = performance.now() - started
  if (res.status !== 200) throw new Error(`migrated login of ${username}: ${res.status}`)
  return ms
}

export async function measureMigratedLogins(opts: { url: string; client: MongoClient; db: string; users: number }): Promise<MigratedFigures> {
  const users = opts.client.db(opts.db).collection<UserDoc>('users')
  const password = `Migrated-${randomBytes(9).toString('base64url')}`
  const now = new Date()
  const docs: UserDoc[] = []
  const hashMs: number[] = []
  for (let i = 0; i < opts.users; i++) {
    const started = performance.now()
    const hash = await argon2Wasm.argon2id({ ...PASSLIB_ARGON2, password, salt: randomBytes(16), outputType: 'encoded' })
    hashMs.push(performance.now() - started)
    const username = `migrated-${i}`
    docs.push({ _id: new ObjectId(), username, email: `${username}@bench.example`, password_hash: hash, role: 'user', disabled: false, created_at: now, updated_at: now })
  }
  await users.insertMany(docs)

  const first: number[] = []
  const normal: number[] = []
  for (const doc of docs) first.push(await timedLogin(opts.url, doc.username, password))
  const after = await users.find({ _id: { $in: docs.map((d) => d._id) } }).toArray()
  for (const doc of docs) normal.push(await timedLogin(opts.url, doc.username, password))
  return {
    users: opts.users,
    // Computing a hash is the same work as verifying one.
    argon2VerifyMs: median(hashMs),
    firstLogin: { p50Ms: median(first), samplesMs: first.map(Math.round) },
    normalLogin: { p50Ms: median(normal), samplesMs: normal.map(Math.round) },
    upgraded: after.length === docs.length && after.every((d) => d.password_hash.startsWith('$2')),
  }
}
