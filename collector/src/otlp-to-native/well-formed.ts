// JSON may spell a lone UTF-16 surrogate as an escape ("\ud800"), which `JSON.stringify`
// writes whenever a JS string was cut mid-pair. Such text has no UTF-8 form: the engine
// refuses a row holding it, and the protobuf encoding of a span would differ from its
// columns. Every ingest route therefore reads it as U+FFFD, as protobuf decoders read
// ill-formed UTF-8 bytes (which `Buffer#toString` already replaces).

declare global {
  // ES2024, in Node since 20; the project's lib is ES2023.
  interface String {
    isWellFormed(): boolean
    toWellFormed(): string
  }
}

/** Only a body with such an escape can hold a lone surrogate; most bodies skip the walk. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/

/**
 * `parsed` (from `JSON.parse(text)`) with every lone surrogate in its strings and keys
 * replaced by U+FFFD, in place. Iterative, so a deeply nested body cannot overflow the stack.
 */
export function wellFormed<T>(text: string, parsed: T): T {
  if (!SURROGATE_ESCAPE.test(text)) return parsed
  if (typeof parsed === 'string') return parsed.toWellFormed() as T
  const stack: unknown[] = [parsed]
  while (stack.length > 0) {
    const value = stack.pop()
    if (typeof value !== 'object' || value === null) continue
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i]
        if (typeof v === 'string') value[i] = v.toWellFormed()
        else if (typeof v === 'object' && v !== null) stack.push(v)
      }
      continue
    }
    const o = value as Record<string, unknown>
    for (const key of Object.keys(o)) {
      const v = o[key]
      if (typeof v === 'object' && v !== null) stack.push(v)
      const fixed = typeof v === 'string' ? v.toWellFormed() : v
      if (fixed === v && key.isWellFormed()) continue
      if (!key.isWellFormed()) delete o[key]
      // defineProperty: a key such as `__proto__` stays a key, never the prototype.
      Object.defineProperty(o, key.toWellFormed(), {
        value: fixed,
        writable: true,
        enumerable: true,
        configurable: true,
      })
    }
  }
  return parsed
}
