// Which receiver an alert goes to: the first route whose matchers all hold (label equals
// `match`, label wholly matches `matchRe`); no route matching, the first receiver.
import { parseDuration } from '../duration.js'
import type { AlertsConfig, ReceiverConfig, RouteConfig } from './config.js'

export type ReceiverKind = 'alertmanager' | 'pagerduty' | 'slack' | 'webhook'

export interface Receiver {
  name: string
  kind: ReceiverKind
  config: ReceiverConfig
}

export interface Route {
  receiver: string
  matches: (labels: Record<string, string>) => boolean
  /** Labels a message to a receiver that does not group by itself is grouped by. */
  groupBy: string[]
  /** How often a still firing alert is told again to such a receiver. */
  repeatIntervalMs: number
}

/** Alertmanager's default: a firing alert is told again every 4 hours. */
export const DEFAULT_REPEAT_MS = 4 * 3_600_000

export function receiverKind(r: ReceiverConfig): ReceiverKind {
  if (r.alertmanager) return 'alertmanager'
  if (r.pagerduty) return 'pagerduty'
  if (r.slack) return 'slack'
  return 'webhook'
}

function route(r: RouteConfig): Route {
  const equals = Object.entries(r.match ?? {})
  const patterns = Object.entries(r.matchRe ?? {}).map(
    ([label, re]) => [label, new RegExp(`^(?:${re})$`)] as const,
  )
  return {
    receiver: r.receiver,
    matches: (labels) =>
      equals.every(([k, v]) => (labels[k] ?? '') === v) &&
      patterns.every(([k, re]) => re.test(labels[k] ?? '')),
    groupBy: r.groupBy ?? ['alertname'],
    repeatIntervalMs: r.repeatInterval ? parseDuration(r.repeatInterval) : DEFAULT_REPEAT_MS,
  }
}

export class Router {
  readonly receivers: ReadonlyMap<string, Receiver>
  private readonly routes: Route[]
  private readonly fallback: Route | undefined

  constructor(config: AlertsConfig) {
    this.receivers = new Map(
      config.alerts.receivers.map((r) => [
        r.name,
        { name: r.name, kind: receiverKind(r), config: r },
      ]),
    )
    this.routes = config.alerts.routes.map(route)
    const first = config.alerts.receivers[0]
    this.fallback = first ? route({ receiver: first.name }) : undefined
  }

  /** The route an alert takes; undefined when there is no receiver at all. */
  routeOf(labels: Record<string, string>): Route | undefined {
    return this.routes.find((r) => r.matches(labels)) ?? this.fallback
  }

  /** The route options of a receiver (for a resolve owed to one no longer routed to). */
  optionsOf(receiver: string): Route | undefined {
    return (
      this.routes.find((r) => r.receiver === receiver) ??
      (this.receivers.has(receiver) ? route({ receiver }) : undefined)
    )
  }
}
