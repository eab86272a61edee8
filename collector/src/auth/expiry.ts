import { BadParam } from '../api/time.js'
import { rfc3339Nanos } from '../time/instant.js'

const UNIT_NS: Record<string, bigint> = {
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
  w: 7n * 86_400_000_000_000n,
}

/** When a key expires, from `90d`, `12h`, `2w`, `30m` or an RFC 3339 time; in the future. */
export function parseExpiry(text: string, now: bigint): bigint {
  const m = /^(\d{1,6})([mhdw])$/.exec(text)
  const at = m ? now + BigInt(m[1]!) * UNIT_NS[m[2]!]! : rfc3339Nanos(text)
  if (at === undefined)
    throw new BadParam(
      `expires must be a duration (30m, 12h, 90d, 2w) or an RFC 3339 time, got ${JSON.stringify(text)}`,
    )
  if (at <= now) throw new BadParam(`expires must be in the future, got ${JSON.stringify(text)}`)
  return at
}
