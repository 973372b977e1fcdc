// Pure logic of the seed script: RFC 4180 records with their lines, JSON item lines, and
// naming a connection string without its password.
import { describe, expect, it } from 'vitest'
import { CsvError, parseCsv } from '../../scripts/seed-csv.js'
import { jsonRows } from '../../scripts/seed-input.js'
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
