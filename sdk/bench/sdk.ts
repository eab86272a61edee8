// bench:sdk — what the policies cost on top of a span. Four ways to make the same call,
// measured in interleaved rounds (the machine is shared and noisy), medians reported:
//   bare             await call()
//   span             an active OTel span around it
//   span+policies    the span, around Reckon's retry + circuit breaker (no failures)
//   span+opossum     the span, around opossum's circuit breaker
// R1 = span+policies / span (time per call; target ≤ 1.3), R2 = span+policies / opossum (< 1).
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { ExportResultCode } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base'
import CircuitBreakerOpossum from 'opossum'
import { FlowSpanProcessor } from '../src/flow/processors.js'
import { CircuitBreaker } from '../src/resilience/circuit-breaker.js'
import { policy } from '../src/resilience/policy.js'
import { Retry } from '../src/resilience/retry.js'

/** Accepts and forgets: the bench measures the SDK, not a network. */
class DiscardExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (r: { code: ExportResultCode }) => void): void {
    done({ code: ExportResultCode.SUCCESS })
  }
  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
const provider = new BasicTracerProvider({
  spanProcessors: [
    new FlowSpanProcessor(),
    new BatchSpanProcessor(new DiscardExporter(), {
      maxQueueSize: 65_536,
      maxExportBatchSize: 4096,
    }),
  ],
})
trace.setGlobalTracerProvider(provider)
const tracer = trace.getTracer('bench')

const call = async (): Promise<number> => 1
const reckon = policy(
  new Retry('bench', { maxAttempts: 3 }),
  new CircuitBreaker('bench', { slidingWindow: { type: 'count', size: 100 } }),
)
const opossum = new CircuitBreakerOpossum(call, { timeout: false, errorThresholdPercentage: 50 })

const inSpan = <T>(fn: () => Promise<T>): Promise<T> =>
  tracer.startActiveSpan('GET /stock', async (span) => {
    try {
      return await fn()
    } finally {
      span.end()
    }
  })

const variants = {
  bare: () => call(),
  span: () => inSpan(call),
  'span+policies': () => inSpan(() => reckon.execute(call)),
  'span+opossum': () => inSpan(() => opossum.fire()),
} as const
type Variant = keyof typeof variants

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30)
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 150)

/** With --expose-gc: start each round with no garbage left by the one before. */
const gc = (globalThis as { gc?: () => void }).gc

async function round(fn: () => Promise<unknown>): Promise<number> {
  gc?.()
  const end = performance.now() + ROUND_MS
  let n = 0
  const started = performance.now()
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) await fn()
    n += 256
  }
  return n / ((performance.now() - started) / 1000)
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? 0
}

const names = Object.keys(variants) as Variant[]
const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<
  Variant,
  number[]
>
for (const n of names) await round(variants[n]) // warm-up: JIT and the span queue
for (let r = 0; r < ROUNDS; r++) {
  // Rotate the order each round, so no variant always follows the same one (GC debt).
  for (let k = 0; k < names.length; k++) {
    const n = names[(r + k) % names.length]!
    samples[n].push(await round(variants[n]))
  }
}
const ops = Object.fromEntries(names.map((n) => [n, median(samples[n])])) as Record<Variant, number>
const us = (n: Variant): string => (1e6 / ops[n]).toFixed(2)
for (const n of names) {
  console.log(
    `${n.padEnd(14)} ${Math.round(ops[n]).toLocaleString('en').padStart(12)} ops/s  ${us(n).padStart(6)} µs/call  ×${(ops.bare / ops[n]).toFixed(2)} of bare`,
  )
}
await provider.shutdown()
const r1 = ops.span / ops['span+policies']
const r2 = ops['span+opossum'] / ops['span+policies']
console.log(`sdk: span+policies/span ${r1.toFixed(2)}, span+policies/opossum ${r2.toFixed(2)}`)
