// How long a compensation waits after a failed attempt: exponential from `initial`, doubling
// to `max`, with equal jitter — half the step fixed, half random. Full jitter (anywhere from 0
// to the step) spreads a burst best, but may retry at once: a person who wrote `initial: 1s`
// expects about a second, and an endpoint that is down for every finding of a rule deserves
// the pause it was promised. The random half still spreads the findings that failed together
// (an endpoint down fails a whole rule's findings in one tick) so they do not return in step.

export interface Backoff {
  initialMs: number
  maxMs: number
}

/**
 * The wait after failed attempt `failures` (1 = the first failure): the step is
 * initial × 2^(failures − 1), capped at max; the wait lies in [step / 2, step].
 * `random` is in [0, 1), as Math.random gives it.
 */
export function backoffMs(backoff: Backoff, failures: number, random = Math.random): number {
  const n = Number.isFinite(failures) ? Math.max(1, Math.floor(failures)) : 1
  // 2^n overflows to Infinity for large n; the cap keeps the step finite.
  const step = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(n - 1, 60))
  const half = step / 2
  return Math.round(half + random() * half)
}

/**
 * A server's Retry-After (seconds, or an HTTP date) in milliseconds, when it gave one
 * that makes sense; never longer than `maxMs`.
 */
export function retryAfterMs(
  header: string | null,
  maxMs: number,
  nowMs = Date.now(),
): number | undefined {
  if (!header) return undefined
  const text = header.trim()
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - nowMs
  if (!Number.isFinite(ms) || ms < 0) return undefined
  return Math.min(ms, maxMs)
}
