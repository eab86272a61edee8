// HTTP helpers the benches share: an OTLP export POST and a timed GET over a given agent (its
// keep-alive sockets are the "connections" a bench speaks of), and the percentiles they print.
import { createRequire } from 'node:module'
import { request, type Agent } from 'node:http'

export interface Answer {
  status: number
  /** From the request's start to the answer's last byte. */
  ms: number
  body: Buffer
  headers: Record<string, string | string[] | undefined>
}

function send(
  url: URL,
  agent: Agent,
  method: 'GET' | 'POST',
  body?: Uint8Array,
  contentType?: string,
): Promise<Answer> {
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        agent,
        headers: body
          ? {
              'content-type': contentType ?? 'application/octet-stream',
              'content-length': body.length,
            }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: performance.now() - t0,
            body: Buffer.concat(chunks),
            headers: res.headers,
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** POSTs one OTLP/protobuf export request (`url`: the collector's /v1/… endpoint). */
export const postExport = (url: string | URL, body: Uint8Array, agent: Agent): Promise<Answer> =>
  send(new URL(url), agent, 'POST', body, 'application/x-protobuf')

export const get = (url: string | URL, agent: Agent): Promise<Answer> =>
  send(new URL(url), agent, 'GET')

const require = createRequire(import.meta.url)
interface Decoder {
  decode(bytes: Uint8Array): {
    partialSuccess?: { rejectedSpans?: number | { toNumber(): number } }
  }
}
const root = require('otlp-proto-definitions/build/src/generated/root.js') as {
  opentelemetry: {
    proto: { collector: { trace: { v1: { ExportTraceServiceResponse: Decoder } } } }
  }
}

/** Spans a 200 answer to a protobuf trace export says it refused (`partial_success`). */
export function rejectedSpans(answer: Answer): number {
  const { ExportTraceServiceResponse } = root.opentelemetry.proto.collector.trace.v1
  const n = ExportTraceServiceResponse.decode(answer.body).partialSuccess?.rejectedSpans ?? 0
  return typeof n === 'number' ? n : n.toNumber()
}

/** The p-th percentile (nearest rank) of `xs`; NaN when empty. */
export function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}

export const ms = (x: number): string => `${x.toFixed(1)} ms`

/** "12×200, 3×503": how many answers had each status. */
export function statuses(xs: readonly { status: number }[]): string {
  const n = new Map<number, number>()
  for (const x of xs) n.set(x.status, (n.get(x.status) ?? 0) + 1)
  return [...n].map(([s, c]) => `${c}×${s}`).join(', ')
}
