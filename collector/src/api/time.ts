import Type from 'typebox'
import { nowNanos, rfc3339Nanos } from '../time/instant.js'

/** Accepted by every `from`/`to` query parameter. */
export const TimeParam = Type.String({
  maxLength: 64,
  description:
    'RFC 3339 time (e.g. 2026-01-31T12:00:00Z), Unix milliseconds, or now-15m / now-2h / now-7d; from 1970-01-01T00:00:00Z to 2262-04-11T23:47:16Z',
})

/** Raised for a parameter that cannot be understood; becomes a 400 naming it. */
export class BadParam extends Error {
  override name = 'BadParam'
  readonly statusCode = 400
}

const UNITS: Record<string, bigint> = {
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
}

/**
 * The instants a time parameter may name: what the tables can hold (DateTime64(9) counts
 * nanoseconds in an Int64) from the Unix epoch on. Beyond them a query means nothing and
 * the engine's arithmetic would wrap.
 */
export const EARLIEST_NS = 0n
export const LATEST_NS = 2n ** 63n - 1n
const RANGE = '1970-01-01T00:00:00Z to 2262-04-11T23:47:16Z'

/** A time parameter as Unix nanoseconds, within [EARLIEST_NS, LATEST_NS]. */
export function parseTime(name: string, text: string, nowNs: bigint): bigint {
  const ns = parseInstant(name, text, nowNs)
  if (ns < EARLIEST_NS || ns > LATEST_NS) {
    throw new BadParam(`${name} must lie within ${RANGE}, got ${JSON.stringify(text)}`)
  }
  return ns
}

function parseInstant(name: string, text: string, nowNs: bigint): bigint {
  const t = text.trim()
  if (t === 'now') return nowNs
  const rel = /^now-(\d+)([smhd])$/.exec(t)
  if (rel) return nowNs - BigInt(rel[1]!) * UNITS[rel[2]!]!
  if (/^\d{1,15}$/.test(t)) return BigInt(t) * 1_000_000n
  // Beside RFC 3339 itself, what people type: a date alone, no seconds, no zone (UTC).
  const m =
    /^(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2})(:\d{2}(?:\.\d{1,9})?)?)?([Zz]|[+-]\d{2}:\d{2})?$/.exec(
      t,
    )
  const ns = m && rfc3339Nanos(`${m[1]}T${m[2] ?? '00:00'}${m[3] ?? ':00'}${m[4] ?? 'Z'}`)
  if (ns !== undefined && ns !== null) return ns
  throw new BadParam(
    `${name} must be an RFC 3339 time, Unix milliseconds or now-<N><s|m|h|d>, got ${JSON.stringify(text)}`,
  )
}

/** Resolves from/to with a default look-back; refuses empty or inverted windows. */
export function window(
  q: { from?: string | undefined; to?: string | undefined },
  defaultLookbackNs: bigint,
  now: bigint = nowNanos(),
): { from: string; to: string } {
  const to = q.to !== undefined ? parseTime('to', q.to, now) : now
  const from =
    q.from !== undefined
      ? parseTime('from', q.from, now)
      : to - defaultLookbackNs > EARLIEST_NS
        ? to - defaultLookbackNs
        : EARLIEST_NS
  if (from >= to) throw new BadParam('from must be before to')
  return { from: from.toString(), to: to.toString() }
}

export const HOUR_NS = 3_600_000_000_000n
export const DAY_NS = 24n * HOUR_NS
