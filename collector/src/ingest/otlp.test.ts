import { gzipSync } from 'node:zlib'
import { readdirSync, renameSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { decodeStatus } from '../otlp/proto.js'
import { spoolDir } from '../storage/insert.js'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex, nanosAgo } from '../testing/harness.js'
import { protobufTraces } from '../testing/otlp.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

function jsonTrace(
  traceId: string,
  spans: { spanId: string; parent?: string; name: string; service?: string }[],
) {
  const start = nanosAgo(60_000)
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: spans[0]?.service ?? 'shop' } },
          ],
        },
        scopeSpans: [
          {
            scope: { name: 'test-scope', version: '1.2.3' },
            spans: spans.map((s, i) => ({
              traceId,
              spanId: s.spanId,
              parentSpanId: s.parent ?? '',
              name: s.name,
              kind: 2,
              startTimeUnixNano: (start + BigInt(i) * 1000n).toString(),
              endTimeUnixNano: (start + BigInt(i) * 1000n + 1_500_000n).toString(),
              attributes: [{ key: 'http.response.status_code', value: { intValue: '200' } }],
              status: { code: 0 },
            })),
          },
        ],
      },
    ],
  }
}

const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  t.ingest.inject({
    method: 'POST',
    url,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  })

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
    const res = await postJson(
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
    const res = await postJson('/v1/traces', body)
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
    expect((await postJson('/v1/traces', json)).json()).toEqual({})
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
    const res = await t.ingest.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: encoded,
      headers: { 'content-type': 'application/x-protobuf' },
    })
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
        i: '-9007199254740993',
        d: 0.25,
        b: true,
        raw: 'AAEC/w==',
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

    const wrongShape = await postJson('/v1/traces', { resourceSpans: 5 })
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

  it('answers 503 with Retry-After when the write queue is full, keeping what it acknowledged', async () => {
    const tiny = await testApps({
      ingest: { queueBytes: 4096, flushIntervalMs: 60_000, batchRows: 1_000_000 },
    })
    try {
      const first = hex(16)
      const ok = await tiny.ingest.inject({
        method: 'POST',
        url: '/v1/traces',
        payload: JSON.stringify(jsonTrace(first, [{ spanId: hex(8), name: 'kept' }])),
        headers: { 'content-type': 'application/json' },
      })
      expect(ok.statusCode).toBe(200)
      const many = jsonTrace(
        hex(16),
        Array.from({ length: 20 }, (_, i) => ({ spanId: hex(8), name: `s${i}` })),
      )
      const full = await tiny.ingest.inject({
        method: 'POST',
        url: '/v1/traces',
        payload: JSON.stringify(many),
        headers: { 'content-type': 'application/json' },
      })
      expect(full.statusCode).toBe(503)
      expect(full.headers['retry-after']).toBe('2')
      await tiny.flush()
      const got = await tiny.api.inject({ url: `/api/traces/${first}` })
      expect(got.json().spans.map((s: { name: string }) => s.name)).toEqual(['kept'])
      // Neither the stored rows nor the refused ones leave a spool file behind.
      const spooled = spoolDir(tiny.config.dataDir)
      await vi.waitFor(() => expect(readdirSync(spooled)).toEqual([]))
    } finally {
      await tiny.close()
    }
  })

  it('answers 503 when it cannot write rows to its disk, and keeps none of them', async () => {
    // The spool directory gone stands for a disk that refuses writes (root ignores modes).
    const spooled = spoolDir(t.config.dataDir)
    const aside = `${spooled}-aside-${hex(4)}`
    const traceId = hex(16)
    const body = JSON.stringify(jsonTrace(traceId, [{ spanId: hex(8), name: 'lost' }]))
    const event = JSON.stringify([
      { type: 'order.created', system: 'shop', entity: 'order', key: traceId },
    ])
    renameSync(spooled, aside)
    try {
      for (const [url, payload] of [
        ['/v1/traces', body],
        ['/v1/events', event],
      ] as const) {
        const res = await t.ingest.inject({
          method: 'POST',
          url,
          payload,
          headers: { 'content-type': 'application/json' },
        })
        expect(res.statusCode, url).toBe(503)
        expect(res.headers['retry-after']).toBe('2')
        expect(res.json().message).toMatch(/cannot write to its disk/)
      }
    } finally {
      renameSync(aside, spooled)
    }
    await t.flush()
    expect((await t.api.inject({ url: `/api/traces/${traceId}` })).statusCode).toBe(404)
    // The sender's retry, once the disk takes writes again, is stored.
    const retry = await postJson('/v1/traces', JSON.parse(body))
    expect(retry.statusCode).toBe(200)
    await t.flush()
    expect((await t.api.inject({ url: `/api/traces/${traceId}` })).json().spans).toHaveLength(1)
  })

  it('shows a span an exporter sent twice once, and says when a trace has more spans than shown', async () => {
    const capped = await testApps({ query: { maxSpansPerTrace: 3 } })
    try {
      const send = (body: unknown) =>
        capped.ingest.inject({
          method: 'POST',
          url: '/v1/traces',
          payload: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        })
      const [small, large] = [hex(16), hex(16)]
      const twice = jsonTrace(small, [
        { spanId: hex(8), name: 'first' },
        { spanId: hex(8), name: 'second' },
      ])
      // The retry of a request whose answer was lost.
      for (const body of [twice, twice]) expect((await send(body)).statusCode).toBe(200)
      const names = Array.from({ length: 5 }, (_, i) => ({ spanId: hex(8), name: `s${i}` }))
      expect((await send(jsonTrace(large, names))).statusCode).toBe(200)
      await capped.flush()

      const got = await capped.api.inject({ url: `/api/traces/${small}` })
      expect(got.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(got.json()).toMatchObject({ traceId: small, truncated: false })
      expect(got.json().spans.map((s: { name: string }) => s.name)).toEqual(['first', 'second'])
      const cut = (await capped.api.inject({ url: `/api/traces/${large}` })).json()
      expect(cut.truncated).toBe(true)
      // The earliest spans, in start order.
      expect(cut.spans.map((s: { name: string }) => s.name)).toEqual(['s0', 's1', 's2'])
    } finally {
      await capped.close()
    }
  })
})
