// Money in the shop is exact: decimal strings in, integer minor units inside, decimal
// strings out. Two decimal places, as every currency the shop sells in has.

const MONEY = /^(\d{1,15})(?:\.(\d{1,2}))?$/

/** "12.5" → 1250n; throws on anything that is not a non-negative amount with ≤ 2 decimals. */
export function toMinor(amount: string): bigint {
  const m = MONEY.exec(amount)
  if (!m)
    throw new RangeError(
      `amount must be a decimal string like "12.50", got ${JSON.stringify(amount)}`,
    )
  return BigInt(m[1] ?? '0') * 100n + BigInt((m[2] ?? '').padEnd(2, '0'))
}

/** 1250n → "12.50". */
export function fromMinor(minor: bigint): string {
  const sign = minor < 0n ? '-' : ''
  const abs = minor < 0n ? -minor : minor
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`
}
