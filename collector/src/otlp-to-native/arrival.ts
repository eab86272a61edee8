// What each item of a request is checked against before the collector acknowledges it:
// the time it arrived, how far back storage keeps data, and the caps on a request's size in
// items. A plain object, so it travels to the decode threads with the body.
import { InvalidField } from './invalid-field.js'
import { nowNanos } from '../time/instant.js'

export interface Arrival {
  /** When the request arrived, Unix nanoseconds as decimal text. */
  nowNanos: string
  /** Days the tables keep rows (`retentionDays`); older items are refused. */
  retentionDays: number
  /** Items (spans, log records, data points, events) one request may carry. */
  maxItems: number
  /** Attributes, span events or links one item may carry. */
  maxPerItem: number
}

export const ITEM_LIMITS = { maxItems: 50_000, maxPerItem: 10_000 } as const

const DAY_NS = 86_400_000_000_000n

/** An arrival now-ish; `nowNanos` alone keeps the default retention (7 days) and caps. */
export function arrival(
  nowNanos: string,
  limits: Partial<Omit<Arrival, 'nowNanos'>> = {},
): Arrival {
  return { nowNanos, retentionDays: 7, ...ITEM_LIMITS, ...limits }
}

/** A request with more items than `maxItems`: refused whole, with 413. */
export class TooManyItems extends Error {
  override name = 'TooManyItems'
  constructor(what: string, max: number) {
    super(`the request carries more than ${max} ${what}; split it into smaller requests`)
  }
}

/**
 * The earliest time (Unix ns) an item may carry: the tables' TTL removes rows older than
 * `retentionDays`, so an older item would be acknowledged and then vanish.
 */
export function oldestKept(a: Arrival): bigint {
  const oldest = BigInt(a.nowNanos) - BigInt(a.retentionDays) * DAY_NS
  return oldest > 0n ? oldest : 0n
}

/** Refuses a time older than retention; `nanos` is Unix ns. */
export function checkRetained(nanos: bigint, oldest: bigint, days: number, field: string): void {
  if (nanos < oldest) {
    throw new InvalidField(`${field} is older than the retention of ${days} days`)
  }
}

/** Refuses an item with more than `max` entries in one of its lists. */
export function checkCount(n: number | undefined, max: number, field: string): void {
  if (n !== undefined && n > max) {
    throw new InvalidField(`${field} has ${n} entries; at most ${max} are accepted`)
  }
}

/** An arrival at this moment, with the default retention and caps. */
export const arrivingNow = (): Arrival => arrival(nowNanos().toString())
