// A spawned server's start: everything it prints is kept (for assertions on the log), and its
// URL is known from the "Ready on <url>" line the local runner and the prebuilt host print.
import type { ChildProcess } from 'node:child_process'

export interface Started {
  url: string
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
}

/** Resolves with the URL once `child` is ready; rejects if it exits first or takes too long. */
export function whenReady(child: ChildProcess, what: string, timeoutMs: number, onTimeout?: () => void): Promise<Started> {
  let output = ''
  return new Promise<Started>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.()
      reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const m = /Ready on (http:\/\/\S+)/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve({ url: m[1]!, output: () => output })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${output}`))
    })
  })
}
