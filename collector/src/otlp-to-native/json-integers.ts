// The protobuf JSON mapping lets 64-bit integers (times in ns, int attributes, counts) be
// sent as numbers or as strings. `JSON.parse` rounds a number above 2^53 to the nearest
// double, so before parsing, such integer literals are turned into strings, which every
// 64-bit field reads exactly.

/** A cheap test: could the text hold an integer literal of 16 or more digits at all? */
const MAYBE_LARGE = /[:[,]\s*-?\d{16}/

const QUOTE = 0x22
const BACKSLASH = 0x5c
const MINUS = 0x2d

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
/** Characters that continue a number: a fraction or an exponent makes it no integer. */
const continuesNumber = (c: number): boolean =>
  isDigit(c) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === MINUS

const SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * Which literals to quote: the key they are the value of ('' in an array) and the depth of
 * the object or array holding them (1: the outermost).
 */
export type QuoteWhere = (key: string, depth: number) => boolean

const OPEN_OBJECT = 0x7b
const OPEN_ARRAY = 0x5b
const CLOSE_OBJECT = 0x7d
const CLOSE_ARRAY = 0x5d
const COLON = 0x3a
const COMMA = 0x2c

/** `text` with every integer literal beyond ±(2^53 − 1) quoted, outside strings only. */
export function quoteLargeIntegers(text: string, where: QuoteWhere = () => true): string {
  if (!MAYBE_LARGE.test(text)) return text
  let out = ''
  let copied = 0
  let depth = 0
  /** The last key read, until the value after it is done. */
  let key = ''
  /** Where the last string's text lies, while only whitespace follows it; else -1. */
  let stringStart = -1
  let stringEnd = -1
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      // Step over the string, escapes included.
      stringStart = i
      i++
      while (i < n) {
        const d = text.charCodeAt(i)
        if (d === BACKSLASH) i += 2
        else if (d === QUOTE) break
        else i++
      }
      stringEnd = i
      i++
      continue
    }
    if (c === COLON && stringStart >= 0) {
      key = text.slice(stringStart + 1, stringEnd)
      i++
      continue
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--
    if (c === COMMA || c === OPEN_ARRAY || c === OPEN_OBJECT) key = ''
    if (c !== MINUS && !isDigit(c)) {
      if (c > 0x20) stringStart = -1
      i++
      continue
    }
    stringStart = -1
    const start = i
    i++
    while (i < n && continuesNumber(text.charCodeAt(i))) i++
    const literal = text.slice(start, i)
    if (/^-?\d{16,}$/.test(literal) && where(key, depth)) {
      const v = BigInt(literal)
      if (v > SAFE || v < -SAFE) {
        out += text.slice(copied, start) + '"' + literal + '"'
        copied = i
      }
    }
  }
  return copied === 0 ? text : out + text.slice(copied)
}
