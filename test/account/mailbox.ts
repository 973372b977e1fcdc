// An in-process SMTP server for the mail tests (reset, verification): accepts any mail on
// 127.0.0.1 (no TLS, no auth) and keeps it decoded, so a test can wait for the mail to an
// address and read its link.
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

export interface Message {
  to: string[]
  /** The raw message with quoted-printable soft breaks and escapes undone. */
  text: string
}

export interface Mailbox {
  port: number
  messages: Message[]
  /** The next message to `to` not yet taken (waits for it; fails after timeoutMs). */
  next(to: string, timeoutMs?: number): Promise<Message>
  close(): Promise<void>
}

// RFC 2045 6.7: `=\r\n` is a soft line break, `=XX` an escaped octet.
function decodeQuotedPrintable(raw: string): string {
  return raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

export async function startMailbox(): Promise<Mailbox> {
  const messages: Message[] = []
  const taken = new Set<Message>()
  const waiters: (() => void)[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), text: decodeQuotedPrintable(Buffer.concat(chunks).toString('utf8')) })
        for (const wake of waiters.splice(0)) wake()
        callback()
      })
    },
  })
  // A client that drops its connection (a service under test being stopped mid-conversation)
  // makes smtp-server emit 'error'; unheard, that is an uncaught exception in the test process.
  // What the tests check is the mail that arrived, so a dropped connection is only ignored.
  server.on('error', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.server.address() as AddressInfo).port

  const find = (to: string) => messages.find((m) => !taken.has(m) && m.to.includes(to))
  return {
    port,
    messages,
    async next(to, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = find(to)
        if (found) {
          taken.add(found)
          return found
        }
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no mail to ${to} within ${timeoutMs} ms`)
        // Woken by the next delivery, or by the deadline.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          waiters.push(() => {
            clearTimeout(timer)
            resolve()
          })
        })
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** The token in a mail's link (reset or verification). */
export function tokenFrom(message: Message): string {
  const m = /[?&]token=([A-Za-z0-9_-]{43})\b/.exec(message.text)
  if (!m) throw new Error(`no reset link in:\n${message.text}`)
  return m[1]!
}

/**
 * Settings that make a service mail through `box`, its links on app.example: where the service
 * runs as deployed (the prebuilt lane), the routes that mail links answer 501 without them.
 */
export function mailSettings(box: Mailbox): Record<string, string> {
  return {
    SMTP_URL: `smtp://127.0.0.1:${box.port}`,
    MAIL_FROM: 'auth@app.example',
    VERIFY_URL_BASE: 'http://app.example/verify-email',
    RESET_URL_BASE: 'http://app.example/reset',
  }
}
