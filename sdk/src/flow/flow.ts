import { context, diag, propagation, trace, type Context } from '@opentelemetry/api'
import { FlowIdGenerator, type FlowIdOptions } from './flow-id.js'

/** Baggage entry (and span attribute) that carries the business flow across services. */
export const FLOW_ID_KEY = 'reckon.flow.id'
/** Prefix of the baggage entries that pin a switch's value for the whole flow. */
export const PINNED_SWITCH_PREFIX = 'reckon.switch.'

const FLOW_ID = /^[\w.:/-]{1,200}$/

let generator: FlowIdGenerator | undefined
/** Reads the flow-pinned switches' values when a flow starts (set by the switch client). */
let pinnedSwitches: () => Iterable<readonly [string, boolean]> = () => []
/** Tells the span processors a flow began inside a trace (set by processors.ts). */
let flowStarted: (traceId: string, flowId: string) => void = () => undefined

export function onFlowStarted(hook: (traceId: string, flowId: string) => void): void {
  flowStarted = hook
}

/** Replaces the process's flow ID generator (e.g. with a configured worker ID). */
export function configureFlowIds(options: FlowIdOptions): void {
  generator = new FlowIdGenerator(options)
}

export function setPinnedSwitchSource(source: () => Iterable<readonly [string, boolean]>): void {
  pinnedSwitches = source
}

/** A new Snowflake-style flow ID. */
export function newFlowId(): string {
  generator ??= new FlowIdGenerator()
  return generator.next()
}

/** The flow the current work belongs to, if any. */
export function currentFlowId(ctx: Context = context.active()): string | undefined {
  return propagation.getBaggage(ctx)?.getEntry(FLOW_ID_KEY)?.value
}

/**
 * Starts a business flow: a new flow ID (or `id`, e.g. an order number) in baggage, and
 * the current value of every flow-pinned switch, so all services of the flow see the same.
 */
export function startFlow<T>(fn: (flowId: string) => T, options: { id?: string } = {}): T {
  const id = options.id ?? newFlowId()
  let ctx = flowContext(context.active(), id)
  if (ctx === undefined) return fn(id)
  let baggage = propagation.getBaggage(ctx)
  try {
    for (const [name, on] of pinnedSwitches()) {
      baggage = baggage?.setEntry(PINNED_SWITCH_PREFIX + name, { value: on ? 'on' : 'off' })
    }
    if (baggage) ctx = propagation.setBaggage(ctx, baggage)
  } catch (err) {
    diag.warn(`reckon: could not pin switches for flow ${id}: ${String(err)}`)
  }
  return context.with(ctx, fn, undefined, id)
}

/**
 * Runs `fn` as part of an existing flow (a consumer that got the ID from a message, a job
 * resuming an order). An invalid ID is reported and ignored: `fn` still runs.
 */
export function withFlow<T>(flowId: string, fn: () => T): T {
  const ctx = flowContext(context.active(), flowId)
  return ctx === undefined ? fn() : context.with(ctx, fn)
}

function flowContext(ctx: Context, id: string): Context | undefined {
  if (!FLOW_ID.test(id)) {
    diag.warn(
      `reckon: flow ID must be 1-200 letters, digits or . _ : / - (got ${JSON.stringify(id)})`,
    )
    return undefined
  }
  const baggage = propagation.getBaggage(ctx) ?? propagation.createBaggage()
  const span = trace.getSpanContext(ctx)
  if (span) flowStarted(span.traceId, id)
  return propagation.setBaggage(ctx, baggage.setEntry(FLOW_ID_KEY, { value: id }))
}

/** The value a flow pinned for a switch, if the current flow pinned one. */
export function pinnedSwitch(name: string, ctx: Context = context.active()): boolean | undefined {
  const v = propagation.getBaggage(ctx)?.getEntry(PINNED_SWITCH_PREFIX + name)?.value
  return v === undefined ? undefined : v === 'on'
}
