// The last-admin rule under three interleaved requests (the review's finding): an admin demotes a
// disabled admin A while re-enabling it, and demotes itself, all at once, being the only other
// enabled admin. When the demotion of A was decided on a read of A made before the admins lock,
// A could be re-enabled in between and the self-demotion counted on it: no admin was left and
// GET /api/users answered 403 to everyone. Every round must leave an enabled admin who can act.
// The second variant sets A's password with the demotion: the hashing (at BCRYPT_COST 10 here)
// between the read of A and the write widens the window in which the others can land, so a rule
// decided on the early read loses the admin almost every round.
import { MongoClient, ObjectId } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, login, newUser, startWithAdmin, type Service } from '../helpers/service.js'

let svc: Service
let adminToken: string
let client: MongoClient

beforeAll(async () => {
  ;({ svc, adminToken } = await startWithAdmin({ BCRYPT_COST: '10' }))
  client = await MongoClient.connect(svc.env.MONGODB_URI!)
})
afterAll(async () => {
  await client?.close()
  await svc?.stop()
})

const users = () => client.db(svc.env.MONGODB_DB).collection<{ _id: ObjectId; username: string; role: string; disabled: boolean }>('users')
const ROUNDS = 6

describe('the last enabled admin', () => {
  it.each([
    { name: 'demote A', demotion: { role: 'user' } },
    { name: 'demote A and set its password', demotion: { role: 'user', password: 'Handed-over-pw-42' } },
  ])(`survives $name + re-enable A racing the only other admin's self-demotion (${ROUNDS} rounds)`, async ({ demotion }) => {
    const outcomes: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const a = await newUser(svc, adminToken, 'admin')
      const b = await newUser(svc, adminToken, 'admin')
      const bToken = (await login(svc, b.username, b.password)).access_token
      expect((await svc.call('PATCH', `/api/users/${a.username}`, { token: adminToken, json: { disabled: true } })).status).toBe(200)
      // Set the stage without the API: B is the only enabled admin (the bootstrap admin and
      // the admins of earlier rounds are disabled, the way a database restore could leave them).
      await users().updateMany({ role: 'admin', _id: { $ne: new ObjectId(b.user.id) } }, { $set: { disabled: true } })

      const [demoteA, enableA, demoteSelf] = await Promise.all([
        svc.call('PATCH', `/api/users/${a.username}`, { token: bToken, json: demotion }),
        svc.call('PATCH', `/api/users/${a.username}`, { token: bToken, json: { disabled: false } }),
        svc.call('PATCH', `/api/users/${b.username}`, { token: bToken, json: { role: 'user' } }),
      ])
      outcomes.push(`${demoteA.status}/${enableA.status}/${demoteSelf.status}`)
      for (const res of [demoteA, enableA, demoteSelf]) expect([200, 401, 409]).toContain(res.status)

      // Read back: an enabled admin is left, and it can still list the users.
      const left = await users().find({ role: 'admin', disabled: false }).toArray()
      expect(left.map((u) => u.username), `round ${round}: ${outcomes.at(-1)}`).not.toEqual([])
      const survivor = left.find((u) => u.username === a.username || u.username === b.username)!
      const password = survivor.username === a.username ? (demoteA.status === 200 && demotion.password) || a.password : b.password
      const token = (await login(svc, survivor.username, password)).access_token
      expect((await svc.call('GET', '/api/users?limit=1', { token })).status).toBe(200)

      // The next round starts from the bootstrap admin again.
      await users().updateMany({ username: { $in: [a.username, b.username] } }, { $set: { disabled: true, role: 'user' } })
      await users().updateOne({ username: ADMIN.username }, { $set: { disabled: false } })
      adminToken = (await login(svc, ADMIN.username, ADMIN.password)).access_token
    }
  })
})
