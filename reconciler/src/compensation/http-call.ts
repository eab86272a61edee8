// One compensation call on the wire: the finding's ID as Idempotency-Key (the other side
// applies the effect once however often it is sent), a W3C traceparent (the call is a trace,
// and a span when the process has a tracer), the order's flow ID in baggage (the SDK stamps
// the other side's spans with it, so the compensation shows in the order's flow), a timeout,
// and what the answer means for the next step.
import { randomBytes } from 'node:crypto'
import type { RenderedCall } from './templates.js'

/** The parts of an OpenTelemetry tracer a call uses (`trace.getTracer(…)` is one). */
export interface TracerLike {
  startSpan(
    name: string,
    options?: { kind?: number; attributes?: Record<string, string | number | boolean> },
  ): SpanLike
}
export interface SpanLike {
  spanContext(): { traceId: string; spanId: string; traceFlags: number }
  setAttribute(key: string, value: string | number | boolean): unknown
  setStatus(status: { code: number; message?: string }): unknown
  end(): void
}

const SPAN_KIND_CLIENT = 2
const STATUS_ERROR = 2
/** W3C Baggage key the SDK reads a flow ID from. */
const FLOW_ID_KEY = 'reckon.flow.id'

/** What an answer means: done, worth another attempt later, or for a person. */
export type Verdict = 'ok' | 'retry' | 'refused' | 'absent'

export interface CallResult {
  verdict: Verdict
  /** HTTP status; null when no answer came (timeout, connection refused). */
  status: number | null
  /** Why it did not work, for the attempt row and the finding's history. */
  error: string
  traceId: string
  retryAfter: string | null
}

export interface CallContext {
  idempotencyKey: string
  flowId?: string
  tracer?: TracerLike
  timeoutMs: number
  /** Span name and attributes: `reckon.compensate dropped action`. */
  step: 'verify' | 'action'
  attributes: Record<string, string>
  /** Called with the call's trace ID just before it goes out (to record the attempt). */
  beforeSend?: (traceId: string) => Promise<void>
}

/**
 * Whether a status is worth another attempt: timeouts, rate limits, a conflicting request
 * under the same key still in flight (how idempotency-key servers answer one), too early,
 * and server errors. Any other 4xx is the other side refusing the request itself, which
 * sending it again will not change.
 */
export const retryable = (status: number): boolean =>
  status >= 500 || [408, 409, 425, 429].includes(status)

const hex = (bytes: number): string => randomBytes(bytes).toString('hex')
const valid = (id: string): boolean => /^[0-9a-f]+$/.test(id) && /[1-9a-f]/.test(id)

async function snippet(res: Response): Promise<string> {
  try {
    const text = (await res.text()).replace(/\s+/g, ' ').trim()
    return text.length > 300 ? `${text.slice(0, 300)}…` : text
  } catch {
    return ''
  }
}

/** Sends the call; a failed call is a result, only a failing `beforeSend` throws. */
export async function sendCall(call: RenderedCall, ctx: CallContext): Promise<CallResult> {
  const span = ctx.tracer?.startSpan(`reckon.compensate ${ctx.step}`, {
    kind: SPAN_KIND_CLIENT,
    attributes: {
      ...ctx.attributes,
      'http.request.method': call.method,
      'url.full': call.url,
      ...(ctx.flowId ? { [FLOW_ID_KEY]: ctx.flowId } : {}),
    },
  })
  const sc = span?.spanContext()
  // Without an SDK the API hands out an invalid (all-zero) context: make one up instead.
  const [traceId, spanId, flags] =
    sc && valid(sc.traceId) && valid(sc.spanId)
      ? [sc.traceId, sc.spanId, (sc.traceFlags & 0xff).toString(16).padStart(2, '0')]
      : [hex(16), hex(8), '01']
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...call.headers,
    'idempotency-key': ctx.idempotencyKey,
    traceparent: `00-${traceId}-${spanId}-${flags}`,
  }
  if (ctx.flowId) headers.baggage = `${FLOW_ID_KEY}=${encodeURIComponent(ctx.flowId)}`
  const done = (r: Omit<CallResult, 'traceId'>): CallResult => {
    if (span) {
      if (r.status !== null) span.setAttribute('http.response.status_code', r.status)
      if (r.verdict === 'retry' || r.verdict === 'refused')
        span.setStatus({ code: STATUS_ERROR, message: r.error })
      span.end()
    }
    return { ...r, traceId }
  }
  try {
    await ctx.beforeSend?.(traceId)
  } catch (err) {
    span?.end()
    throw err
  }
  try {
    const res = await fetch(call.url, {
      method: call.method,
      headers,
      ...(call.body !== undefined && call.method !== 'GET' ? { body: call.body } : {}),
      signal: AbortSignal.timeout(ctx.timeoutMs),
      // A compensation goes where reckon.yaml says or nowhere: a redirect is for a person.
      redirect: 'manual',
    })
    const retryAfter = res.headers.get('retry-after')
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel().catch(() => {})
      return done({ verdict: 'ok', status: res.status, error: '', retryAfter })
    }
    const error = `${res.status} ${res.statusText}${await snippet(res).then((s) => (s ? `: ${s}` : ''))}`
    if (ctx.step === 'verify' && (res.status === 404 || res.status === 410))
      return done({ verdict: 'absent', status: res.status, error, retryAfter })
    return done({
      verdict: retryable(res.status) ? 'retry' : 'refused',
      status: res.status,
      error,
      retryAfter,
    })
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } }
    const error =
      e.name === 'TimeoutError'
        ? `no answer within ${ctx.timeoutMs} ms`
        : `${e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}`
    return done({ verdict: 'retry', status: null, error, retryAfter: null })
  }
}
