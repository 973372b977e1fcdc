// Pure logic of the seed script: RFC 4180 records with their lines, JSON item lines, and
// naming a connection string without its password.
import { describe, expect, it } from 'vitest'
import { CsvError, parseCsv } from '../../scripts/seed/csv.js'
import { jsonRows } from '../../scripts/seed/input.js'
import { describeUri, redactSecrets } from '../../scripts/mongo-uri.js'

describe('parseCsv', () => {
  it.each([
    { name: 'plain fields', text: 'a,b\n1,2\n', records: [[1, ['a', 'b']], [2, ['1', '2']]] },
    { name: 'CRLF and no final newline', text: 'a,b\r\n1,2', records: [[1, ['a', 'b']], [2, ['1', '2']]] },
    { name: 'quoted comma and doubled quote', text: '"x,y","say ""hi"""\n', records: [[1, ['x,y', 'say "hi"']]] },
    { name: 'a line break inside quotes', text: '"one\ntwo",3\nnext,4\n', records: [[1, ['one\ntwo', '3']], [3, ['next', '4']]] },
    { name: 'blank lines skipped, lines still counted', text: 'a\n\nb\n', records: [[1, ['a']], [3, ['b']]] },
    { name: 'empty fields', text: ',,\n', records: [[1, ['', '', '']]] },
    { name: 'a BOM', text: '\ufeffa,b\n', records: [[1, ['a', 'b']]] },
  ])('$name', ({ text, records }) => {
    expect(parseCsv(text).map((r) => [r.line, r.fields])).toEqual(records)
  })

  it('marks a malformed record and goes on', () => {
    const [bad, good] = parseCsv('"a"x,b\nc,d\n')
    expect(bad!.error).toMatch(/text after a closing quote/)
    expect(good).toEqual({ line: 2, fields: ['c', 'd'] })
    expect(parseCsv('a"b,c\n')[0]!.error).toMatch(/a quote inside unquoted field 1/)
  })

  it('fails the file on an unterminated quote, naming its line', () => {
    expect(() => parseCsv('a\n"open,b\nc\n')).toThrow(CsvError)
    expect(() => parseCsv('a\n"open,b\nc\n')).toThrow(/line 2/)
  })
})

describe('jsonRows', () => {
  it('gives each array item the line it starts on', () => {
    const text = '[\n  {"username": "a",\n   "email": "x"},\n  {"username": "b, [\\"]"},\n\n  {}\n]'
    expect(jsonRows(text).map((r) => r.line)).toEqual([2, 4, 6])
  })
})

describe('jsonRows: the FastAPI project\'s forms', () => {
  it('reads mongoexport lines: each line a row, blank lines skipped, a broken line its own failure', () => {
    const text = [
      '{"_id":{"$oid":"65A000000000000000000001"},"username":"a1a","hashed_password":"h"}',
      '',
      '{"username":"b2b", "password": "secretpwxx"',
      '{"_id":"65a000000000000000000003","username":"c3c","full_name":"C"}',
      '{"_id":{"$oid":"65a000000000000000000004"},"hashed_password":"h","password_hash":"h"}',
    ].join('\n')
    const rows = jsonRows(text)
    expect(rows.map((r) => [r.line, r.id, r.hashField, r.error])).toEqual([
      [1, '65a000000000000000000001', 'hashed_password', undefined],
      [3, undefined, undefined, 'not valid JSON'],
      [4, '65a000000000000000000003', undefined, 'unknown field(s) full_name'],
      [5, '65a000000000000000000004', 'password_hash', 'give password_hash or hashed_password, not both'],
    ])
    expect(rows[0]!.values).toEqual({ username: 'a1a', password_hash: 'h' })
    // An ObjectId _id is kept as the user's id; a string one only names the row.
    expect(rows.map((r) => r.keepId)).toEqual([true, undefined, undefined, true])
    expect(jsonRows('{"_id": {"$binary": "AA=="}, "username": "d4d"}')[0]!.error).toBe('_id: must be an ObjectId ({"$oid": "<24 hex digits>"}), a string or a number')
    expect(JSON.stringify(rows)).not.toContain('secretpwxx')
  })

  it('reads the users member of an object, with the lines its items start on', () => {
    const text = '{\n  "about": "x [{",\n  "passwords": {"a": "p"},\n  "users": [\n    {"username": "a"},\n\n    {"username": "b"}\n  ]\n}\n'
    expect(jsonRows(text).map((r) => [r.line, r.values.username])).toEqual([
      [5, 'a'],
      [7, 'b'],
    ])
  })

  it('refuses a multi-line object without a users array', () => {
    expect(() => jsonRows('{\n"username": "a"\n}')).toThrow(/expected a JSON array of user objects, one JSON document per line/)
  })
})

describe('connection strings', () => {
  it.each([
    { uri: 'mongodb://user:s3cret@127.0.0.1:1/', hosts: '127.0.0.1:1' },
    { uri: 'mongodb://user:s3cret@h1:27017,h2:27018/auth?replicaSet=rs0', hosts: 'h1:27017, h2:27018' },
    { uri: 'mongodb+srv://user:s3cret@cluster0.ab1cd.mongodb.net/?retryWrites=true', hosts: 'cluster0.ab1cd.mongodb.net (SRV)' },
    { uri: 'mongodb://user:s3c@r/et@db.example.com/', hosts: 'db.example.com' },
    { uri: 'mongodb://localhost', hosts: 'localhost' },
  ])('names $hosts and never the password', ({ uri, hosts }) => {
    expect(describeUri(uri)).toBe(hosts)
    // A driver message could quote the string, or the password alone.
    const scrubbed = redactSecrets(`failed: ${uri} (password s3cret, s3c@r/et)`, uri)
    expect(scrubbed).toContain('failed: mongodb')
    if (uri.includes('s3c@r/et')) expect(scrubbed).not.toContain('s3c@r/et')
    else if (uri.includes('s3cret')) expect(scrubbed).not.toContain('s3cret')
  })

  it('scrubs both connection strings of an import, and any hash a driver message could quote', () => {
    const argon2 = '$argon2id$v=19$m=102400,t=2,p=8$wDgnRAghJKQ05vz/f4/xXg$E31ANwUJEFPv3+X+tGqrFQ'
    const pbkdf2 = '$pbkdf2-sha256$29000$N2bMGeN8b805xnjvvXcO4Q$Wn5Ld7g7Hn0Ai'
    const text = `to pw-target, from pw-source: { hashed_password: "${argon2}" } ${pbkdf2}`
    const scrubbed = redactSecrets(text, 'mongodb://u:pw-target@h/', 'mongodb://u:pw-source@old/testdb')
    expect(scrubbed).toBe('to ***, from ***: { hashed_password: "[hash]" } [hash]')
  })

  it('scrubs a percent-encoded password in both forms', () => {
    const uri = 'mongodb://u:p%40ss%2Fw0rd@h/'
    expect(redactSecrets('p%40ss%2Fw0rd and p@ss/w0rd', uri)).toBe('*** and ***')
  })
})

describe('broken JSON', () => {
  it.each([
    { name: 'a stray token', text: 'secretpwxx', message: /^input: not valid JSON$/ },
    { name: 'a missing comma', text: '[\n{"password": "secretpwxx"} x]', message: /^input: not valid JSON at line 2 \(Expected ',' or '\]' after array element\)$/ },
  ])('is reported without quoting the input: $name', ({ text, message }) => {
    expect(() => jsonRows(text)).toThrow(message)
  })
})
