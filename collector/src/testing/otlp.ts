import { createRequire } from 'node:module'

interface RequestCodec {
  fromObject(o: object): unknown
  encode(m: unknown): { finish(): Uint8Array }
}
const root = createRequire(import.meta.url)(
  'otlp-proto-definitions/build/src/generated/root.js',
) as {
  opentelemetry: {
    proto: { collector: { trace: { v1: { ExportTraceServiceRequest: RequestCodec } } } }
  }
}
const { ExportTraceServiceRequest } = root.opentelemetry.proto.collector.trace.v1

/**
 * An ExportTraceServiceRequest in protobuf, as an exporter sends it. Takes protobufjs'
 * object form: IDs as bytes (Buffer), enums as numbers or names, 64-bit values as strings.
 */
export function protobufTraces(request: object): Buffer {
  return Buffer.from(
    ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish(),
  )
}
