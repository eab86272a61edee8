// Business-event bodies for the fuzz test (POST /v1/events): rows good and poisoned, as a
// JSON array, {"events": [...]} or NDJSON; some bodies are sent twice, as a retry would.
import fc from 'fast-check'
import type { EventCheck, FuzzBody, Sample } from './fuzz-bodies.js'
import { AMOUNTS, amountIndex, CURRENCIES, currencyIndex } from './fuzz-logs.js'
import {
  attributes,
  expected,
  hexId,
  JsonText,
  poisoned,
  readBack,
  text,
  UNCHECKED,
  type Attr,
  type Expected,
  type Value,
} from './fuzz-values.js'

const TAGS = new Set(['int', 'double', 'bytes', 'kvlist'])

/** Typed-form values (README: Attribute values) the collector must refuse. */
const WRONG_TYPED: unknown[] = [
  { int: 5 },
  { int: '99999999999999999999' },
  { bytes: '!!not base64' },
  { double: 'x' },
  { kvlist: 5 },
  'a number too large for a double',
]

/**
 * A value in the typed JSON form /v1/events takes, and whether it may be refused. Keys of a
 * kvlist are the first of each spelling, none empty, as `expected` reads them.
 */
function typed(v: Value, out: JsonText): { json: unknown; poison: boolean } {
  switch (v.t) {
    case 'string':
      return { json: v.s, poison: false }
    case 'bool':
      return { json: v.b, poison: false }
    case 'int': {
      const n = BigInt(v.text)
      if (v.literal) return { json: out.raw(v.text), poison: true }
      if (n >= -(2n ** 53n) + 1n && n <= 2n ** 53n - 1n) return { json: Number(n), poison: false }
      return { json: { int: v.text }, poison: poisoned(v) }
    }
    case 'double': {
      const d = v.d
      if (Number.isNaN(d) || !Number.isFinite(d))
        return { json: { double: String(d) }, poison: false }
      if (Object.is(d, -0)) return { json: { double: '-0' }, poison: false }
      return { json: Number.isInteger(d) ? { double: d } : d, poison: false }
    }
    case 'bytes':
      return { json: { bytes: v.b64 }, poison: false }
    case 'empty':
      return { json: null, poison: false }
    case 'wrong': {
      const wrong = WRONG_TYPED[JSON.stringify(v.json).length % WRONG_TYPED.length]
      return { json: typeof wrong === 'string' ? out.raw('1e400') : wrong, poison: true }
    }
    case 'deep':
      return {
        json: out.raw('{"d":'.repeat(v.depth) + '"bottom"' + '}'.repeat(v.depth)),
        poison: poisoned(v),
      }
    case 'array': {
      const items = v.values.map((x) => typed(x, out))
      return { json: items.map((i) => i.json), poison: items.some((i) => i.poison) }
    }
    case 'kvlist': {
      const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>
      const seen = new Set<string>()
      let poison = false
      for (const [k, x] of v.entries) {
        const key = readBack(k, 'json')
        if (key === '' || seen.has(key)) continue
        seen.add(key)
        const t = typed(x, out)
        o[k] = t.json
        poison ||= t.poison
      }
      const keys = Object.keys(o)
      const only = keys.length === 1 && TAGS.has(keys[0]!)
      return { json: only ? { kvlist: o } : o, poison }
    }
  }
}

type EventPoison =
  | { p: 'timestamp'; value: unknown }
  | { p: 'field'; field: string; value: unknown }
  | { p: 'missing'; field: 'type' | 'system' | 'entity' | 'key' }

const BAD_TIMESTAMPS: unknown[] = [
  '9999-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  '1900-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  '2262-04-12T00:00:00Z',
  '2026-13-01T00:00:00Z',
  'retention',
  'milliseconds',
  true,
  -1,
]

const WRONG_FIELDS: [string, unknown][] = [
  ['key', 5],
  ['amount', 12.5],
  ['attributes', 'x'],
  ['attributes', { '': 1 }],
  ['id', 5],
  ['id', ''],
  ['traceId', 'zz'],
  ['spanId', 'abc'],
  ['type', 'bad type!'],
  ['entity', ''],
  ['system', ''],
  ['colour', 'red'],
  ['__proto__', { polluted: true }],
]

const eventPoison: fc.Arbitrary<EventPoison> = fc.oneof(
  fc.constantFrom(...BAD_TIMESTAMPS).map((value) => ({ p: 'timestamp' as const, value })),
  fc.constantFrom(...WRONG_FIELDS).map(([field, value]) => ({ p: 'field' as const, field, value })),
  fc
    .constantFrom('type' as const, 'system' as const, 'entity' as const, 'key' as const)
    .map((field) => ({
      p: 'missing' as const,
      field,
    })),
)

type Timestamp = 'none' | 'rfc3339' | 'nanosText' | 'nanosNumber'

interface RowSpec {
  explicitId: boolean
  type: string
  system: string
  entity: string
  key: string
  status: string | undefined
  amount: number
  currency: number
  timestamp: Timestamp
  agoMs: number
  service: string | undefined
  traceId: string | undefined
  attributes: Attr[]
  poison: EventPoison | undefined
}

const rowSpec: fc.Arbitrary<RowSpec> = fc.record({
  explicitId: fc.boolean(),
  type: fc.constantFrom('order.created', 'payment.captured', 'refund:issued/v2'),
  system: fc.constantFrom('shop', 'payment', 'ledger'),
  entity: fc.constantFrom('order', 'payment'),
  key: text,
  status: fc.option(text, { nil: undefined }),
  amount: amountIndex,
  currency: currencyIndex,
  timestamp: fc.constantFrom<Timestamp>('none', 'rfc3339', 'nanosText', 'nanosNumber'),
  agoMs: fc.integer({ min: 1000, max: 1_800_000 }),
  service: fc.option(text, { nil: undefined }),
  traceId: fc.option(hexId(16), { nil: undefined }),
  attributes: attributes(),
  poison: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: eventPoison },
  ),
})

interface EventsSpec {
  flowId: string
  form: 'array' | 'object' | 'ndjson'
  rows: RowSpec[]
  /** NDJSON: a line that is not JSON, before this row. */
  brokenLine: number | undefined
}

const eventsSpec: fc.Arbitrary<EventsSpec> = fc.record({
  flowId: hexId(8).map((h) => `fuzz-events-${h}`),
  form: fc.constantFrom('array' as const, 'object' as const, 'ndjson' as const),
  rows: fc.array(rowSpec, { minLength: 1, maxLength: 8 }),
  brokenLine: fc.option(fc.nat(7), { nil: undefined, freq: 4 }),
})

const modulo = <T>(list: readonly T[], n: number): T => list[n % list.length]!

function rfc3339(ns: bigint): string {
  const ms = Number(ns / 1_000_000n)
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0')
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`)
}

function buildRow(r: RowSpec, n: number, flowId: string, now: bigint, out: JsonText) {
  const p = r.poison
  const ns = now - BigInt(r.agoMs) * 1_000_000n + BigInt(n)
  const [amount, amountOk] = modulo(AMOUNTS, r.amount)
  const [currency, currencyOk] = modulo(CURRENCIES, r.currency)
  const attrs = Object.create(null) as Record<string, unknown>
  const expectedAttrs = Object.create(null) as Record<string, Expected>
  let poison = p !== undefined
  for (const [k, v] of r.attributes) {
    const t = typed(v, out)
    attrs[k] = t.json
    const key = readBack(k, 'json')
    if (!Object.hasOwn(expectedAttrs, key))
      expectedAttrs[key] = t.poison ? UNCHECKED : expected(v, 'json')
    poison ||= t.poison || k === ''
  }
  attrs['fuzz.n'] = n
  expectedAttrs['fuzz.n'] = n
  const row: Record<string, unknown> = {
    ...(r.explicitId ? { id: `${flowId}-${n}` } : {}),
    type: r.type,
    system: r.system,
    entity: r.entity,
    key: r.key,
    flowId,
    ...(r.status !== undefined ? { status: r.status } : {}),
    ...(amount ? { amount, currency } : {}),
    ...(r.service !== undefined ? { service: r.service } : {}),
    ...(r.traceId !== undefined ? { traceId: r.traceId } : {}),
    attributes: attrs,
  }
  if (r.timestamp === 'rfc3339') row.timestamp = rfc3339(ns)
  if (r.timestamp === 'nanosText') row.timestamp = ns.toString()
  if (r.timestamp === 'nanosNumber') row.timestamp = out.raw(ns.toString())
  if (p?.p === 'timestamp') {
    row.timestamp =
      p.value === 'retention'
        ? rfc3339(now - 8n * 86_400_000_000_000n)
        : p.value === 'milliseconds'
          ? Number(now / 1_000_000n)
          : p.value
  }
  if (p?.p === 'missing') delete row[p.field]
  // defineProperty: a field named `__proto__` is sent as a field.
  if (p?.p === 'field') Object.defineProperty(row, p.field, { value: p.value, enumerable: true })
  const check: EventCheck = {
    n,
    clean: !poison && r.key !== '' && r.key.length <= 500 && (!amount || (amountOk && currencyOk)),
    fields: {
      type: r.type,
      system: r.system,
      entity: r.entity,
      key: readBack(r.key, 'json'),
      flowId,
      status: readBack(r.status ?? '', 'json'),
      service: readBack(r.service ?? r.system, 'json'),
      amount: amount || null,
      currency: amount ? currency : '',
      ...(r.timestamp !== 'none' ? { timeUnixNano: ns.toString() } : {}),
      ...(r.explicitId ? { id: `${flowId}-${n}` } : {}),
    },
    attributes: expectedAttrs,
  }
  return { row, check }
}

function eventsBody(e: EventsSpec, index: number, now: bigint, resend: boolean): FuzzBody {
  const out = new JsonText()
  const built = e.rows.map((r, n) => buildRow(r, n, e.flowId, now, out))
  const rows = built.map((b) => b.row)
  const checks = built.map((b) => b.check)
  let payload: string
  if (e.form === 'ndjson') {
    const lines = rows.map((r) => out.stringify(r))
    if (e.brokenLine !== undefined) {
      const at = e.brokenLine % (lines.length + 1)
      lines.splice(at, 0, '{"type": "cut off')
      checks.splice(at, 0, { n: -1, clean: false, fields: {}, attributes: {} })
    }
    payload = lines.join('\n')
  } else {
    payload = out.stringify(e.form === 'array' ? rows : { events: rows })
  }
  return {
    signal: 'events',
    label: `events #${index} (${e.form}${resend ? ', sent twice' : ''})`,
    contentType: e.form === 'ndjson' ? 'application/x-ndjson' : 'application/json',
    payload,
    check: { kind: 'events', flowId: e.flowId, rows: checks },
    traceIds: [],
    resend,
  }
}

export const eventBodies = (sample: Sample, n: number, now: bigint): FuzzBody[] =>
  sample(fc.tuple(eventsSpec, fc.nat(9)), n, 3).map(([e, retry], i) =>
    eventsBody(e, i, now, retry === 0),
  )
