import { describe, expect, it } from 'vitest'
import { fromMinor, toMinor } from './money.js'

describe('money', () => {
  it('adds prices exactly where floats would not', () => {
    expect(fromMinor(toMinor('0.10') + toMinor('0.20'))).toBe('0.30')
    expect(String(0.1 + 0.2)).toBe('0.30000000000000004') // what floats would have booked
    expect(fromMinor(toMinor('999999999999999.99') * 2n)).toBe('1999999999999999.98')
  })

  it('refuses amounts that are not exact two-decimal strings, naming the input', () => {
    expect(() => toMinor('12.345')).toThrow(
      'amount must be a decimal string like "12.50", got "12.345"',
    )
    expect(() => toMinor('-1')).toThrow(RangeError)
    expect(toMinor('7.5')).toBe(750n)
  })
})
