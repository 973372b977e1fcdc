// The text of every mail the service sends, in one place: the password-reset link, the
// email-verification link, and the notice to an old address that a change to another was asked
// for. Each returns a subject and a plain-text body; lib/mail.ts sends them. A body may hold a
// live single-use link, so callers pass it only to sendMail, never to a log.

export interface MailText {
  subject: string
  text: string
}

/** Password reset (lib/reset.ts): the link works once, for 30 minutes. */
export function resetMail(username: string, link: string): MailText {
  return {
    subject: 'Reset your password',
    text: [
      `Someone, hopefully you, asked to reset the password of the account "${username}".`,
      '',
      'Open this link within 30 minutes to choose a new password. It works once:',
      link,
      '',
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ].join('\n'),
  }
}

/**
 * Email verification (lib/email-verification.ts): after a sign-up, an email change, or a request
 * for a new link. The page behind the link must POST the token; opening the link changes nothing.
 */
export function verifyMail(username: string, link: string, change: boolean): MailText {
  return {
    subject: change ? 'Confirm your new email address' : 'Confirm your email address',
    text: [
      change
        ? `Someone, hopefully you, asked to make this the email address of the account "${username}".`
        : `Please confirm that this is the email address of the account "${username}".`,
      '',
      'Open this link within 24 hours and confirm. It works once:',
      link,
      '',
      change
        ? 'If you did not ask for this, ignore this mail: the account keeps its current address.'
        : 'If you did not create this account, ignore this mail.',
    ].join('\n'),
  }
}

/** To the address an account has now, when a change to another one was asked for. */
export function emailChangeNotice(username: string, newEmail: string): MailText {
  return {
    subject: 'Your email address is about to change',
    text: [
      `Someone signed in to the account "${username}" asked to change its email address to ${newEmail}.`,
      '',
      'Nothing changes until that address is confirmed from the link mailed to it; until then this',
      'address stays the one the account uses, for sign-in and password resets.',
      '',
      'If this was not you, reset your password now from this address and review the account.',
    ].join('\n'),
  }
}
