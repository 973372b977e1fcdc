// Types for package files imported by path that ship no declarations of their own.

// @zxcvbn-ts/language-common's list of common passwords (CommonJS: module.exports = string[]).
declare module '@zxcvbn-ts/language-common/dist/passwords.json.js' {
  const passwords: string[]
  export default passwords
}

// hash-wasm's argon2-only build (lib/passwords.ts). The package's index pulls in every algorithm
// it has (280 KB, some 20-45 ms more cold start for each function that imports lib/passwords.ts);
// this file is the argon2 part alone (30 KB, a few ms), a UMD bundle that Node loads as CommonJS, so its
// functions arrive on the default export.
declare module 'hash-wasm/dist/argon2.umd.min.js' {
  import type { argon2d, argon2i, argon2id } from 'hash-wasm'
  const hashwasm: { argon2id: typeof argon2id; argon2i: typeof argon2i; argon2d: typeof argon2d }
  export default hashwasm
}
