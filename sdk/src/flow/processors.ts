import { propagation, type Context } from '@opentelemetry/api'
import type { LogRecordProcessor, SdkLogRecord } from '@opentelemetry/sdk-logs'
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { ATTEMPT_KEY } from './context-keys.js'
import { FLOW_ID_KEY } from './flow.js'

/**
 * Stamps the flow ID from baggage on every span as it starts — also on spans of other
 * services, since baggage crossed the wire with the trace context — and the retry attempt
 * on spans started by a retry.
 */
export class FlowSpanProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: Context): void {
    const flowId = propagation.getBaggage(parentContext)?.getEntry(FLOW_ID_KEY)?.value
    if (flowId !== undefined) span.setAttribute(FLOW_ID_KEY, flowId)
    const attempt = parentContext.getValue(ATTEMPT_KEY)
    if (typeof attempt === 'number') span.setAttribute('retry.attempt', attempt)
  }
  onEnd(_span: ReadableSpan): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve()
  }
  shutdown(): Promise<void> {
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
