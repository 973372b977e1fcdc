// The embedded server's query planner: index-served results must equal a plain mingo scan,
// and equality/$in lookups must come from the hash index rather than a collection scan.
import { describe, expect, it } from 'vitest'
import { ObjectId } from 'bson'
import { Query } from 'mingo'
import { Collection } from '../../scripts/embedded-mongo/collection.js'
import { compileFilter } from '../../scripts/embedded-mongo/mingo.js'
import type { Doc } from '../../scripts/embedded-mongo/values.js'

function seeded(n: number): Collection {
  const c = new Collection('db', 'c')
  c.addIndex({ v: 2, key: { email: 1 }, name: 'email_1', unique: true })
  c.addIndex({ v: 2, key: { group: 1 }, name: 'group_1' })
  c.addIndex({ v: 2, key: { nick: 1 }, name: 'nick_1', sparse: true })
  c.addIndex({ v: 2, key: { tags: 1 }, name: 'tags_1' })
  c.addIndex({ v: 2, key: { score: 1 }, name: 'score_1' })
  for (let i = 0; i < n; i++) {
    const doc: Doc = { _id: new ObjectId(), email: `u${(i * 7919) % n}@x`, group: i % 7, score: (i * 31) % 101, tags: [`t${i % 3}`, `t${i % 5}`] }
    if (i % 4 === 0) doc.nick = `n${i % 10}`
    if (i % 9 === 0) doc.score = null
    c.insert(doc)
  }
  // Exercise updates and deletes so the ordered views carry pending changes.
  let k = 0
  for (const d of [...c.docs.values()]) {
    if (k % 11 === 0) c.remove(d)
    else if (k % 13 === 0) c.replace(d, { ...d, score: ((d.score as number) ?? 0) + 1000, group: 99 })
    k++
  }
  return c
}

function reference(c: Collection, filter: Doc, sort?: Doc, skip = 0, limit = 0): Doc[] {
  let cur = new Query(filter, {}).find<Doc>([...c.docs.values()])
  if (sort) cur = cur.sort(sort)
  if (skip) cur = cur.skip(skip)
  if (limit) cur = cur.limit(limit)
  return cur.all()
}

describe('embedded mongo query planner', () => {
  const c = seeded(3000)

  it('serves equality and $in from the hash index', () => {
    expect(c.equalityCandidates({ email: 'u5@x' })).toHaveLength(1)
    expect(c.equalityCandidates({ email: { $in: ['u5@x', 'u6@x', 'nope'] } })).toHaveLength(2)
    expect(c.equalityCandidates({ $and: [{ group: 3 }, { email: 'u5@x' }] })).toHaveLength(1)
    const id = [...c.docs.values()][10]!._id
    expect(c.equalityCandidates({ _id: id })).toHaveLength(1)
    expect(c.equalityCandidates({ tags: 't1' })!.length).toBeLessThan(c.docs.size)
    // A sparse index cannot answer {nick: null}; a regex cannot use a hash index.
    expect(c.equalityCandidates({ nick: null })).toBeNull()
    expect(c.equalityCandidates({ email: /u5/ })).toBeNull()
  })

  const cases: [Doc, Doc | undefined, number, number][] = [
    [{ email: 'u5@x' }, undefined, 0, 0],
    [{ group: 3 }, { score: 1 }, 0, 0],
    [{ group: { $in: [1, 2] }, score: { $gt: 50 } }, { email: -1 }, 3, 10],
    [{ tags: 't2' }, undefined, 0, 0],
    [{ nick: null }, undefined, 0, 0],
    [{ nick: 'n4' }, undefined, 0, 0],
    [{ email: { $gt: 'u500@x' } }, { email: 1 }, 0, 25],
    [{ email: { $gte: 'u500@x', $lt: 'u600@x' } }, { email: -1 }, 2, 15],
    [{ score: { $gte: 40, $lte: 60 } }, { score: 1 }, 0, 30],
    [{}, { score: -1 }, 5, 20],
    [{}, { _id: 1 }, 0, 50],
    [{ group: 99 }, { _id: -1 }, 0, 5],
    [{ score: { $lt: 10 } }, { score: -1 }, 0, 7],
  ]

  it.each(cases)('matches a full scan for %j sort %j skip %i limit %i', (filter, sort, skip, limit) => {
    const got = c.scan(filter, compileFilter(filter), { sort, skip, limit })
    const want = reference(c, filter, sort, skip, limit)
    const key = (d: Doc) => String(d._id)
    if (sort) {
      // Ties may legitimately come back in a different order; compare the sort keys in order and the sets.
      const field = Object.keys(sort)[0]!
      expect(got.map((d) => d[field] ?? null)).toEqual(want.map((d) => d[field] ?? null))
      if (!limit && !skip) expect(got.map(key).sort()).toEqual(want.map(key).sort())
    } else {
      expect(got.map(key).sort()).toEqual(want.map(key).sort())
    }
  })

  it('keeps fast-path equality semantics identical to mingo', () => {
    const docs: Doc[] = [{ a: 1 }, { a: 1.0 }, { a: [1, 2] }, { a: { b: 1 } }, { a: [{ b: 1 }, { b: 2 }] }, { a: '1' }, {}, { a: null }, { a: [] }]
    for (const filter of [{ a: 1 }, { 'a.b': 1 }, { a: '1' }, { 'a.b': 2 }, { a: 2 }]) {
      const fast = compileFilter(filter)
      const slow = new Query(filter, {})
      expect(docs.map((d) => fast.test(d))).toEqual(docs.map((d) => slow.test(d)))
    }
  })
})
