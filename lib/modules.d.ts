// Types for package files imported by path that ship no declarations of their own.

// @zxcvbn-ts/language-common's list of common passwords (CommonJS: module.exports = string[]).
declare module '@zxcvbn-ts/language-common/dist/passwords.json.js' {
  const passwords: string[]
  export default passwords
}
