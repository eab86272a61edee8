// A breaker's history as coloured stretches of state over the view's range: each transition
// starts a stretch that lasts until the next one (or now); before the first, the breaker was
// in the state it left.
import { nanosToMs } from './format.js'
import type { TransitionView } from './types.js'

export interface Stretch {
  state: string
  fromMs: number
  toMs: number
  causeTraceId: string
}
export interface BreakerHistory {
  key: string
  service: string
  instance: string
  breaker: string
  stretches: Stretch[]
  transitions: TransitionView[]
}

export const breakerKey = (service: string, instance: string, name: string) =>
  `${service}\u0000${instance}\u0000${name}`

export function breakerHistories(
  transitions: TransitionView[],
  fromMs: number,
  toMs: number,
): BreakerHistory[] {
  const by = new Map<string, BreakerHistory>()
  const sorted = [...transitions].sort(
    (a, b) => nanosToMs(a.timeUnixNano) - nanosToMs(b.timeUnixNano),
  )
  for (const t of sorted) {
    const key = breakerKey(t.service, t.instance, t.breaker)
    let h = by.get(key)
    if (!h) {
      h = {
        key,
        service: t.service,
        instance: t.instance,
        breaker: t.breaker,
        stretches: [],
        transitions: [],
      }
      h.stretches.push({ state: t.from, fromMs, toMs: fromMs, causeTraceId: '' })
      by.set(key, h)
    }
    const at = Math.max(fromMs, nanosToMs(t.timeUnixNano))
    const last = h.stretches[h.stretches.length - 1]
    if (last) last.toMs = at
    h.stretches.push({ state: t.to, fromMs: at, toMs, causeTraceId: t.causeTraceId })
    h.transitions.push(t)
  }
  for (const h of by.values()) h.stretches = h.stretches.filter((s) => s.toMs > s.fromMs)
  return [...by.values()]
}

/** The CSS class of a state: closed, open, half-open, forced. */
export function stateClass(state: string): string {
  const s = state.toUpperCase()
  if (s === 'CLOSED') return 'closed'
  if (s === 'OPEN') return 'open'
  if (s === 'HALF_OPEN') return 'half-open'
  return 'forced'
}
