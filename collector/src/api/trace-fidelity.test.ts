import protobuf from 'protobufjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResourceCodec, ScopeCodec, SpanCodec } from '../otlp-to-native/proto.js'
import { LowCardinalityColumn } from '../storage/native-dictionary.js'
import { encodeBlock, PlainColumn, TIME } from '../storage/native.js'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex, nanosAgo } from '../testing/harness.js'
import { protobufTraces } from '../testing/otlp.js'
import { rowInserter } from '../storage/insert.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

const kv = (key: string, value: object) => ({ key, value })
const str = (s: string) => ({ stringValue: s })
const bytes = (h: string) => Buffer.from(h, 'hex')

interface SpanJson {
  name: string
  attributes: Record<string, unknown>
  decodeWarning?: string
  [field: string]: unknown
}

async function trace(traceId: string): Promise<{ spans: SpanJson[] }> {
  const res = await t.api.inject({ url: `/api/traces/${traceId}` })
  expect(res.statusCode, res.body).toBe(200)
  return res.json()
}

/** A request with one resource and scope around `spans`, as protobuf. */
function request(spans: object[]) {
  return protobufTraces({
    resourceSpans: [
      {
        resource: {
          attributes: [kv('service.name', str('ledger')), kv('__proto__', str('res'))],
          droppedAttributesCount: 2,
        },
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scopeSpans: [
          {
            scope: {
              name: 'ledger-lib',
              version: '3.1.0',
              attributes: [kv('scope.mode', str('strict')), kv('constructor', { intValue: 4 })],
              droppedAttributesCount: 1,
            },
            schemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
            spans,
          },
        ],
      },
    ],
  })
}

const span = (traceId: string, name: string, extra: object = {}) => {
  const start = nanosAgo(60_000)
  return {
    traceId: bytes(traceId),
    spanId: bytes(hex(8)),
    name,
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: (start + 1000n).toString(),
    ...extra,
  }
}

/** Wire-level building blocks. */
const writer = () => protobuf.Writer.create()

/** A kvlist nested `depth` deep, as AnyValue bytes (written inside out: no recursion). */
function nested(depth: number): Uint8Array {
  let inner = writer()
    .uint32((1 << 3) | 2)
    .string('leaf')
    .finish()
  for (let i = 0; i < depth; i++) {
    const pair = writer()
      .uint32((1 << 3) | 2)
      .string('k')
      .uint32((2 << 3) | 2)
      .bytes(inner)
      .finish()
    const list = writer()
      .uint32((1 << 3) | 2)
      .bytes(pair)
      .finish()
    inner = writer()
      .uint32((6 << 3) | 2)
      .bytes(list)
      .finish()
  }
  return inner
}

describe('GET /api/traces/:traceId reads back what was stored', () => {
  it('serves a trace whose stored spans include one that cannot be decoded, marking that one', async () => {
    const traceId = hex(16)
    const good = span(traceId, 'good')
    expect((await t.postProtobuf('/v1/traces', request([good]))).statusCode).toBe(200)
    await t.flush()
    // A span stored before ingest checked item bounds: a valid span, then an unknown field
    // whose length runs past the span's end.
    const odd = Buffer.concat([
      SpanCodec.encode(SpanCodec.fromObject(span(traceId, 'odd'))).finish(),
      writer()
        .uint32((99 << 3) | 2)
        .uint32(100)
        .finish(),
      Buffer.from([1, 2, 3]),
    ])
    await storeRaw(traceId, odd)

    const { spans } = await trace(traceId)
    expect(spans.map((s) => s.name)).toEqual(['good', 'odd'])
    expect(spans[0]!.decodeWarning).toBeUndefined()
    // What lies before the bad field is read; the span says what was not.
    expect(spans[1]).toMatchObject({ name: 'odd', spanId: expect.stringMatching(/^[0-9a-f]{16}$/) })
    expect(spans[1]!.decodeWarning).toMatch(/offset \d+ are not a field within the span/)
  })

  it('serves a span with an attribute nested deeper than can be read, leaving that attribute out', async () => {
    const traceId = hex(16)
    const s = SpanCodec.encode(
      SpanCodec.fromObject(span(traceId, 'deep', { attributes: [kv('ok', str('yes'))] })),
    ).finish()
    const deepAttribute = writer()
      .uint32((1 << 3) | 2)
      .string('deep')
      .uint32((2 << 3) | 2)
      .bytes(nested(5000))
      .finish()
    const withDeep = Buffer.concat([
      s,
      writer()
        .uint32((9 << 3) | 2)
        .bytes(deepAttribute)
        .finish(),
    ])
    // Stored before ingest refused values nested this deep.
    await storeRaw(traceId, withDeep)
    const { spans } = await trace(traceId)
    expect(spans).toHaveLength(1)
    expect(spans[0]!.attributes).toEqual({ ok: 'yes' })
    expect(spans[0]!.decodeWarning).toMatch(/attribute "deep"/)
  })
})

describe('a value too deep to read back', () => {
  it('is refused at ingest, span by span, with the reason', async () => {
    const traceId = hex(16)
    let value: object = str('leaf')
    for (let i = 0; i < 600; i++) value = { kvlistValue: { values: [kv('k', value)] } }
    const start = nanosAgo(60_000)
    const at = (i: number) => ({
      traceId,
      spanId: hex(8),
      name: `s${i}`,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + 10n).toString(),
      attributes: i === 0 ? [kv('deep', value)] : [],
    })
    const res = await t.postJson('/v1/traces', {
      resourceSpans: [{ scopeSpans: [{ spans: [at(0), at(1)] }] }],
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().partialSuccess).toMatchObject({
      rejectedSpans: 1,
      errorMessage: expect.stringMatching(/nest/i),
    })
    await t.flush()
    expect((await trace(traceId)).spans.map((s) => s.name)).toEqual(['s1'])
  })
})

describe('spans spooled by a collector before migration 9', () => {
  it('are stored and read: a block without the schema URL columns gets their defaults', async () => {
    const traceId = hex(16)
    const start = nanosAgo(60_000)
    const c = {
      traceId: new PlainColumn('String'),
      timestamp: new PlainColumn(TIME),
      resource: new LowCardinalityColumn(),
      scope: new LowCardinalityColumn(),
      span: new PlainColumn('String'),
    }
    c.traceId.data.string(traceId)
    c.timestamp.data.int64(start)
    const resource = ResourceCodec.encode({ attributes: [kv('service.name', str('old'))] })
    c.resource.addIndex(c.resource.indexOfBytes(resource.finish()))
    c.scope.addIndex(c.scope.indexOfBytes(ScopeCodec.encode({}).finish()))
    c.span.data.bytes(SpanCodec.encode(SpanCodec.fromObject(span(traceId, 'old span'))).finish())
    const block = encodeBlock(
      Object.entries(c).map(([k, v]) => [snake(k), v]),
      1,
    )
    const { storage } = t.context
    await rowInserter(storage)(`${storage.database}.trace_spans`, 'Native', [block])
    const { spans } = await trace(traceId)
    expect(spans).toMatchObject([
      { name: 'old span', service: 'old', resourceSchemaUrl: '', scope: { schemaUrl: '' } },
    ])
  })
})

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

describe('a span reads back with every field and every value typed as sent', () => {
  // Values plain JSON cannot tell apart, and keys an object's prototype would swallow.
  const attributes = [
    kv('__proto__', str('kept')),
    kv('constructor', str('c')),
    kv('prototype', { intValue: 7 }),
    kv('double.integral', { doubleValue: 2 }),
    kv('double.nan', { doubleValue: NaN }),
    kv('double.inf', { doubleValue: Infinity }),
    kv('bytes', { bytesValue: Buffer.from('hi') }),
    kv('int.big', { intValue: '9007199254740993' }),
    kv('int.small', { intValue: 3 }),
    kv('array', { arrayValue: { values: [str('p'), { doubleValue: 1 }] } }),
    kv('kvlist', { kvlistValue: { values: [kv('__proto__', str('inner'))] } }),
  ]
  const typed = JSON.parse(`{
    "__proto__": "kept", "constructor": "c", "prototype": 7,
    "double.integral": {"double": 2}, "double.nan": {"double": "NaN"},
    "double.inf": {"double": "Infinity"}, "bytes": {"bytes": "aGk="},
    "int.big": {"int": "9007199254740993"}, "int.small": 3,
    "array": ["p", {"double": 1}], "kvlist": {"__proto__": "inner"}
  }`) as Record<string, unknown>

  it('over HTTP, from protobuf', async () => {
    const traceId = hex(16)
    const linked = hex(8)
    const sent = span(traceId, 'everything', {
      flags: 0x301,
      traceState: 'k=v',
      attributes,
      droppedAttributesCount: 4,
      events: [
        {
          timeUnixNano: nanosAgo(59_000).toString(),
          name: 'e',
          attributes,
          droppedAttributesCount: 5,
        },
      ],
      droppedEventsCount: 6,
      links: [
        {
          traceId: bytes(traceId),
          spanId: bytes(linked),
          traceState: 'l=1',
          flags: 0x101,
          attributes,
          droppedAttributesCount: 7,
        },
      ],
      droppedLinksCount: 8,
    })
    expect((await t.postProtobuf('/v1/traces', request([sent]))).statusCode).toBe(200)
    await t.flush()
    const res = await t.api.inject({ url: `/api/traces/${traceId}` })
    // The body as sent over the wire: a key named __proto__ must be in it, not swallowed.
    expect(res.body).toContain('"__proto__":"kept"')
    const [stored] = (JSON.parse(res.body) as { spans: SpanJson[] }).spans
    expect(stored).toMatchObject({
      name: 'everything',
      flags: 0x301,
      traceState: 'k=v',
      attributes: typed,
      droppedAttributesCount: 4,
      resource: JSON.parse('{"service.name": "ledger", "__proto__": "res"}'),
      resourceDroppedAttributesCount: 2,
      resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scope: {
        name: 'ledger-lib',
        version: '3.1.0',
        attributes: JSON.parse('{"scope.mode": "strict", "constructor": 4}'),
        droppedAttributesCount: 1,
        schemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
      },
      events: [{ name: 'e', attributes: typed, droppedAttributesCount: 5 }],
      droppedEventsCount: 6,
      links: [
        {
          traceId,
          spanId: linked,
          traceState: 'l=1',
          flags: 0x101,
          attributes: typed,
          droppedAttributesCount: 7,
        },
      ],
      droppedLinksCount: 8,
    })
    expect(Object.keys(stored!.attributes)).toEqual(Object.keys(typed))
    expect(stored!.decodeWarning).toBeUndefined()
  })

  it('over HTTP, from OTLP/JSON', async () => {
    const traceId = hex(16)
    const json = (values: object[]) =>
      values.map((a) => {
        const { key, value } = a as { key: string; value: Record<string, unknown> }
        if (value.bytesValue) return { key, value: { bytesValue: 'aGk=' } }
        if (Number.isNaN(value.doubleValue)) return { key, value: { doubleValue: 'NaN' } }
        if (value.doubleValue === Infinity) return { key, value: { doubleValue: 'Infinity' } }
        return a
      })
    const start = nanosAgo(60_000)
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [kv('service.name', str('ledger'))], droppedAttributesCount: 1 },
          schemaUrl: 'https://example.com/r',
          scopeSpans: [
            {
              scope: { name: 'j', attributes: json([kv('__proto__', str('s'))]) },
              schemaUrl: 'https://example.com/s',
              spans: [
                {
                  traceId,
                  spanId: hex(8),
                  name: 'from json',
                  flags: 1,
                  startTimeUnixNano: start.toString(),
                  endTimeUnixNano: (start + 10n).toString(),
                  attributes: json(attributes),
                  droppedAttributesCount: 9,
                },
              ],
            },
          ],
        },
      ],
    }
    expect((await t.postJson('/v1/traces', body)).statusCode).toBe(200)
    await t.flush()
    const res = await t.api.inject({ url: `/api/traces/${traceId}` })
    const [stored] = (JSON.parse(res.body) as { spans: SpanJson[] }).spans
    expect(stored).toMatchObject({
      flags: 1,
      attributes: typed,
      droppedAttributesCount: 9,
      resourceDroppedAttributesCount: 1,
      resourceSchemaUrl: 'https://example.com/r',
      scope: {
        name: 'j',
        attributes: JSON.parse('{"__proto__": "s"}'),
        schemaUrl: 'https://example.com/s',
      },
    })
  })
})

/** Writes a row into `trace_spans` as a collector of an earlier version could have. */
async function storeRaw(traceId: string, spanBytes: Uint8Array): Promise<void> {
  const db = t.context.storage.database
  await t.context.storage.client.command({
    query: `INSERT INTO ${db}.trace_spans (trace_id, timestamp, resource, scope, span)
      SELECT {traceId:String}, fromUnixTimestamp64Nano({start:Int64}), unhex({resource:String}),
        unhex({scope:String}), unhex({span:String})`,
    query_params: {
      traceId,
      start: nanosAgo(30_000).toString(),
      resource: Buffer.from(
        ResourceCodec.encode({ attributes: [kv('service.name', str('ledger'))] }).finish(),
      ).toString('hex'),
      scope: Buffer.from(ScopeCodec.encode({}).finish()).toString('hex'),
      span: Buffer.from(spanBytes).toString('hex'),
    },
  })
}
