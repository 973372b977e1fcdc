// Every route's description, gathered for the OpenAPI document in the order it lists them: one
// import per function file under api/ (test/docs/openapi.test.ts checks the list against the
// files). A `_` file: Vercel serves no function here.
import type { RouteSpec } from '../lib/routes.js'
import { spec as audit } from './audit.js'
import { spec as login } from './auth/login.js'
import { spec as logout } from './auth/logout.js'
import { spec as passwordReset } from './auth/password-reset/index.js'
import { spec as passwordResetConfirm } from './auth/password-reset/confirm.js'
import { spec as emailVerifyRequest } from './auth/email/verify-request.js'
import { spec as emailVerify } from './auth/email/verify.js'
import { spec as refresh } from './auth/refresh.js'
import { spec as mfaTotp } from './auth/mfa/totp.js'
import { spec as mfaActivate } from './auth/mfa/totp/activate.js'
import { spec as mfaRecoveryCodes } from './auth/mfa/recovery-codes.js'
import { spec as mfaVerify } from './auth/mfa/verify.js'
import { spec as sessions } from './auth/sessions/index.js'
import { spec as session } from './auth/sessions/[id].js'
import { spec as docs } from './docs.js'
import { spec as docsAsset } from './docs/[asset].js'
import { spec as health } from './health.js'
import { spec as jwks } from './jwks.js'
import { spec as openapi } from './openapi.json.js'
import { spec as users } from './users/index.js'
import { spec as me } from './users/me.js'
import { spec as user } from './users/[username]/index.js'
import { spec as userPasswordReset } from './users/[username]/password-reset.js'
import { spec as userSessions } from './users/[username]/sessions.js'
import { spec as userMfa } from './users/[username]/mfa.js'

let all: readonly RouteSpec[] | undefined

/**
 * The descriptions, read on first call: openapi.json.ts is among the files imported here and
 * imports this one, so the list cannot be built while the modules load.
 */
export function routeSpecs(): readonly RouteSpec[] {
  all ??= [login, refresh, logout, sessions, session, passwordReset, passwordResetConfirm, emailVerifyRequest, emailVerify, mfaTotp, mfaActivate, mfaRecoveryCodes, mfaVerify, users, me, user, userSessions, userPasswordReset, userMfa, audit, health, jwks, openapi, docs, docsAsset]
  return all
}
