// Single-use links mailed or handed to a user (password reset, email verification): the random
// token and the hash it is stored under, where the link points, and the link itself. Deployed,
// a link's origin comes only from configuration, never from the request (contract: a link built
// from Host or X-Forwarded-Host would let whoever sends the request choose where the victim's
// token goes). Tokens are returned to the caller to mail; this module never logs one.
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { getConfig } from './config.js'
import { notImplemented } from './problem.js'

/** The stored form of a link token: 256 random bits need no slow hash (like refresh tokens). */
export const hashLinkToken = (token: string) => createHash('sha256').update(token).digest('base64url')

/** A fresh link token (32 random bytes, base64url) and its hash. */
export function newLinkToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: hashLinkToken(token) }
}

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/** The origin the client addressed; anything that is not a plain host[:port] becomes localhost. */
function requestOrigin(req: IncomingMessage): string {
  const first = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h)?.split(',')[0]?.trim()
  const proto = first(req.headers['x-forwarded-proto']) === 'http' ? 'http' : 'https'
  const host = first(req.headers['x-forwarded-host']) || req.headers.host || ''
  return `${proto}://${HOST.test(host) ? host : 'localhost'}`
}

export interface LinkSetting {
  /** The configured base (RESET_URL_BASE, VERIFY_URL_BASE), if any. */
  configured: string | undefined
  /** The variable's name and what it is for, for the 501 a deployment without it answers. */
  variable: string
  what: string
  /** Locally, without the variable: this path on the request's origin. */
  localPath: string
}

/**
 * Where links point. Deployed (VERCEL=1 or NODE_ENV=production) only the configured base: the
 * routes that make links answer 501 without it. Locally the request's origin is fine.
 */
export function linkBase(req: IncomingMessage, setting: LinkSetting): string {
  if (setting.configured) return setting.configured
  if (getConfig().isDeployed) {
    throw notImplemented(`${setting.what} links are not configured: set ${setting.variable} to the page of your front end that reads ?token=`)
  }
  return `${requestOrigin(req)}${setting.localPath}`
}

/** The link: the base with `?token=` added (other query parameters of the base are kept). */
export function linkWithToken(base: string, token: string): string {
  const url = new URL(base)
  url.searchParams.set('token', token)
  return url.toString()
}
