// What an evaluation gives (label sets with values and links to the evidence) and the
// helpers every kind shares: the window as parameters, a read with a time limit, links
// into the UI and values written for people.
import type { Storage } from '@reckon/collector/storage'

export interface Link {
  href: string
  text: string
}

/** One label set whose condition holds. */
export interface Sample {
  /** The kind's labels (service, instance, breaker…); the rule's and alertname come on top. */
  labels: Record<string, string>
  value: number
  /** The value for people: "7.5%", "2.3 s", "OPEN", "120.00 EUR". */
  display: string
  links: Link[]
}

export interface Evaluation {
  samples: Sample[]
  /** How many label sets were judged at all; 0 is "no data". */
  judged: number
}

export interface EvalContext {
  storage: Storage
  /** The moment evaluated, Unix nanoseconds. */
  nowNs: bigint
  /** The Reckon UI's address, for links (no trailing slash). */
  externalUrl: string
  timeoutSeconds: number
}

/** A link into the UI: `path` with its query string, the window as from/to when given. */
export function uiLink(
  ctx: EvalContext,
  path: string,
  params: Record<string, string | undefined>,
  text: string,
): Link {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v)
  const qs = q.toString()
  return { href: `${ctx.externalUrl}${path}${qs ? `?${qs}` : ''}`, text }
}

/** The window [now − ms, now] as the tables' parameters take it. */
export function windowParams(ctx: EvalContext, ms: number): { from: string; to: string } {
  return { from: (ctx.nowNs - BigInt(ms) * 1_000_000n).toString(), to: ctx.nowNs.toString() }
}

/** Milliseconds for people: "850 ms", "2.3 s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

/** A silence for people: "45s", "3m 10s", "2h 5m". */
export function formatSeconds(total: number): string {
  const s = Math.floor(total)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
}

/** A read of the tables: parameters only, capped in time, 64-bit integers as text. */
export async function rows<T>(
  ctx: EvalContext,
  sql: string,
  params: Record<string, unknown>,
  /** More settings for the one SETTINGS clause (fixed text, never input). */
  settings: readonly string[] = [],
): Promise<T[]> {
  const more = settings.map((s) => `, ${s}`).join('')
  const rs = await ctx.storage.client.query({
    query: `${sql}\nSETTINGS max_execution_time = ${Math.trunc(ctx.timeoutSeconds)}, output_format_json_quote_64bit_integers = 1${more}`,
    query_params: params,
    format: 'JSONEachRow',
  })
  return rs.json<T>()
}
