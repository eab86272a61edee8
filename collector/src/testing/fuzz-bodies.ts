// Seeded bodies for the ingest fuzz test (ingest/fuzz.test.ts): OTLP traces, logs and
// metrics as protobuf and JSON, and business events, each a mix of good items and the
// poisons issue 16 found (text cut mid-pair, times the columns cannot hold, nesting past any
// stack, fields that overrun their item, object-prototype keys, huge numbers, wrong types),
// plus valid protobuf bodies with random bytes changed. Each body says what it must leave
// stored, for the test to compare with what the query API reads back.
import fc from 'fast-check'
import { eventBodies } from './fuzz-events.js'
import { logBodies } from './fuzz-logs.js'
import { metricBodies } from './fuzz-metrics.js'
import { traceBody, traceSpec } from './fuzz-traces.js'
import type { Expected } from './fuzz-values.js'

export const DEFAULT_FUZZ_SEED = 20261201

/** The seed: FUZZ_SEED from the environment, else the default. */
export function fuzzSeed(): number {
  const sent = process.env.FUZZ_SEED
  if (sent === undefined || sent === '') return DEFAULT_FUZZ_SEED
  const seed = Number(sent)
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${sent}`)
  return seed
}

export type FuzzSignal = 'traces' | 'logs' | 'metrics' | 'events'

export interface FuzzBody {
  signal: FuzzSignal
  /** Names the body in a failure: signal, index, encoding, what was done to it. */
  label: string
  contentType: string
  payload: Buffer | string
  /** What it must leave stored; absent for mutated bodies, which are checked as a whole. */
  check?: TracesCheck | LogsCheck | MetricsCheck | EventsCheck
  /** Trace IDs it uses (mutated bodies too): nothing may be stored under them if refused. */
  traceIds: string[]
  /** Sent a second time once answered, as an exporter retries. */
  resend: boolean
}

export interface SpanCheck {
  spanId: string
  /** No poison: it must be stored. */
  clean: boolean
  name: string
  startTimeUnixNano: string
  durationNano: string
  attributes: Record<string, Expected>
  eventNames: string[]
}

export interface TracesCheck {
  kind: 'traces'
  spans: SpanCheck[]
}

export interface LogCheck {
  n: number
  clean: boolean
  /** A business event (in /api/events), not a log line. */
  event: boolean
  /** Fields of the log record or event read back, as sent. */
  fields: Record<string, Expected>
  attributes: Record<string, Expected>
}

export interface LogsCheck {
  kind: 'logs'
  traceId: string
  flowId: string
  records: LogCheck[]
}

export interface PointCheck {
  n: number
  clean: boolean
  /** Fields of the point read back, as sent. */
  fields: Record<string, Expected>
  attributes: Record<string, Expected>
}

export interface MetricsCheck {
  kind: 'metrics'
  service: string
  points: PointCheck[]
}

export interface EventCheck {
  /** Its `fuzz.n` attribute; -1 for a line that is not JSON. */
  n: number
  clean: boolean
  fields: Record<string, string | null>
  attributes: Record<string, Expected>
}

export interface EventsCheck {
  kind: 'events'
  flowId: string
  /** By row index, as the response names refused rows. */
  rows: EventCheck[]
}

export interface FuzzCounts {
  traces: number
  logs: number
  metrics: number
  events: number
}

export const DEFAULT_COUNTS: FuzzCounts = { traces: 1200, logs: 400, metrics: 400, events: 600 }

/**
 * Every body of one run, in the order they are sent (signals interleaved, so one batch of
 * a table holds rows of many requests). The same seed gives the same bodies; times are
 * relative to `nowMs`.
 */
export function fuzzBodies(seed: number, nowMs: number, counts = DEFAULT_COUNTS): FuzzBody[] {
  const now = BigInt(nowMs) * 1_000_000n
  const sample = <T>(arb: fc.Arbitrary<T>, n: number, offset: number): T[] =>
    n === 0 ? [] : fc.sample(arb, { seed: seed + offset, numRuns: n })
  const groups: FuzzBody[][] = [
    sample(traceSpec, counts.traces, 0).map((t, i) => traceBody(t, i, now)),
    logBodies(sample, counts.logs, now),
    metricBodies(sample, counts.metrics, now),
    eventBodies(sample, counts.events, now),
  ]
  const bodies: FuzzBody[] = []
  const longest = Math.max(...groups.map((g) => g.length))
  for (let i = 0; i < longest; i++) for (const g of groups) if (g[i]) bodies.push(g[i]!)
  return bodies
}

export type Sample = <T>(arb: fc.Arbitrary<T>, n: number, offset: number) => T[]
