// Coalescing of lookups by key: lookups that arrive while earlier ones are in flight wait and go
// out together as the next query, so under concurrency many requests share one database round
// trip, while a lone request waits for nobody (its query leaves on the next microtask). Every
// query is sent after the lookups it serves were asked for, so nothing is ever answered from an
// older read: a session ended before a request arrived is seen as ended by that request.
// Pure logic, no I/O of its own; it never mixes answers up (each waiter gets its own key's value).

export interface CoalesceOptions {
  /** Queries in flight at once; more lookups than this wait for the next free slot. */
  maxInFlight?: number
  /** Distinct keys per query at most (the rest go in the next one). */
  maxKeys?: number
}

interface Waiter<K, V, C> {
  key: K
  context: C
  resolve: (value: V | undefined) => void
  reject: (reason: unknown) => void
}

/**
 * Wraps `load(keys, contexts)`, which answers a map of the keys it found, into a per-key lookup.
 * `capture` runs when a lookup is asked for, in the caller's async context (to bill the shared
 * query to each request that waited for it, for example).
 */
export function coalesce<K, V, C = undefined>(
  load: (keys: K[], contexts: C[]) => Promise<Map<K, V>>,
  capture: () => C,
  options: CoalesceOptions = {},
): (key: K) => Promise<V | undefined> {
  const maxInFlight = Math.max(1, options.maxInFlight ?? 1)
  const maxKeys = Math.max(1, options.maxKeys ?? 100)
  const queue: Waiter<K, V, C>[] = []
  let inFlight = 0
  let scheduled = false

  const takeBatch = (): Waiter<K, V, C>[] => {
    const keys = new Set<K>()
    let n = 0
    // In arrival order; a repeated key rides along without taking a place.
    while (n < queue.length && (keys.size < maxKeys || keys.has(queue[n]!.key))) keys.add(queue[n++]!.key)
    return queue.splice(0, n)
  }

  const dispatch = (): void => {
    scheduled = false
    while (queue.length > 0 && inFlight < maxInFlight) {
      const batch = takeBatch()
      inFlight += 1
      const keys = [...new Set(batch.map((w) => w.key))]
      Promise.resolve()
        .then(() => load(keys, batch.map((w) => w.context)))
        .then(
          (found) => {
            for (const w of batch) w.resolve(found.get(w.key))
          },
          (err: unknown) => {
            for (const w of batch) w.reject(err)
          },
        )
        .finally(() => {
          inFlight -= 1
          dispatch()
        })
    }
  }

  return (key) =>
    new Promise<V | undefined>((resolve, reject) => {
      queue.push({ key, context: capture(), resolve, reject })
      // Lookups asked for in the same tick share the first query; later ones queue behind it.
      if (!scheduled && inFlight < maxInFlight) {
        scheduled = true
        queueMicrotask(dispatch)
      }
    })
}
