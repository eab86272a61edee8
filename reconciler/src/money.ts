// Amounts are decimal text from end to end; this only pads them for people.
import currencyCodes from 'currency-codes'

/** Minor-unit digits of an ISO 4217 currency (2 when it is not one). */
export function minorDigits(currency: string): number {
  return currencyCodes.code(currency)?.digits ?? 2
}

/**
 * An exact decimal as the currency writes it: "12.5" EUR → "12.50", "1500" JPY → "1500".
 * Places beyond the currency's are kept, never rounded away.
 */
export function formatAmount(text: string, currency: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text)
  if (!m) return text
  const digits = minorDigits(currency)
  const fraction = (m[3] ?? '').replace(/0+$/, '')
  const places = Math.max(digits, fraction.length)
  return places === 0 ? `${m[1]}${m[2]}` : `${m[1]}${m[2]}.${fraction.padEnd(places, '0')}`
}
