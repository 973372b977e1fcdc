// Where the local tools keep and find the embedded database. `npm run dev` starts it on a free
// port, which only its log showed; while it runs it leaves the address in
// `<data dir>/embedded-mongodb.json`, so `npm run seed` (or anyone: `cat .data/embedded-mongodb.json`)
// finds it when MONGODB_URI is not set. With DATA_DIR=:memory: there is no data directory, and
// the record goes to `.data/` all the same: the one place a reader of the README looks, holding
// no data. The file is removed on exit; one left by a killed process names a dead pid and is
// ignored. Local tooling only; never imported by api/ or lib/.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const DEFAULT_DATA_DIR = '.data'
export const MEMORY = ':memory:'
const RECORD_FILE = 'embedded-mongodb.json'

export interface DataDir {
  /** the data directory, or the directory that holds only the record when `memory` */
  dir: string
  memory: boolean
}

/** A DATA_DIR value as `npm run dev` and `npm run db` read it (default `.data`, `:memory:` for none). */
export function dataDirFrom(value: string | undefined = process.env.DATA_DIR): DataDir {
  return value === MEMORY ? { dir: DEFAULT_DATA_DIR, memory: true } : { dir: value ?? DEFAULT_DATA_DIR, memory: false }
}

export function recordPath(where: DataDir = dataDirFrom()): string {
  return join(where.dir, RECORD_FILE)
}

interface DatabaseRecord {
  uri: string
  pid: number
  /** which tool wrote it, for the messages of the tools that read it */
  by: 'npm run dev'
}

/** Leaves the address for the other tools; returns the function that takes it away again. */
export function recordDatabase(where: DataDir, uri: string, by: DatabaseRecord['by']): () => void {
  const file = recordPath(where)
  mkdirSync(where.dir, { recursive: true })
  writeFileSync(file, JSON.stringify({ uri, pid: process.pid, by } satisfies DatabaseRecord) + '\n')
  return () => {
    // Another dev may have written its own since (two in-memory runs share `.data/`): leave
    // theirs alone.
    if (readRecord(file)?.pid === process.pid) rmSync(file, { force: true })
  }
}

function readRecord(file: string): DatabaseRecord | undefined {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<DatabaseRecord>
    return typeof data.uri === 'string' && Number.isInteger(data.pid) ? (data as DatabaseRecord) : undefined
  } catch {
    return undefined
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export type Found = { uri: string; by: DatabaseRecord['by']; file: string } | { stale: true; pid: number; file: string } | undefined

/** The embedded database a running `npm run dev` or `npm run db` left its address for. */
export function findRunningDatabase(where: DataDir = dataDirFrom()): Found {
  const file = recordPath(where)
  const record = readRecord(file)
  if (!record) return undefined
  if (!isRunning(record.pid)) return { stale: true, pid: record.pid, file }
  return { uri: record.uri, by: record.by, file }
}
