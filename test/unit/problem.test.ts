// Driver errors become the right answer: 409 for a duplicate key, 503 + Retry-After when the
// database is away, a plain 500 (nothing of the cause) for anything else.
import { describe, expect, it } from 'vitest'
import { MongoBulkWriteError, MongoNetworkError, MongoNetworkTimeoutError, MongoServerError, MongoServerSelectionError, MongoTopologyClosedError, MongoNotConnectedError } from 'mongodb'
import { toProblem } from '../../lib/problem.js'

describe('toProblem', () => {
  it.each([
    { name: 'duplicate key', err: new MongoServerError({ code: 11000, keyPattern: { email: 1 }, errmsg: 'E11000 dup key secret@x' }), status: 409 },
    { name: 'network error', err: new MongoNetworkError('connection reset'), status: 503 },
    { name: 'network timeout', err: new MongoNetworkTimeoutError('timed out'), status: 503 },
    { name: 'server selection', err: new MongoServerSelectionError('connect ECONNREFUSED', { type: 'Unknown' } as never), status: 503 },
    { name: 'topology closed', err: new MongoTopologyClosedError(), status: 503 },
    { name: 'not connected', err: new MongoNotConnectedError('not connected'), status: 503 },
    { name: 'shutdown in progress', err: new MongoServerError({ code: 91, errmsg: 'shutting down' }), status: 503 },
    { name: 'a retryable label', err: new MongoServerError({ code: 1, errmsg: 'x', errorLabels: ['RetryableWriteError'] }), status: 503 },
    // What bulkWrite throws when the connection closes under it (seen in the fault test).
    { name: 'a bulk write cut off by a closed connection', err: new MongoBulkWriteError(new MongoNetworkError('connection 8 to 127.0.0.1:1 closed'), {} as never), status: 503 },
    { name: 'a bulk write failed by the server', err: new MongoBulkWriteError(new MongoServerError({ code: 2, errmsg: 'BadValue: secret detail' }), {} as never), status: 500 },
    { name: 'another server error', err: new MongoServerError({ code: 2, errmsg: 'BadValue: secret detail' }), status: 500 },
    { name: 'a plain error', err: new Error('boom at /srv/secret/path'), status: 500 },
  ])('$name → $status', ({ err, status }) => {
    const problem = toProblem(err)
    expect(problem.status).toBe(status)
    const body = JSON.stringify(problem)
    expect(body).not.toMatch(/secret|ECONNREFUSED|E11000/)
    if (status === 503) expect(problem.headers['Retry-After']).toBe('5')
    if (status === 409) expect(problem.detail).toBe('That email is already taken')
  })
})
