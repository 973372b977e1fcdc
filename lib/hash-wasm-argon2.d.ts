// Types for hash-wasm's argon2-only build. The package's index pulls in every algorithm it has
// (280 KB, about 30 ms of cold start for each function that imports lib/passwords.ts); this file
// is the argon2 part alone (30 KB), a UMD bundle that Node loads as CommonJS, so its functions
// arrive on the default export.
declare module 'hash-wasm/dist/argon2.umd.min.js' {
  import type { argon2d, argon2i, argon2id } from 'hash-wasm'
  const hashwasm: { argon2id: typeof argon2id; argon2i: typeof argon2i; argon2d: typeof argon2d }
  export default hashwasm
}
