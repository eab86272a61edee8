import { describe, expect, it } from 'vitest'
import { ago, duration, money, nanosToMs, percent, utcTime } from './format.js'

describe('duration', () => {
  it('picks the unit a person reads', () => {
    expect(duration(850)).toBe('850 ns')
    expect(duration(12_345)).toBe('12.3 µs')
    expect(duration('4560000')).toBe('4.56 ms')
    expect(duration(1_230_000_000)).toBe('1.23 s')
    expect(duration(123e9)).toBe('2m 03s')
    expect(duration(3_720e9)).toBe('1h 02m')
  })
})

describe('times', () => {
  it('keeps nanoseconds in the UTC form', () => {
    const ns = `${Date.now() - 60_000}123456`
    expect(utcTime(ns)).toMatch(/\.\d{3}123456Z$/)
    expect(Math.round(nanosToMs(ns))).toBe(Math.round(Number(ns.slice(0, -6)) + 0.123456))
  })
  it('says how long ago', () => {
    const now = Date.now()
    expect(ago(`${now - 5 * 60_000}000000`, now)).toBe('5 min ago')
  })
})

describe('money', () => {
  it('shows the amount exactly as given', () => {
    expect(money('0.10000000000000000001', 'EUR')).toBe('0.10000000000000000001 EUR')
    expect(money(null, 'EUR')).toBe('–')
  })
  it('percent', () => {
    expect(percent(0.0123)).toBe('1.23 %')
  })
})
