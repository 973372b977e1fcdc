// Coalesced lookups: concurrent lookups share a query, every query is sent after the lookups it
// answers were asked for, each waiter gets its own key's answer, and a failure reaches every
// waiter of that query and no other.
import { describe, expect, it } from 'vitest'
import { coalesce } from '../../lib/coalesce.js'

/** A fake store whose queries the test answers by hand, recording what each one asked. */
function harness(options: { maxInFlight?: number; maxKeys?: number } = {}) {
  const queries: { keys: string[]; contexts: string[]; finish: (fail?: Error) => void }[] = []
  const store = new Map<string, number>()
  let context = 'none'
  const lookup = coalesce<string, number, string>(
    (keys, contexts) =>
      new Promise((resolve, reject) => {
        queries.push({
          keys,
          contexts,
          // Read the store when the query is answered, as a database would.
          finish: (fail) => (fail ? reject(fail) : resolve(new Map(keys.filter((k) => store.has(k)).map((k) => [k, store.get(k)!])))),
        })
      }),
    () => context,
    options,
  )
  const ask = (key: string, ctx = 'none') => {
    context = ctx
    return lookup(key)
  }
  return { queries, store, ask }
}

const tick = () => new Promise((done) => setTimeout(done, 0))

describe('coalesce', () => {
  it('sends a lone lookup at once, alone', async () => {
    const h = harness()
    h.store.set('a', 1)
    const a = h.ask('a')
    await tick()
    expect(h.queries.map((q) => q.keys)).toEqual([['a']])
    h.queries[0]!.finish()
    expect(await a).toBe(1)
  })

  it('puts lookups that arrive while a query is in flight into the next query, each getting its own answer', async () => {
    const h = harness({ maxInFlight: 1 })
    h.store.set('a', 1).set('b', 2).set('c', 3)
    const a = h.ask('a')
    await tick()
    const later = [h.ask('b'), h.ask('c'), h.ask('b'), h.ask('missing')]
    await tick()
    expect(h.queries).toHaveLength(1)
    h.queries[0]!.finish()
    expect(await a).toBe(1)
    await tick()
    expect(h.queries).toHaveLength(2)
    // Repeated keys are asked once.
    expect(h.queries[1]!.keys).toEqual(['b', 'c', 'missing'])
    h.queries[1]!.finish()
    expect(await Promise.all(later)).toEqual([2, 3, 2, undefined])
  })

  it('never answers a lookup from a query sent before it was asked for', async () => {
    const h = harness({ maxInFlight: 1 })
    h.store.set('s', 1)
    const first = h.ask('s')
    await tick()
    // The session ends while the first query is out; a lookup asked after that must see it.
    h.store.delete('s')
    const second = h.ask('s')
    h.queries[0]!.finish()
    await first
    await tick()
    expect(h.queries).toHaveLength(2)
    h.queries[1]!.finish()
    expect(await second).toBeUndefined()
  })

  it('keeps up to maxInFlight queries out at once, then queues', async () => {
    const h = harness({ maxInFlight: 2 })
    const a = h.ask('a')
    await tick()
    const b = h.ask('b')
    await tick()
    const c = h.ask('c')
    const d = h.ask('d')
    await tick()
    expect(h.queries.map((q) => q.keys)).toEqual([['a'], ['b']])
    h.queries[1]!.finish()
    await tick()
    expect(h.queries.map((q) => q.keys)).toEqual([['a'], ['b'], ['c', 'd']])
    h.queries[0]!.finish()
    h.queries[2]!.finish()
    expect(await Promise.all([a, b, c, d])).toEqual([undefined, undefined, undefined, undefined])
  })

  it('splits a queue longer than maxKeys over several queries', async () => {
    const h = harness({ maxInFlight: 1, maxKeys: 2 })
    const first = h.ask('x')
    await tick()
    const rest = ['a', 'b', 'a', 'c', 'd', 'e'].map((k) => h.ask(k))
    h.queries[0]!.finish()
    await first
    await tick()
    expect(h.queries[1]!.keys).toEqual(['a', 'b'])
    h.queries[1]!.finish()
    await tick()
    expect(h.queries[2]!.keys).toEqual(['c', 'd'])
    h.queries[2]!.finish()
    await tick()
    expect(h.queries[3]!.keys).toEqual(['e'])
    h.queries[3]!.finish()
    await Promise.all(rest)
  })

  it('sends a failure to every waiter of that query and to no other', async () => {
    const h = harness({ maxInFlight: 1 })
    h.store.set('b', 2)
    const a = h.ask('a')
    await tick()
    const b = h.ask('b')
    h.queries[0]!.finish(new Error('database away'))
    await expect(a).rejects.toThrow('database away')
    await tick()
    h.queries[1]!.finish()
    expect(await b).toBe(2)
  })

  it('turns a load that throws at once into a rejection, and keeps serving', async () => {
    let calls = 0
    const lookup = coalesce<string, number, undefined>(
      () => {
        calls += 1
        if (calls === 1) throw new Error('no connection')
        return Promise.resolve(new Map([['a', 1]]))
      },
      () => undefined,
    )
    await expect(lookup('a')).rejects.toThrow('no connection')
    expect(await lookup('a')).toBe(1)
  })

  it('hands the load the context of every lookup it answers', async () => {
    const h = harness({ maxInFlight: 1 })
    const a = h.ask('a', 'req-1')
    await tick()
    const b = h.ask('b', 'req-2')
    const c = h.ask('b', 'req-3')
    h.queries[0]!.finish()
    await a
    await tick()
    expect(h.queries[1]!.contexts).toEqual(['req-2', 'req-3'])
    h.queries[1]!.finish()
    await Promise.all([b, c])
  })
})
