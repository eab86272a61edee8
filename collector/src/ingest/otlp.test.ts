import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeStatus } from '../otlp-to-native/proto.js'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex, nanosAgo } from '../testing/harness.js'
import { jsonTrace, protobufSpans, protobufTraces } from '../testing/otlp.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

async function spanCount(): Promise<number> {
  const rs = await t.context.storage.client.query({
    query: `SELECT count() AS n FROM ${t.config.clickhouse.database}.spans`,
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ n: string }>()
  return Number(row?.n)
}

describe('POST /v1/traces (OTLP/JSON)', () => {
  it('stores spans and answers with an empty ExportTraceServiceResponse', async () => {
    const traceId = hex(16)
    const res = await t.postJson(
      '/v1/traces',
      jsonTrace(traceId, [{ spanId: hex(8), name: 'GET /orders' }]),
    )
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/application\/json/)
    expect(res.json()).toEqual({})
    await t.flush()
    const got = await t.api.inject({ url: `/api/traces/${traceId}` })
    expect(got.statusCode).toBe(200)
    expect(got.json().spans[0]).toMatchObject({
      name: 'GET /orders',
      kind: 'Server',
      service: 'shop',
      durationNano: '1500000',
    })
    expect(got.json().spans[0].attributes).toEqual({ 'http.response.status_code': 200 })
  })

  it('accepts gzip', async () => {
    const traceId = hex(16)
    const res = await t.ingest.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: gzipSync(JSON.stringify(jsonTrace(traceId, [{ spanId: hex(8), name: 'zipped' }]))),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    })
    expect(res.statusCode).toBe(200)
    await t.flush()
    expect((await t.api.inject({ url: `/api/traces/${traceId}` })).json().spans[0].name).toBe(
      'zipped',
    )
  })

  it('keeps the good spans and reports the bad ones as partial success', async () => {
    const traceId = hex(16)
    const body = jsonTrace(traceId, [
      { spanId: hex(8), name: 'good' },
      { spanId: 'not-hex', name: 'bad id' },
    ])
    const res = await t.postJson('/v1/traces', body)
    expect(res.statusCode).toBe(200)
    expect(res.json().partialSuccess.rejectedSpans).toBe(1)
    expect(res.json().partialSuccess.errorMessage).toMatch(/spanId must be 16 hex characters/)
    await t.flush()
    const spans = (await t.api.inject({ url: `/api/traces/${traceId}` })).json().spans as {
      name: string
    }[]
    expect(spans.map((s) => s.name)).toEqual(['good'])
  })
})

describe('a span sent as OTLP/JSON or as protobuf', () => {
  // The trace view decodes what trace_spans keeps: the protobuf as sent, or the JSON span
  // encoded once at ingest. Both must read back alike, every value type included.
  const start = nanosAgo(30_000)
  const linkedSpan = hex(8)
  function richTrace(traceId: string, spanId: string, linked: string) {
    const value = (v: Record<string, unknown>) => v
    return {
      resourceSpans: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: 'ledger' } },
              { key: 'host.cores', value: { intValue: '8' } },
            ],
          },
          scopeSpans: [
            {
              scope: { name: 'ledger-scope', version: '0.9.1' },
              spans: [
                {
                  traceId,
                  spanId,
                  traceState: 'vendor=1',
                  name: 'POST /ledger',
                  kind: 'SPAN_KIND_CONSUMER',
                  startTimeUnixNano: start.toString(),
                  endTimeUnixNano: (start + 9_007_199_254_740_993n).toString(),
                  attributes: [
                    { key: 's', value: value({ stringValue: 'text' }) },
                    { key: 'i', value: value({ intValue: '-9007199254740993' }) },
                    { key: 'd', value: value({ doubleValue: 0.25 }) },
                    { key: 'b', value: value({ boolValue: true }) },
                    { key: 'raw', value: value({ bytesValue: 'AAEC/w==' }) },
                    {
                      key: 'list',
                      value: value({
                        arrayValue: { values: [{ intValue: 1 }, { stringValue: 'x' }] },
                      }),
                    },
                    {
                      key: 'kv',
                      value: value({
                        kvlistValue: { values: [{ key: 'k', value: { boolValue: false } }] },
                      }),
                    },
                    { key: 'none', value: value({}) },
                    { key: 'reckon.flow.id', value: value({ stringValue: '77' }) },
                    { key: 's', value: value({ stringValue: 'repeated' }) },
                  ],
                  events: [
                    {
                      timeUnixNano: (start + 5n).toString(),
                      name: 'retry',
                      attributes: [{ key: 'attempt', value: { intValue: 2 } }],
                    },
                  ],
                  links: [
                    {
                      traceId: linked,
                      spanId: linkedSpan,
                      traceState: 'l=2',
                      attributes: [{ key: 'why', value: { stringValue: 'batch' } }],
                    },
                  ],
                  status: { code: 'STATUS_CODE_ERROR', message: 'ledger closed' },
                },
              ],
            },
          ],
        },
      ],
    }
  }

  it('reads back the same span: every attribute type, events, links, status, exact times', async () => {
    const [viaJson, viaProto, linked] = [hex(16), hex(16), hex(16)]
    const spanId = hex(8)
    const json = richTrace(viaJson, spanId, linked)
    expect((await t.postJson('/v1/traces', json)).json()).toEqual({})
    // The same request as protobuf, IDs as bytes.
    const proto = richTrace(viaProto, spanId, linked)
    const span = proto.resourceSpans[0]!.scopeSpans[0]!.spans[0]!
    const fromHex = (h: string) => Buffer.from(h, 'hex')
    const encoded = protobufTraces({
      resourceSpans: [
        {
          ...proto.resourceSpans[0],
          scopeSpans: [
            {
              ...proto.resourceSpans[0]!.scopeSpans[0],
              spans: [
                {
                  ...span,
                  traceId: fromHex(viaProto),
                  spanId: fromHex(spanId),
                  links: span.links.map((l) => ({
                    ...l,
                    traceId: fromHex(l.traceId),
                    spanId: fromHex(l.spanId),
                  })),
                },
              ],
            },
          ],
        },
      ],
    })
    const res = await t.postProtobuf('/v1/traces', encoded)
    expect(res.statusCode).toBe(200)
    await t.flush()
    const read = async (id: string) =>
      (await t.api.inject({ url: `/api/traces/${id}` })).json<{ spans: unknown[] }>()
    const [a, b] = [await read(viaJson), await read(viaProto)]
    expect(a.spans).toEqual(b.spans)
    expect(a.spans[0]).toMatchObject({
      spanId,
      service: 'ledger',
      kind: 'Consumer',
      traceState: 'vendor=1',
      durationNano: '9007199254740993',
      status: { code: 'Error', message: 'ledger closed' },
      resource: { 'service.name': 'ledger', 'host.cores': 8 },
      scope: { name: 'ledger-scope', version: '0.9.1' },
      flowId: '77',
      attributes: {
        s: 'text',
        i: { int: '-9007199254740993' },
        d: 0.25,
        b: true,
        raw: { bytes: 'AAEC/w==' },
        list: [1, 'x'],
        kv: { k: false },
        none: null,
        'reckon.flow.id': '77',
      },
      events: [{ name: 'retry', attributes: { attempt: 2 } }],
      links: [{ traceId: linked, traceState: 'l=2', attributes: { why: 'batch' } }],
    })
  })
})

describe('media types', () => {
  // RFC 9110 §8.3.1: type, subtype and parameter names are case-insensitive.
  it('reads the body and answers in its encoding whatever the case of the Content-Type', async () => {
    const [viaProto, viaJson] = [hex(16), hex(16)]
    const proto = await t.ingest.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: protobufSpans('cased', viaProto, 1),
      headers: { 'content-type': 'Application/X-Protobuf' },
    })
    expect(proto.statusCode).toBe(200)
    expect(proto.headers['content-type']).toMatch(/application\/x-protobuf/)

    const json = await t.ingest.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: JSON.stringify(jsonTrace(viaJson, [{ spanId: hex(8), name: 'cased json' }])),
      headers: { 'content-type': 'application/JSON; charset=UTF-8' },
    })
    expect(json.statusCode).toBe(200)
    expect(json.json()).toEqual({})

    await t.flush()
    const names = async (id: string) =>
      (await t.api.inject({ url: `/api/traces/${id}` }))
        .json<{ spans: { name: string }[] }>()
        .spans.map((s) => s.name)
    expect(await names(viaProto)).toEqual(['step 0'])
    expect(await names(viaJson)).toEqual(['cased json'])
  })

  it('answers an error as a google.rpc.Status in protobuf for any casing of protobuf', async () => {
    for (const type of ['Application/x-protobuf', 'APPLICATION/PROTOBUF']) {
      const res = await t.ingest.inject({
        method: 'POST',
        url: '/v1/traces',
        payload: Buffer.from('this is not protobuf at all'),
        headers: { 'content-type': type },
      })
      expect(res.statusCode, type).toBe(400)
      expect(res.headers['content-type'], type).toMatch(/application\/x-protobuf/)
      expect(decodeStatus(res.rawPayload).message, type).toMatch(
        /not a valid protobuf ExportTraceServiceRequest/,
      )
    }
  })
})

describe('bad bodies', () => {
  it('answer with the right status and a google.rpc.Status, and store nothing', async () => {
    await t.flush()
    const before = await spanCount()
    const proto = { 'content-type': 'application/x-protobuf' }

    const garbage = await t.ingest.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: Buffer.from('this is not protobuf at all'),
      headers: proto,
    })
    expect(garbage.statusCode).toBe(400)
    expect(garbage.headers['content-type']).toMatch(/application\/x-protobuf/)
    expect(decodeStatus(garbage.rawPayload).message).toMatch(
      /not a valid protobuf ExportTraceServiceRequest/,
    )

    // A length prefix that promises more bytes than follow.
    const truncated = await t.ingest.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: Buffer.from([0x0a, 0x50, 0x0a, 0x10]),
      headers: proto,
    })
    expect(truncated.statusCode).toBe(400)

    const badJson = await t.ingest.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: '{"resourceSpans": [',
      headers: { 'content-type': 'application/json' },
    })
    expect(badJson.statusCode).toBe(400)
    expect(badJson.json().message).toMatch(/not valid JSON/)

    const wrongShape = await t.postJson('/v1/traces', { resourceSpans: 5 })
    expect(wrongShape.statusCode).toBe(400)
    expect(wrongShape.json().message).toMatch(/OTLP\/JSON schema/)

    const media = await t.ingest.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: 'x',
      headers: { 'content-type': 'text/plain' },
    })
    expect(media.statusCode).toBe(415)
    expect(media.json().message).toMatch(/text\/plain.*not supported/)

    const encoding = await t.ingest.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: 'x',
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
    })
    expect(encoding.statusCode).toBe(415)

    await t.flush()
    expect(await spanCount()).toBe(before)
  })

  it('refuses an oversize body and a gzip bomb with 413 after reading no more than the cap', async () => {
    const small = await testApps({ ingest: { maxBodyBytes: 64 * 1024 } })
    try {
      const big = Buffer.alloc(65 * 1024, 0x20)
      const res = await small.ingest.inject({
        method: 'POST',
        url: '/v1/traces',
        payload: big,
        headers: { 'content-type': 'application/json' },
      })
      expect(res.statusCode).toBe(413)
      // 10 MiB of zeroes compress to ~10 KiB: small on the wire, far over the cap inflated.
      const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024))
      expect(bomb.length).toBeLessThan(64 * 1024)
      const res2 = await small.ingest.inject({
        method: 'POST',
        url: '/v1/traces',
        payload: bomb,
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      })
      expect(res2.statusCode).toBe(413)
      expect(decodeStatus(res2.rawPayload).message).toMatch(
        /exceeds 65536 bytes after decompression/,
      )
      const corrupt = await small.ingest.inject({
        method: 'POST',
        url: '/v1/traces',
        payload: Buffer.from('not gzip'),
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      })
      expect(corrupt.statusCode).toBe(400)
    } finally {
      await small.close()
    }
  })
})
