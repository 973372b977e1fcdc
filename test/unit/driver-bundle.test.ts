// The driver bundle (scripts/bundle-driver.ts) parses connection strings with Node's URL where
// the package uses whatwg-url: for a table of connection strings, good and bad, the bundled and
// the installed driver must agree on every option the service or Atlas relies on, and on the
// error for a bad one. Nothing connects (MongoClient parses its URI in the constructor).
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as installed from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleDriver } from '../../scripts/bundle-driver.js'

type Driver = typeof import('mongodb')
let dir: string
let bundled: Driver

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'driver-bundle-'))
  const file = join(dir, 'mongodb.cjs')
  await bundleDriver(file)
  bundled = createRequire(import.meta.url)(file) as Driver
}, 60_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const GOOD = [
  'mongodb://127.0.0.1:27017',
  'mongodb://localhost',
  'mongodb://user:p%40ss%3Aw0rd@h1.example.net:27017,h2.example.net:27018/auth?replicaSet=rs0&authSource=admin',
  'mongodb+srv://svc:Secr%2Ft@cluster0.abcde.mongodb.net/?retryWrites=true&w=majority&appName=Cluster0',
  'mongodb://[::1]:27017,[fe80::1]:27018/db?readPreference=secondaryPreferred&readPreferenceTags=dc:ny,rack:1&readPreferenceTags=',
  'mongodb://h/?MAXPOOLSIZE=3&MaxIdleTimeMS=500&tls=true&tlsAllowInvalidHostnames=true&compressors=zlib&zlibCompressionLevel=4',
  'mongodb://%2Ftmp%2Fmongodb-27017.sock/app',
  'mongodb://u@h/?authMechanism=MONGODB-X509',
  'mongodb://h/d%C3%BCb?journal=true&wtimeoutMS=100&directConnection=true',
  'mongodb://h/?serverMonitoringMode=poll&heartbeatFrequencyMS=20000&loadBalanced=false',
]

const BAD = [
  'mongodb://user:p@ss@host',
  'mongodb://',
  'mongodb+srv://a.example.com,b.example.com',
  'mongodb+srv://a.example.com:27017',
  'mongodb://h/?maxPoolSize=lots',
  'mongodb://h/?unknownOption=1&tls=maybe',
  'http://h',
  'mongodb://h:99999',
  'mongodb://h/?readPreference=nearest&readPreferenceTags=dc',
  'mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:abc',
]

// What a client was configured with, as plain data (no functions, no class instances).
function view(d: Driver, uri: string): unknown {
  const o = new d.MongoClient(uri).options as unknown as Record<string, unknown>
  const pick = (k: string) => JSON.parse(JSON.stringify(o[k] ?? null)) as unknown
  return Object.fromEntries(
    ['hosts', 'credentials', 'dbName', 'replicaSet', 'tls', 'tlsAllowInvalidHostnames', 'readPreference', 'writeConcern', 'readConcern',
      'appName', 'retryWrites', 'retryReads', 'maxPoolSize', 'maxIdleTimeMS', 'compressors', 'zlibCompressionLevel', 'srvHost',
      'directConnection', 'loadBalanced', 'serverMonitoringMode', 'heartbeatFrequencyMS'].map((k) => [k, pick(k)]),
  )
}

function outcome(d: Driver, uri: string): unknown {
  try {
    return { ok: view(d, uri) }
  } catch (err) {
    return { error: (err as Error).name, message: (err as Error).message }
  }
}

describe('the bundled driver', () => {
  it.each(GOOD)('reads %s as the installed driver does', (uri) => {
    const mine = outcome(bundled, uri)
    expect(mine).toHaveProperty('ok')
    expect(mine).toEqual(outcome(installed, uri))
  })

  it.each(BAD)('refuses %s as the installed driver does', (uri) => {
    const mine = outcome(bundled, uri)
    expect(mine).toHaveProperty('error')
    expect(mine).toEqual(outcome(installed, uri))
  })

  it('keeps the class names problem.ts maps driver errors by', () => {
    for (const name of ['MongoNetworkError', 'MongoServerSelectionError', 'MongoServerError', 'MongoBulkWriteError', 'ObjectId']) {
      expect((bundled as unknown as Record<string, { name: string }>)[name]?.name).toBe(name)
    }
  })
})
