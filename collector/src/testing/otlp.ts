import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'

interface RequestCodec {
  fromObject(o: object): unknown
  encode(m: unknown): { finish(): Uint8Array }
}
const root = createRequire(import.meta.url)(
  'otlp-proto-definitions/build/src/generated/root.js',
) as {
  opentelemetry: {
    proto: {
      collector: {
        trace: { v1: { ExportTraceServiceRequest: RequestCodec } }
        logs: { v1: { ExportLogsServiceRequest: RequestCodec } }
        metrics: { v1: { ExportMetricsServiceRequest: RequestCodec } }
      }
    }
  }
}
const { collector } = root.opentelemetry.proto
const { ExportTraceServiceRequest } = collector.trace.v1

const encode = (codec: RequestCodec, request: object): Buffer =>
  Buffer.from(codec.encode(codec.fromObject(request)).finish())

/** An ExportLogsServiceRequest in protobuf (protobufjs' object form, as `protobufTraces`). */
export const protobufLogs = (request: object): Buffer =>
  encode(collector.logs.v1.ExportLogsServiceRequest, request)

/** An ExportMetricsServiceRequest in protobuf (protobufjs' object form). */
export const protobufMetrics = (request: object): Buffer =>
  encode(collector.metrics.v1.ExportMetricsServiceRequest, request)

/**
 * An ExportTraceServiceRequest in protobuf, as an exporter sends it. Takes protobufjs'
 * object form: IDs as bytes (Buffer), enums as numbers or names, 64-bit values as strings.
 */
export function protobufTraces(request: object): Buffer {
  return Buffer.from(
    ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish(),
  )
}

/**
 * `count` spans of one service in one trace, as protobuf: named `step 0`, `step 1`…, each
 * starting a nanosecond after the last, a minute ago, and lasting 5 µs.
 */
export function protobufSpans(service: string, traceId: string, count: number): Buffer {
  const start = (BigInt(Date.now()) - 60_000n) * 1_000_000n
  return protobufTraces({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            spans: Array.from({ length: count }, (_, i) => ({
              traceId: Buffer.from(traceId, 'hex'),
              spanId: randomBytes(8),
              name: `step ${i}`,
              startTimeUnixNano: (start + BigInt(i)).toString(),
              endTimeUnixNano: (start + BigInt(i) + 5000n).toString(),
            })),
          },
        ],
      },
    ],
  })
}

/**
 * An OTLP/JSON traces request: the spans of one service (the first span's, default `shop`)
 * in one trace, hex IDs, a microsecond apart from a minute ago, each lasting 1.5 ms.
 */
export function jsonTrace(
  traceId: string,
  spans: { spanId: string; parent?: string; name: string; service?: string }[],
) {
  const start = (BigInt(Date.now()) - 60_000n) * 1_000_000n
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
