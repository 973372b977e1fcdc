// The other database of `npm run seed -- --from-uri`: reads the users of the project being
// replaced (the FastAPI project keeps them in testdb.users) as raw rows, for the same judgement
// as a file. Read-only there: one `find`, sorted by _id, nothing else (no index, no write, no
// other command), on a client of its own that is closed before anything is written. Messages
// name the host, never the connection string's password.
import { MongoClient } from 'mongodb'
import { rawFromDocument, type RawRow } from './input.js'
import { describeUri, redactSecrets } from '../mongo-uri.js'

export interface SourceOptions {
  uri: string
  db: string
  collection: string
  timeoutMs: number
}

/** The source cannot be read at all (connection, authentication, a refused find): exit 2. */
export class SourceError extends Error {
  override name = 'SourceError'
}

/** What to call the source in a summary: `testdb.users at host:27017`. */
export function describeSource(o: Pick<SourceOptions, 'uri' | 'db' | 'collection'>): string {
  return `${o.db}.${o.collection} at ${describeUri(o.uri)}`
}

export async function readSourceRows(o: SourceOptions): Promise<RawRow[]> {
  const client = new MongoClient(o.uri, {
    serverSelectionTimeoutMS: o.timeoutMs,
    connectTimeoutMS: o.timeoutMs,
    // Shows in the old server's logs and currentOp who is reading.
    appName: 'vercel-mongo-auth seed (read-only import)',
  })
  try {
    // _id order is creation order for ObjectIds: when two old users collide under our rules
    // (say "Bob" and "bob"), the older account is the one kept, whatever order the server uses.
    const docs = await client.db(o.db).collection(o.collection).find({}).sort({ _id: 1 }).toArray()
    // A position stands in for the line a file would have (for ordering); reports use the _id.
    return docs.map((doc, i) => rawFromDocument(doc, i + 1))
  } catch (err) {
    const reason = redactSecrets(err instanceof Error ? err.message : String(err), o.uri)
    throw new SourceError(`cannot read ${describeSource(o)}: ${reason}`)
  } finally {
    await client.close().catch(() => undefined)
  }
}
