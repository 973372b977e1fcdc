// Recovery codes: ten single-use codes shown once at activation (and on regeneration), for a
// user who lost their authenticator. Each is 80 random bits in base32 (16 letters and digits,
// grouped by four for reading); only their keyed hashes are stored (secrets.ts).
import { randomBytes } from 'node:crypto'
import { hashRecoveryCode } from './secrets.js'

export const RECOVERY_CODE_COUNT = 10
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567' // RFC 4648 base32, lower case: no 0/1/8/9 to misread

/** Ten fresh codes as shown to the user, and the hashes to store. */
export function newRecoveryCodes(userId: string): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    // 10 bytes are 80 bits: 16 base32 characters of 5 bits each.
    const bytes = randomBytes(10)
    let bits = 0n
    for (const b of bytes) bits = (bits << 8n) | BigInt(b)
    let text = ''
    for (let i = 15; i >= 0; i--) text += ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)]
    return text.match(/.{4}/g)!.join('-')
  })
  return { codes, hashes: codes.map((c) => hashRecoveryCode(normalizeRecoveryCode(c), userId)) }
}

/** A code as typed (any case, with or without the hyphens and spaces) in its one stored form. */
export const normalizeRecoveryCode = (code: string): string => code.toLowerCase().replace(/[\s-]/g, '')

export const RECOVERY_CODE_PATTERN = /^[a-z2-7]{16}$/
