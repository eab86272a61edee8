import { propagation, type Context } from '@opentelemetry/api'
import type { LogRecordProcessor, SdkLogRecord } from '@opentelemetry/sdk-logs'
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { ATTEMPT_KEY } from './context-keys.js'
import { FLOW_ID_KEY, onFlowStarted } from './flow.js'

/** Traces with open spans tracked at most; beyond, new traces are not back-stamped. */
const MAX_OPEN_TRACES = 20_000
const processors = new Set<FlowSpanProcessor>()

/** Called by startFlow/withFlow: the flow began inside spans that are already open. */
export function stampOpenSpans(traceId: string, flowId: string): void {
  for (const p of processors) p.stamp(traceId, flowId)
}
onFlowStarted(stampOpenSpans)

/**
 * Stamps the flow ID from baggage on every span as it starts — also on spans of other
 * services, since baggage crossed the wire with the trace context — and the retry attempt
 * on spans started by a retry. A flow usually starts inside a request handler, after the
 * server spans began: those open spans of the trace are stamped when the flow starts.
 */
export class FlowSpanProcessor implements SpanProcessor {
  private readonly open = new Map<string, Span[]>()

  constructor() {
    processors.add(this)
  }

  onStart(span: Span, parentContext: Context): void {
    const flowId = propagation.getBaggage(parentContext)?.getEntry(FLOW_ID_KEY)?.value
    if (flowId !== undefined) span.setAttribute(FLOW_ID_KEY, flowId)
    else this.track(span)
    const attempt = parentContext.getValue(ATTEMPT_KEY)
    if (typeof attempt === 'number') span.setAttribute('retry.attempt', attempt)
  }

  onEnd(span: ReadableSpan): void {
    const traceId = span.spanContext().traceId
    const spans = this.open.get(traceId)
    if (!spans) return
    const i = spans.indexOf(span as Span)
    if (i >= 0) spans.splice(i, 1)
    if (spans.length === 0) this.open.delete(traceId)
  }

  /** Sets the flow on the still-open spans of a trace (those started before the flow). */
  stamp(traceId: string, flowId: string): void {
    const spans = this.open.get(traceId)
    if (!spans) return
    for (const span of spans) span.setAttribute(FLOW_ID_KEY, flowId)
    this.open.delete(traceId)
  }

  private track(span: Span): void {
    const traceId = span.spanContext().traceId
    const spans = this.open.get(traceId)
    if (spans) spans.push(span)
    else if (this.open.size < MAX_OPEN_TRACES) this.open.set(traceId, [span])
  }

  forceFlush(): Promise<void> {
    return Promise.resolve()
  }
  shutdown(): Promise<void> {
    processors.delete(this)
    this.open.clear()
    return Promise.resolve()
  }
}

/** Stamps the flow ID on every log record emitted inside a flow. */
export class FlowLogProcessor implements LogRecordProcessor {
  onEmit(record: SdkLogRecord, ctx?: Context): void {
    if (!ctx || record.attributes[FLOW_ID_KEY] !== undefined) return
    const flowId = propagation.getBaggage(ctx)?.getEntry(FLOW_ID_KEY)?.value
    if (flowId !== undefined) record.setAttribute(FLOW_ID_KEY, flowId)
  }
  forceFlush(): Promise<void> {
    return Promise.resolve()
  }
  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}
