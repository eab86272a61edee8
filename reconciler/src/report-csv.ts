// The itemized report as CSV: one row per finding (and pending key) with both sides'
// values, for a spreadsheet. UTF-8 with a byte-order mark (so spreadsheets read it as UTF-8),
// CRLF line ends, fields quoted when they need it, and text that a spreadsheet would run as
// a formula (=, +, -, @ at its start) prefixed with a quote.
import type { Storage } from '@reckon/collector/storage'
import { runFindings, type FindingView } from './finding-reads.js'

const HEADER = [
  'run_id',
  'rule',
  'finding_id',
  'category',
  'pending',
  'state',
  'key',
  'time',
  'left_records',
  'left_amount',
  'left_currency',
  'left_status',
  'right_records',
  'right_amount',
  'right_currency',
  'right_status',
  'difference',
  'flow_ids',
]

const DECIMAL = /^-?\d+(\.\d+)?$/

export function csvField(value: string): string {
  let v = value
  if (/^[=+\-@\t\r]/.test(v) && !DECIMAL.test(v)) v = `'${v}`
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v
}

const line = (fields: string[]): string => `${fields.map(csvField).join(',')}\r\n`

function row(runId: string, f: FindingView): string {
  return line([
    runId,
    f.rule,
    f.id,
    f.category,
    f.pending ? 'yes' : 'no',
    f.state ?? '',
    f.key,
    f.time,
    String(f.left.records),
    f.left.amount ?? '',
    f.left.currencies.join(' '),
    f.left.statuses.join(' '),
    String(f.right.records),
    f.right.amount ?? '',
    f.right.currencies.join(' '),
    f.right.statuses.join(' '),
    f.difference ?? '',
    f.flowIds.join(' '),
  ])
}

const PAGE = 10_000

/** The CSV, a page of findings at a time (memory stays bounded however many there are). */
export async function* reportCsv(storage: Storage, runId: string): AsyncGenerator<string> {
  yield `\uFEFF${line(HEADER)}`
  for (let offset = 0; ; offset += PAGE) {
    const { findings } = await runFindings(storage, runId, { limit: PAGE, offset })
    for (const f of findings) yield row(runId, f)
    if (findings.length < PAGE) return
  }
}
