// What a seed run reports: progress on a terminal while it runs, and the summary (text or JSON)
// at the end. Never a supplied password or hash; a generated password once.
import type { Outcome } from './run.js'

export class Progress {
  private done = 0
  private lastDraw = 0
  private readonly started = performance.now()

  constructor(
    private readonly total: number,
    private readonly enabled: boolean,
    private readonly counts: () => { created: number; updated: number; skipped: number; failed: number },
  ) {}

  tick(): void {
    this.done++
    if (!this.enabled) return
    const now = performance.now()
    if (now - this.lastDraw < 100 && this.done < this.total) return
    this.lastDraw = now
    const width = 24
    const fraction = this.total > 0 ? this.done / this.total : 1
    const filled = Math.round(fraction * width)
    const rate = this.done / Math.max((now - this.started) / 1000, 0.001)
    const eta = rate > 0 ? Math.ceil((this.total - this.done) / rate) : 0
    const c = this.counts()
    const line =
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${Math.floor(fraction * 100)}% ` +
      `${rate.toFixed(rate < 10 ? 1 : 0)}/s ETA ${eta}s | created ${c.created} updated ${c.updated} skipped ${c.skipped} failed ${c.failed}`
    const columns = process.stderr.columns || 120
    process.stderr.write(`\r${line.slice(0, columns - 1)}\x1b[K`)
  }

  finish(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K')
  }
}

export interface Summary {
  source: string
  database: string
  dry_run: boolean
  /** false for a dry run without a database: existing users were not looked up */
  database_checked: boolean
  created: number
  updated: number
  skipped: number
  failed: number
  not_processed: number
  interrupted: boolean
  elapsed_ms: number
  rows_per_second: number
  skips: SummaryOutcome[]
  failures: SummaryOutcome[]
  error?: string
  generated_password?: string
}

type SummaryOutcome = Omit<Outcome, 'line'> & { line: number | null }

export const byLine = (a: Outcome, b: Outcome) => a.line - b.line

// Line 0 is the user given by flags: no line of any file. Rows of a database have no lines at
// all (their `line` is only their position in the read): they are named by _id.
export const withLine = (hasLines: boolean) => (o: Outcome): SummaryOutcome => ({ ...o, line: hasLines && o.line > 0 ? o.line : null })

/** `line 3 (_id 65a0...)`, `_id 65a0...`, `line 3`, or `flags`. */
export function where(o: SummaryOutcome): string {
  if (o.line !== null) return o.id ? `line ${o.line} (_id ${o.id})` : `line ${o.line}`
  return o.id ? `_id ${o.id}` : 'flags'
}

export function printSummary(s: Summary, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n')
    return
  }
  const LIST_LIMIT = 100
  const out: string[] = []
  const dryRun = !s.dry_run ? '' : s.database_checked ? 'Dry run (nothing written): ' : 'Dry run without a database (nothing written, existing users not checked): '
  out.push(`${dryRun}${s.source === 'flags' ? 'one user' : s.source} -> database ${s.database}`)
  // A dry run counts what it would do; it created nothing.
  const counts: [string, number][] = s.dry_run
    ? [['would create', s.created], ['would update', s.updated], ['would skip', s.skipped], ['failed', s.failed]]
    : [['created', s.created], ['updated', s.updated], ['skipped', s.skipped], ['failed', s.failed]]
  const width = Math.max(...counts.map(([label]) => label.length))
  for (const [label, n] of counts) out.push(`  ${label.padEnd(width)}  ${n}`)
  if (s.not_processed > 0) out.push(`  not processed ${s.not_processed}`)
  if (s.interrupted) out.push('Interrupted: the batches in flight were finished; rows not processed were not written.')
  if (s.error) out.push(`Stopped: ${s.error}`)
  const list = (title: string, items: Summary['skips']) => {
    if (items.length === 0) return
    out.push(`${title}:`)
    for (const o of items.slice(0, LIST_LIMIT)) out.push(`  ${where(o)}: ${o.username ? `${o.username}: ` : ''}${o.reason}`)
    if (items.length > LIST_LIMIT) out.push(`  ... and ${items.length - LIST_LIMIT} more (--json lists all)`)
  }
  list('Skipped', s.skips)
  list('Failed', s.failures)
  if (s.source !== 'flags') out.push(`${((s.created + s.updated + s.skipped + s.failed) / Math.max(s.elapsed_ms / 1000, 0.001)).toFixed(1)} rows/s, ${(s.elapsed_ms / 1000).toFixed(1)} s`)
  process.stdout.write(out.join('\n') + '\n')
}
