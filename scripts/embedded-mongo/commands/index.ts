// Command dispatch: the table of commands this server answers, by family (crud, aggregate,
// admin), and runCommand, which turns every error into mongod's {ok: 0} reply.
import { UUID } from 'bson'
import { MongoServerError, toServerError } from '../errors.js'
import type { Doc } from '../values.js'
import type { ConnectionInfo, Handler, ServerState } from './context.js'

export { SERVER_VERSION, type ConnectionInfo, type ServerState } from './context.js'
import { deleteCmd, find, findAndModify, getMore, insert, killCursors, updateCmd } from './crud.js'
import { aggregate, count, distinct } from './aggregate.js'
import { buildInfo, collStats, create, createIndexes, dbStats, drop, dropDatabase, dropIndexes, getParameter, hello, listCollections, listDatabases, listIndexes, serverStatus } from './admin.js'

function noTransactions(): never {
  throw new MongoServerError('IllegalOperation', 'Transaction numbers are only allowed on a replica set member or mongos')
}

const HANDLERS: Record<string, Handler> = {
  hello,
  isMaster: hello,
  ismaster: hello,
  ping: () => ({ ok: 1 }),
  buildInfo,
  buildinfo: buildInfo,
  getParameter,
  getCmdLineOpts: () => ({ argv: ['embedded-mongo'], parsed: {}, ok: 1 }),
  hostInfo: () => ({ system: { currentTime: new Date(), hostname: 'embedded', cpuAddrSize: 64, numCores: 1 }, os: { type: process.platform }, extra: {}, ok: 1 }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
  whatsmyuri: (ctx) => ({ you: ctx.conn.remote, ok: 1 }),
  serverStatus,
  dbStats,
  dbstats: dbStats,
  collStats,
  insert,
  update: updateCmd,
  delete: deleteCmd,
  find,
  getMore,
  killCursors,
  findAndModify,
  findandmodify: findAndModify,
  aggregate,
  count,
  distinct,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
  drop,
  dropDatabase,
  create,
  listCollections,
  listDatabases,
  endSessions: () => ({ ok: 1 }),
  killSessions: () => ({ ok: 1 }),
  killAllSessions: () => ({ ok: 1 }),
  refreshSessions: () => ({ ok: 1 }),
  startSession: () => ({ id: { id: new UUID() }, timeoutMinutes: 30, ok: 1 }),
  commitTransaction: noTransactions,
  abortTransaction: noTransactions,
}

/** Runs one command and always returns a reply document; errors become {ok:0,...}. */
export async function runCommand(state: ServerState, conn: ConnectionInfo, cmd: Doc, legacyNs?: string): Promise<Doc> {
  const name = Object.keys(cmd)[0]
  if (!name) return new MongoServerError('FailedToParse', 'empty command object').toDocument()
  const db = typeof cmd.$db === 'string' ? cmd.$db : legacyNs ? legacyNs.split('.')[0]! : 'admin'
  const handler = Object.hasOwn(HANDLERS, name) ? HANDLERS[name] : undefined
  if (!handler) return new MongoServerError('CommandNotFound', `no such command: '${name}'`).toDocument()
  try {
    if (cmd.txnNumber !== undefined || cmd.startTransaction !== undefined || cmd.autocommit !== undefined) noTransactions()
    if (db === '' || db.includes('.') || db.includes('$') || db.includes('/') || db.includes(' '))
      throw new MongoServerError('InvalidNamespace', `Invalid database name: '${db}'`)
    return await handler({ state, conn, db, cmd, name })
  } catch (err) {
    return toServerError(err).toDocument()
  }
}
