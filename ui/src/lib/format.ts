// How times, durations and amounts read on screen: durations in sensible units, times in the
// viewer's zone (UTC, to the nanosecond, on hover), money exactly as the API gives it.

type Nanos = string | number | bigint

const num = (n: Nanos) => (typeof n === 'number' ? n : Number(n))

/** 850 ns, 12.3 µs, 4.56 ms, 1.23 s, 2m 03s, 1h 02m. */
export function duration(ns: Nanos): string {
  const v = num(ns)
  if (!Number.isFinite(v)) return '–'
  const a = Math.abs(v)
  const sign = v < 0 ? '-' : ''
  if (a < 1e3) return `${sign}${Math.round(a)} ns`
  if (a < 1e6) return `${sign}${sig(a / 1e3)} µs`
  if (a < 1e9) return `${sign}${sig(a / 1e6)} ms`
  if (a < 60e9) return `${sign}${sig(a / 1e9)} s`
  const s = Math.round(a / 1e9)
  if (s < 3600) return `${sign}${Math.floor(s / 60)}m ${pad(s % 60)}s`
  if (s < 86400) return `${sign}${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`
  return `${sign}${Math.floor(s / 86400)}d ${pad(Math.floor(s / 3600) % 24)}h`
}

/** Milliseconds as a duration (the API's p50Ms and the like). */
export const durationMs = (ms: number) => duration(ms * 1e6)

/** Three significant digits, no trailing zeros beyond them: 1.23, 12.3, 123. */
function sig(x: number): string {
  if (x >= 100) return String(Math.round(x))
  if (x >= 10) return (Math.round(x * 10) / 10).toFixed(1).replace(/\.0$/, '')
  return (Math.round(x * 100) / 100).toFixed(2).replace(/\.?0+$/, '')
}

const pad = (n: number) => String(n).padStart(2, '0')

/** Milliseconds since the epoch of Unix nanoseconds (text or number). */
export function nanosToMs(ns: Nanos): number {
  if (typeof ns === 'number') return ns / 1e6
  const s = String(ns)
  // Whole milliseconds from the text, so large values keep their precision.
  return s.length > 6 ? Number(s.slice(0, -6)) + Number(s.slice(-6)) / 1e6 : Number(s) / 1e6
}

const local = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
  hour12: false,
})

/** A time in the viewer's zone, to the millisecond. */
export function localTime(ns: Nanos): string {
  return local.format(new Date(nanosToMs(ns)))
}

/** The same time in UTC, to the nanosecond when the API gives it: for hover titles. */
export function utcTime(ns: Nanos): string {
  const s = String(ns)
  const ms = nanosToMs(ns)
  const iso = new Date(Math.floor(ms)).toISOString()
  if (typeof ns === 'number' || !/^\d{10,}$/.test(s)) return iso
  return `${iso.slice(0, 19)}.${s.slice(-9)}Z`
}

/** 3 s ago, 5 min ago, 2 h ago, 4 d ago (relative to `now`, ms). */
export function ago(ns: Nanos, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - nanosToMs(ns)) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86400)} d ago`
}

/** An amount exactly as given, with its currency: never through a float. */
export function money(amount: string | null | undefined, currency: string): string {
  if (amount === null || amount === undefined) return '–'
  return currency ? `${amount} ${currency}` : amount
}

/** A share as a percentage: 0.0123 → 1.23 %. */
export function percent(x: number): string {
  if (!Number.isFinite(x)) return '–'
  if (x === 0) return '0 %'
  const p = x * 100
  return `${p < 0.01 ? '<0.01' : sig(p)} %`
}

/** A rate per second: 0.5/s, 12.3/s, 1.2k/s. */
export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–'
  if (perSecond >= 1000) return `${sig(perSecond / 1000)}k/s`
  return `${sig(perSecond)}/s`
}

/** Bytes in binary units. */
export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : sig(v)} ${units[i]}`
}

/** A finding's category as words: status_mismatch → status mismatch. */
export const categoryLabel = (c: unknown) => String(c).replace('_', ' ')
