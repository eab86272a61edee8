import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { convertLogs } from '../otlp/logs.js'
import { convertMetrics } from '../otlp/metrics.js'
import {
  decodeRequest,
  encodeResponse,
  jsonResponse,
  type PartialSuccess,
  type Signal,
} from '../otlp/proto.js'
import { convertTraces } from '../otlp/traces.js'
import type { LogsRequest, MetricsRequest, TracesRequest } from '../otlp/types.js'
import type { EncodedRows } from '../storage/writer.js'
import type { Table } from '../storage/pipeline.js'
import { BodyError } from './body.js'
import { isJson, nowNanos, QueueFull } from './common.js'

interface Converted {
  batches: Partial<Record<Table, EncodedRows>>
  accepted: number
  rejected: number
  errors: string[]
}

function convert(signal: Signal, req: unknown): Converted {
  switch (signal) {
    case 'traces': {
      const c = convertTraces(req as TracesRequest)
      return {
        batches: { spans: c.encoded },
        accepted: c.encoded.rows,
        rejected: c.rejected,
        errors: c.errors,
      }
    }
    case 'logs': {
      const c = convertLogs(req as LogsRequest, nowNanos())
      return {
        batches: { logs: c.logs, business_events: c.events },
        accepted: c.logs.rows + c.events.rows,
        rejected: c.rejected,
        errors: c.errors,
      }
    }
    case 'metrics': {
      const c = convertMetrics(req as MetricsRequest)
      return {
        batches: { metric_points: c.encoded },
        accepted: c.encoded.rows,
        rejected: c.rejected,
        errors: c.errors,
      }
    }
  }
}

function decode(signal: Signal, body: Buffer, json: boolean): unknown {
  if (json) {
    let parsed: unknown
    try {
      parsed = JSON.parse(body.toString('utf8'))
    } catch (err) {
      throw new BodyError(400, `body is not valid JSON: ${(err as Error).message}`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new BodyError(
        400,
        `body must be an OTLP/JSON Export${signalName(signal)}ServiceRequest object`,
      )
    }
    return parsed
  }
  try {
    return decodeRequest[signal](body)
  } catch (err) {
    throw new BodyError(
      400,
      `body is not a valid protobuf Export${signalName(signal)}ServiceRequest: ${(err as Error).message}`,
    )
  }
}

const signalName = (s: Signal): string =>
  s === 'traces' ? 'Trace' : s === 'logs' ? 'Logs' : 'Metrics'

/** POST /v1/traces, /v1/logs, /v1/metrics as the OTLP/HTTP spec describes them. */
export function otlpRoutes(app: FastifyInstance): void {
  for (const signal of ['traces', 'logs', 'metrics'] as const) {
    app.post(`/v1/${signal}`, async (request: FastifyRequest, reply: FastifyReply) => {
      const json = isJson(request)
      const req = decode(signal, request.body as Buffer, json)
      let c: Converted
      try {
        c = convert(signal, req)
      } catch (err) {
        // Only malformed OTLP/JSON structure gets here (protobuf decoding yields typed data).
        throw new BodyError(
          400,
          `body does not match the OTLP/JSON schema: ${(err as Error).message}`,
        )
      }
      const metrics = app.reckon.metrics
      if (!app.reckon.pipeline.offer(c.batches)) {
        metrics.items.inc({ signal, outcome: 'refused' }, c.accepted)
        throw new QueueFull()
      }
      metrics.items.inc({ signal, outcome: 'accepted' }, c.accepted)
      if (c.rejected > 0) metrics.items.inc({ signal, outcome: 'rejected' }, c.rejected)
      const partial: PartialSuccess | undefined =
        c.rejected > 0 ? { rejected: c.rejected, errorMessage: c.errors.join('; ') } : undefined
      if (json) return reply.type('application/json').send(jsonResponse(signal, partial))
      return reply.type('application/x-protobuf').send(Buffer.from(encodeResponse(signal, partial)))
    })
  }
}
