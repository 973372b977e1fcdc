// argon2 verification (lib/passwords.ts) against hashes from other implementations: the four
// passlib hashes of the fixture (argon2id, m=102400, t=2, p=8; one non-ASCII password), and
// vectors from the reference implementation's CLI (Debian's argon2, `-k 1000 -t 3 -p 3 -l 20`:
// argon2i, argon2d and argon2id, with a memory size that is no multiple of 4p). Plus which stored
// strings are importable, and that no reason ever quotes a hash.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// lib/config is read on first use; the verifier needs only BCRYPT_COST (for the dummy compare).
process.env.MONGODB_URI = 'mongodb://127.0.0.1:1'
process.env.JWT_SECRET = 'a-test-secret-of-more-than-thirty-two-bytes'
process.env.BCRYPT_COST = '4'
const { hashScheme, importableHashProblem, needsRehash, parseArgon2Hash, verifyPassword } = await import('../../lib/passwords.js')

const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/fastapi-seed-users.json', import.meta.url)), 'utf8')) as {
  passwords: Record<string, string>
  users: { username: string; hashed_password: string }[]
}

// `echo -n 'pässwörd-9' | argon2 saltsaltsalt16b -<type> -t 3 -k 1000 -p 3 -l 20 -e`
const REFERENCE = [
  '$argon2i$v=19$m=1000,t=3,p=3$c2FsdHNhbHRzYWx0MTZi$EhicPB1QPm1zGvu/xoBWH81ydwk',
  '$argon2d$v=19$m=1000,t=3,p=3$c2FsdHNhbHRzYWx0MTZi$kuWux0F6foraBSLRX5XijRuo4I0',
  '$argon2id$v=19$m=1000,t=3,p=3$c2FsdHNhbHRzYWx0MTZi$1xmUB7P++GUA516nWzdgP15VqhU',
]

describe('verifyPassword with argon2 hashes', () => {
  it.each(fixture.users.map((u) => ({ name: u.username, hash: u.hashed_password, password: fixture.passwords[u.username]! })))(
    'passlib hash of $name: the password matches, a near miss does not',
    async ({ hash, password }) => {
      expect(parseArgon2Hash(hash).params).toMatchObject({ type: 'argon2id', memoryKiB: 102400, iterations: 2, parallelism: 8 })
      expect(await verifyPassword(password, hash)).toBe(true)
      expect(await verifyPassword(password.slice(0, -1), hash)).toBe(false)
    },
    30_000,
  )

  it('treats the password as UTF-8 as passlib does (the NFD spelling of the same text is another password)', async () => {
    const carol = fixture.users.find((u) => u.username === 'carol')!
    const password = fixture.passwords.carol!
    expect(password).not.toMatch(/^[\x00-\x7f]*$/)
    expect(await verifyPassword(password.normalize('NFD'), carol.hashed_password)).toBe(false)
  }, 30_000)

  it.each(REFERENCE.map((hash) => ({ type: hash.split('$')[1], hash })))('$type from the reference implementation', async ({ hash }) => {
    expect(await verifyPassword('pässwörd-9', hash)).toBe(true)
    expect(await verifyPassword('pässwörd-8', hash)).toBe(false)
  })

  it('a changed byte of the stored output never matches', async () => {
    const hash = REFERENCE[2]!
    // A character inside the output (the last one also holds padding bits, which would make the
    // string non-canonical and refused before any compare).
    const at = hash.lastIndexOf('$') + 3
    const tampered = hash.slice(0, at) + (hash[at] === 'A' ? 'B' : 'A') + hash.slice(at + 1)
    expect(parseArgon2Hash(tampered).params).toBeDefined()
    expect(await verifyPassword('pässwörd-9', tampered)).toBe(false)
  })

  it('argon2 hashes and lower bcrypt costs need a rehash; bcrypt at the configured cost does not', () => {
    expect(needsRehash(REFERENCE[2]!)).toBe(true)
    expect(needsRehash('$2b$04$' + 'a'.repeat(53))).toBe(false)
    expect(hashScheme(REFERENCE[0]!)).toBe('argon2i')
    expect(hashScheme('5f4dcc3b5aa765d61d8327deb882cf99')).toBe('unknown')
  })
})

describe('importableHashProblem', () => {
  it.each([
    { name: 'bcrypt', hash: '$2b$12$' + 'a'.repeat(53), problem: undefined },
    { name: 'a passlib argon2id', hash: fixture.users[0]!.hashed_password, problem: undefined },
    ...REFERENCE.map((hash) => ({ name: hash.split('$')[1]!, hash, problem: undefined })),
    { name: 'pbkdf2-sha256', hash: '$pbkdf2-sha256$29000$N2bMGeN8b805xnjvvXcO4Q$Wn5Ld7g7Hn0Ai', problem: /^pbkdf2-sha256 hashes are not supported/ },
    { name: 'passlib bcrypt-sha256', hash: '$bcrypt-sha256$v=2,t=2b,r=12$n79VH.0Q2TMWmt3Oqt9uku$Kq4Noyk3094Y2QlB8NdRT8SvGiI4ft2', problem: /^bcrypt-sha256 hashes are not supported/ },
    { name: 'sha512-crypt', hash: '$6$rounds=5000$salt$hash', problem: /^crypt \$6\$ hashes are not supported/ },
    { name: 'an md5 digest', hash: '5f4dcc3b5aa765d61d8327deb882cf99', problem: /^is not a hash this service can verify/ },
    { name: 'a truncated bcrypt', hash: '$2b$12$abc', problem: /^is not a well-formed bcrypt hash/ },
    { name: 'argon2 version 16', hash: '$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$hjJ6vMwXXkgj9WwOiy2X0w', problem: /version 16 is not supported/ },
    { name: 'argon2 without v=', hash: '$argon2i$m=64,t=1,p=1$c2FsdHNhbHQ$hjJ6vMwXXkgj9WwOiy2X0w', problem: /version 16 \(no v=\) is not supported/ },
    { name: 'argon2 with 4 GiB', hash: '$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$hjJ6vMwXXkgj9WwOiy2X0w', problem: /m=4194304 is outside/ },
    { name: 'argon2 with m < 8p', hash: '$argon2id$v=19$m=16,t=1,p=4$c2FsdHNhbHQ$hjJ6vMwXXkgj9WwOiy2X0w', problem: /m=16 is outside 32-/ },
    { name: 'argon2 with t=0', hash: '$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$hjJ6vMwXXkgj9WwOiy2X0w', problem: /t=0 is outside/ },
    { name: 'argon2 with keyid', hash: '$argon2id$v=19$m=64,t=1,p=1,keyid=x$c2FsdHNhbHQ$hjJ6vMwXXkgj9WwOiy2X0w', problem: /no keyid or data/ },
    { name: 'argon2 with a short salt', hash: '$argon2id$v=19$m=64,t=1,p=1$c2FsdA$hjJ6vMwXXkgj9WwOiy2X0w', problem: /salt must be 8-64 bytes/ },
    { name: 'argon2 with padded base64', hash: '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ=$hjJ6vMwXXkgj9WwOiy2X0w', problem: /salt must be/ },
    { name: 'not a string', hash: 42, problem: /^must be a string/ },
  ])('$name', ({ hash, problem }) => {
    const reason = importableHashProblem(hash)
    if (problem === undefined) expect(reason).toBeUndefined()
    else {
      expect(reason).toMatch(problem)
      // The scheme may be named; the salt and the hash never are.
      if (typeof hash === 'string') for (const part of hash.split('$').slice(3)) if (part.length > 8) expect(reason).not.toContain(part)
    }
  })
})
