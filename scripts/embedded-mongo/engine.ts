// Owns the catalog (databases -> collections), the redo-operation format that every mutation
// emits, replay of those operations, and handing them to durable storage before acknowledgment.
import { Collection, type IndexSpec } from './collection.js'
import type { Doc } from './values.js'

/** One logical change; a write command produces a list of these, journaled as one record. */
export type Op =
  | { o: 'put'; ns: string; d: Doc }
  | { o: 'del'; ns: string; id: unknown }
  | { o: 'cc'; ns: string; opts: Doc; uuid: string }
  | { o: 'dc'; ns: string }
  | { o: 'dd'; db: string }
  | { o: 'ci'; ns: string; spec: IndexSpec }
  | { o: 'di'; ns: string; name: string }

export type Persist = (ops: Op[]) => Promise<void>

export function splitNs(ns: string): [string, string] {
  const i = ns.indexOf('.')
  return [ns.slice(0, i), ns.slice(i + 1)]
}

export class Engine {
  readonly dbs = new Map<string, Map<string, Collection>>()
  /** Set by storage in data-dir mode; in-memory mode acknowledges immediately. */
  persist: Persist | undefined

  collection(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name)
  }

  /** Implicit creation on first write, as mongod does. */
  ensureCollection(db: string, name: string, ops: Op[], opts: Doc = {}): Collection {
    const existing = this.collection(db, name)
    if (existing) return existing
    let colls = this.dbs.get(db)
    if (!colls) this.dbs.set(db, (colls = new Map()))
    const coll = new Collection(db, name, opts)
    colls.set(name, coll)
    ops.push({ o: 'cc', ns: coll.ns, opts, uuid: coll.uuid })
    return coll
  }

  dropCollection(db: string, name: string, ops: Op[]): Collection | undefined {
    const colls = this.dbs.get(db)
    const coll = colls?.get(name)
    if (!colls || !coll) return undefined
    colls.delete(name)
    if (colls.size === 0) this.dbs.delete(db)
    ops.push({ o: 'dc', ns: coll.ns })
    return coll
  }

  dropDatabase(db: string, ops: Op[]): boolean {
    const existed = this.dbs.delete(db)
    if (existed) ops.push({ o: 'dd', db })
    return existed
  }

  /** Re-applies a journaled operation; the latest image wins, constraints were checked when it was first applied. */
  apply(op: Op): void {
    switch (op.o) {
      case 'put': {
        const [db, name] = splitNs(op.ns)
        this.ensureCollection(db, name, []).put(op.d)
        break
      }
      case 'del': {
        const [db, name] = splitNs(op.ns)
        this.collection(db, name)?.removeById(op.id)
        break
      }
      case 'cc': {
        const [db, name] = splitNs(op.ns)
        if (this.collection(db, name)) break
        let colls = this.dbs.get(db)
        if (!colls) this.dbs.set(db, (colls = new Map()))
        colls.set(name, new Collection(db, name, op.opts, op.uuid))
        break
      }
      case 'dc': {
        const [db, name] = splitNs(op.ns)
        this.dropCollection(db, name, [])
        break
      }
      case 'dd':
        this.dropDatabase(op.db, [])
        break
      case 'ci': {
        const [db, name] = splitNs(op.ns)
        const coll = this.ensureCollection(db, name, [])
        if (!coll.indexes.has(op.spec.name)) coll.addIndex(op.spec, false)
        break
      }
      case 'di': {
        const [db, name] = splitNs(op.ns)
        this.collection(db, name)?.dropIndex(op.name)
        break
      }
    }
  }

  /** Resolves once the operations are durable (immediately when nothing changed or in memory). */
  commit(ops: Op[]): Promise<void> {
    if (ops.length === 0 || !this.persist) return Promise.resolve()
    return this.persist(ops)
  }

  allCollections(): Collection[] {
    const out: Collection[] = []
    for (const colls of this.dbs.values()) out.push(...colls.values())
    return out
  }
}
