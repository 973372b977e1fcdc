// The environment of the local tools (`npm run dev`, `npm run seed`, `npm run db`): `.env` read
// through dotenv beneath the real environment, with the rule lib/config applies too: a variable
// set to nothing is unset. `.env.example` writes every optional variable as `NAME=`, so a copied
// file must leave the defaults in force. Local tooling only; never imported by api/ or lib/.
import dotenv from 'dotenv'
import { setVariables } from '../lib/config.js'

function dropBlank(env: NodeJS.ProcessEnv): void {
  const set = setVariables(env)
  for (const name of Object.keys(env)) if (!(name in set)) delete env[name]
}

/** Loads `.env` from the working directory; real variables win unless they are blank. */
export function loadLocalEnv(env: NodeJS.ProcessEnv = process.env): void {
  // Blank real variables first, so `.env` can fill them; then blank lines of `.env` itself.
  dropBlank(env)
  // quiet: stdout carries the runner's Ready line and JSON logs, nothing else.
  dotenv.config({ quiet: true, override: false, processEnv: env as dotenv.DotenvPopulateInput })
  dropBlank(env)
}
