// Instants as Reckon keeps them: Unix nanoseconds in a bigint. One clock and one RFC 3339
// reader for every part (ingest, the query API, the reconciler's imports).

/** Now, in Unix nanoseconds (millisecond resolution: the wall clock's). */
export const nowNanos = (): bigint => BigInt(Date.now()) * 1_000_000n

const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/

/**
 * An RFC 3339 date-time (`2026-01-31T12:00:00.123456789Z`, `…+02:00`) in Unix nanoseconds,
 * or undefined when the text is not one (a missing zone, a 31st of February, a leap second).
 */
export function rfc3339Nanos(text: string): bigint | undefined {
  const m = DATE_TIME.exec(text)
  if (!m) return undefined
  const [, date, time, fraction = '', zone] = m
  const ms = Date.parse(`${date}T${time}${zone!.toUpperCase()}`)
  if (Number.isNaN(ms)) return undefined
  // Date.parse rolls an impossible day over (2026-02-31 → March 3rd); RFC 3339 does not.
  const utc = new Date(Date.parse(`${date}T${time}Z`))
  if (utc.toISOString().slice(0, 19) !== `${date}T${time}`) return undefined
  return BigInt(ms) * 1_000_000n + BigInt(fraction.padEnd(9, '0'))
}
