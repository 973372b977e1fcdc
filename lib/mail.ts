// Outgoing mail: the messages of lib/mail/messages.ts (reset and verification links, notices),
// sent over SMTP (nodemailer, `SMTP_URL`, `MAIL_FROM`). With no SMTP_URL, the local runner writes
// the message to the log instead (the only log line that may ever hold a link, and never in a
// deployment); a deployment without SMTP_URL refuses the self-service routes that mail links with
// 501. It never logs the SMTP URL, its credentials or a driver message that could quote them.
import type { Transporter } from 'nodemailer'
import { getConfig } from './config.js'
import { log } from './log.js'
import { notImplemented } from './problem.js'

export interface Mail {
  to: string
  subject: string
  text: string
}

/** How mail leaves this instance: SMTP, the local log, or not at all (a deployment without SMTP_URL). */
export function mailMode(): 'smtp' | 'log' | 'none' {
  const config = getConfig()
  if (config.smtpUrl) return 'smtp'
  return config.isDeployed ? 'none' : 'log'
}

const RESET_BY_MAIL_MISSING =
  'Password reset by mail is not configured: set SMTP_URL (and MAIL_FROM), or have an admin call POST /api/users/{username}/password-reset and hand the link to the user'

/** 501 when this deployment cannot send mail: a link would silently go nowhere. */
export function assertMailConfigured(detail = RESET_BY_MAIL_MISSING): void {
  if (mailMode() !== 'none') return
  throw notImplemented(detail)
}

let transport: { url: string; transporter: Promise<Transporter> } | undefined

// Loaded on first send, so functions that never mail (confirm, admin link) never load nodemailer.
function transporterFor(url: string): Promise<Transporter> {
  if (transport?.url !== url) {
    const transporter = import('nodemailer').then((m) => m.default.createTransport(url))
    transport = { url, transporter }
  }
  return transport.transporter
}

/** The SMTP server's host and port for the log; userinfo (credentials) is dropped. */
function smtpTarget(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}`
  } catch {
    return '(unparsable SMTP_URL)'
  }
}

/**
 * Sends a mail; resolves whether or not it went out (a failure is logged, never thrown), since
 * callers run it after answering the request and nobody is waiting for its outcome.
 */
export async function sendMail(mail: Mail): Promise<void> {
  const config = getConfig()
  const mode = mailMode()
  if (mode === 'none') {
    log('error', 'mail.not_configured', { subject: mail.subject })
    return
  }
  if (mode === 'log') {
    // Local runner only (isDeployed is false): lets a developer follow the reset flow without a
    // mail server. The body holds a live reset link, hence the loud marker.
    log('warn', 'mail.local_outbox', {
      notice: 'LOCAL DEVELOPMENT ONLY: SMTP_URL is not set, so this mail was written here instead of sent; it may contain a live single-use link (password reset or email verification)',
      from: config.mailFrom,
      to: mail.to,
      subject: mail.subject,
      body: mail.text,
    })
    return
  }
  const url = config.smtpUrl!
  try {
    const transporter = await transporterFor(url)
    await transporter.sendMail({ from: config.mailFrom, to: mail.to, subject: mail.subject, text: mail.text })
    log('info', 'mail.sent', { subject: mail.subject, smtp: smtpTarget(url) })
  } catch (err) {
    // Only the error's class and SMTP codes: nodemailer messages can quote the server's reply
    // to AUTH, and the URL holds the credentials.
    const e = err as { name?: string; code?: string; responseCode?: number }
    log('error', 'mail.failed', { subject: mail.subject, smtp: smtpTarget(url), error: e?.name ?? 'Error', code: e?.code, response_code: e?.responseCode })
  }
}
