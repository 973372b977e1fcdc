// A password for a single user from stdin or a hidden terminal prompt: never from argv, where
// other users of the machine could read it.
import { InputError } from './input.js'
import { Interrupted } from './options.js'

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  // Like `docker login --password-stdin`: the newline `echo` adds is not part of the password.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

/** Reads a line from the terminal without echo (raw mode); Ctrl-C aborts. */
function promptHidden(label: string): Promise<string> {
  const stdin = process.stdin
  process.stderr.write(label)
  stdin.setRawMode(true)
  stdin.setEncoding('utf8')
  stdin.resume()
  return new Promise((resolve, reject) => {
    let value = ''
    const finish = (err?: Error) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      if (err) reject(err)
      else resolve(value)
    }
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish()
        if (ch === '\u0003') return finish(new Interrupted())
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('')
        else if (ch === '\u0015') value = '' // Ctrl-U clears the line, as in a shell
        else if (ch >= ' ') value += ch
      }
    }
    stdin.on('data', onData)
  })
}

export async function passwordFromTerminal(): Promise<string> {
  const first = await promptHidden('Password: ')
  const second = await promptHidden('Repeat password: ')
  if (first !== second) throw new InputError('the passwords do not match')
  return first
}
