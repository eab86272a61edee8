import { describe, expect, it } from 'vitest'
import { rfc3339Nanos } from './instant.js'

describe('rfc3339Nanos', () => {
  it('reads every precision and zone to the nanosecond', () => {
    expect(rfc3339Nanos('1970-01-01T00:00:00Z')).toBe(0n)
    expect(rfc3339Nanos('2026-01-31T12:00:00.123456789Z')).toBe(1769860800123456789n)
    expect(rfc3339Nanos('2026-01-31T14:00:00.5+02:00')).toBe(1769860800500000000n)
    expect(rfc3339Nanos('2026-01-31 12:00:00z')).toBe(1769860800000000000n)
  })

  it('refuses what is not an RFC 3339 date-time', () => {
    for (const text of [
      '2026-01-31T12:00:00', // no zone
      '2026-01-31',
      '2026-02-31T00:00:00Z', // no such day
      '2026-01-31T24:00:00Z',
      '2026-01-31T12:00:60Z',
      '2026-01-31T12:00:00.1234567890Z',
      ' 2026-01-31T12:00:00Z',
      '2026-1-31T12:00:00Z',
    ])
      expect(rfc3339Nanos(text), text).toBeUndefined()
  })
})
