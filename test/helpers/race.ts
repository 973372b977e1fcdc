// The review's password-change race, as a helper: four loops log in with the old password, from
// an address of their own, while a change runs; every token pair they got back is returned, so
// the test can show that none of them outlives the change. Bounded: the loops stop once the
// change has answered (their requests in flight still finish and are kept).
import { callFrom, freshAddress } from './address.js'
import type { Service, Tokens } from './service.js'

export interface RaceOutcome<T> {
  /** what `change` answered */
  changed: T
  /** every pair an old-password login got, before, during and just after the change */
  pairs: Tokens[]
}

export async function loginsDuring<T>(svc: Service, who: { username: string; password: string }, change: () => Promise<T>, loops = 4): Promise<RaceOutcome<T>> {
  const address = freshAddress()
  const pairs: Tokens[] = []
  let stop = false
  let started!: () => void
  const flowing = new Promise<void>((resolve) => (started = resolve))
  const loop = async () => {
    while (!stop) {
      const res = await callFrom(address, `${svc.url}/api/auth/login`, 'POST', { json: { username: who.username, password: who.password } })
      if (res.status === 200) {
        pairs.push((await res.json()) as Tokens)
        if (pairs.length >= loops) started()
      } else {
        await res.arrayBuffer()
        // The change has landed (401), or the loops outran a limit: either way, stop asking.
        stop = true
        started()
      }
    }
  }
  const running = Array.from({ length: loops }, loop)
  // The change starts while logins are flowing, so some of them straddle it.
  await flowing
  const changed = await change()
  stop = true
  await Promise.all(running)
  return { changed, pairs }
}

/** The statuses a pair gets on /api/users/me and /api/auth/refresh now. */
export async function usable(svc: Service, pairs: Tokens[]): Promise<{ me: number; refresh: number }[]> {
  const out: { me: number; refresh: number }[] = []
  // A few at a time: hundreds of parallel requests would only measure the runner's backlog.
  for (let i = 0; i < pairs.length; i += 8) {
    const batch = pairs.slice(i, i + 8)
    out.push(
      ...(await Promise.all(
        batch.map(async (p) => {
          const me = await svc.call('GET', '/api/users/me', { token: p.access_token })
          const refresh = await svc.call('POST', '/api/auth/refresh', { json: { refresh_token: p.refresh_token } })
          await Promise.all([me.arrayBuffer(), refresh.arrayBuffer()])
          return { me: me.status, refresh: refresh.status }
        }),
      )),
    )
  }
  return out
}
