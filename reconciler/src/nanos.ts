// Times inside the reconciler are Unix nanoseconds (bigint), as the tables hold them.

let last = 0n

/** Now in Unix nanoseconds, strictly increasing within the process (history rows sort). */
export function nowNanos(): bigint {
  const ns = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n)
  last = ns > last ? ns : last + 1n
  return last
}

/** RFC 3339 with nine fractional digits, UTC: what DateTime64(9) columns take and give. */
export function nanosText(ns: bigint): string {
  const seconds = ns / 1_000_000_000n
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0')
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`
}

/** The nanoseconds of a DateTime64(9) as the engine prints it (`2026-12-01 10:00:00.123456789`). */
export function textNanos(text: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z?$/.exec(text)
  if (!m) throw new Error(`not a time: ${text}`)
  const ms = Date.parse(`${m[1]}T${m[2]}Z`)
  return BigInt(ms) * 1_000_000n + BigInt((m[3] ?? '').padEnd(9, '0'))
}
