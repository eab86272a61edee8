// The alerts part of reckon.yaml: where notifications go (receivers, routes) and what is
// watched (rules). The key names are a contract with users' files: extend, don't rename.
// A rule is one flat object whatever its kind, so that an entry naming a shipped default
// can change one key of it (or turn it off) without restating the rest; which keys a kind
// takes is checked after the schema (checkAlerts), at the key's line.
import type { ConfigSection } from '@reckon/collector/config'
import Type, { type Static } from 'typebox'

const Duration = Type.String({
  pattern: '^[0-9]+(ms|s|m|h|d)$',
  description: 'a whole number and a unit: 500ms, 30s, 15m, 24h, 7d',
})
const DecimalText = Type.String({
  pattern: '^[0-9]{1,27}(\\.[0-9]{1,9})?$',
  description: 'a decimal number as text, at most 9 places: "100.00"',
})
const LabelName = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 100 })
const Labels = Type.Record(LabelName, Type.String({ maxLength: 1000 }))
const Url = Type.String({ pattern: '^https?://', maxLength: 2000 })

export const ALERT_KINDS = [
  'error_rate',
  'latency',
  'breaker_open',
  'heartbeat_missing',
  'reconcile_breaks',
  'compensation_escalated',
  'query',
] as const
export type AlertKind = (typeof ALERT_KINDS)[number]

export const QUANTILES = ['p50', 'p95', 'p99'] as const
export type Quantile = (typeof QUANTILES)[number]

const Receiver = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 100 }),
    alertmanager: Type.Optional(
      Type.Object(
        {
          url: Url,
          headers: Type.Optional(Type.Record(Type.String(), Type.String())),
        },
        { additionalProperties: false, description: 'Prometheus Alertmanager (API v2)' },
      ),
    ),
    pagerduty: Type.Optional(
      Type.Object(
        {
          url: Type.Optional(Url),
          routingKey: Type.String({ minLength: 1, maxLength: 200 }),
        },
        { additionalProperties: false, description: 'PagerDuty Events API v2' },
      ),
    ),
    slack: Type.Optional(
      Type.Object(
        { url: Url, channel: Type.Optional(Type.String({ maxLength: 200 })) },
        { additionalProperties: false, description: 'a Slack-compatible incoming webhook' },
      ),
    ),
    webhook: Type.Optional(
      Type.Object(
        {
          url: Url,
          secret: Type.Optional(
            Type.String({
              minLength: 1,
              description: 'signs each body: x-reckon-signature: sha256=HMAC(secret, ts.body)',
            }),
          ),
          headers: Type.Optional(Type.Record(Type.String(), Type.String())),
        },
        { additionalProperties: false, description: 'a JSON webhook' },
      ),
    ),
  },
  { additionalProperties: false },
)

const Route = Type.Object(
  {
    receiver: Type.String({ minLength: 1 }),
    match: Type.Optional(Labels),
    matchRe: Type.Optional(
      Type.Record(LabelName, Type.String({ maxLength: 1000 }), {
        description: 'label → regular expression the whole value must match',
      }),
    ),
    groupBy: Type.Optional(Type.Array(LabelName, { maxItems: 20 })),
    repeatInterval: Type.Optional(Duration),
  },
  { additionalProperties: false },
)

const Rule = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 100 }),
    kind: Type.Optional(
      Type.Union([
        Type.Literal('error_rate'),
        Type.Literal('latency'),
        Type.Literal('breaker_open'),
        Type.Literal('heartbeat_missing'),
        Type.Literal('reconcile_breaks'),
        Type.Literal('compensation_escalated'),
        Type.Literal('query'),
      ]),
    ),
    enabled: Type.Optional(Type.Boolean()),
    for: Type.Optional(Duration),
    keepFiringFor: Type.Optional(Duration),
    labels: Type.Optional(Labels),
    annotations: Type.Optional(Type.Record(LabelName, Type.String({ maxLength: 4000 }))),
    noData: Type.Optional(
      Type.Union([Type.Literal('ok'), Type.Literal('nodata'), Type.Literal('alerting')], {
        description: 'when the evaluation returns nothing: ok (default), a nodata alert, alerting',
      }),
    ),
    onError: Type.Optional(
      Type.Union([Type.Literal('error'), Type.Literal('keep')], {
        description:
          'when the evaluation fails: an error alert of its own (default), or keep states as they are; never a resolve',
      }),
    ),
    // error_rate, latency, heartbeat_missing, breaker_open: which service (omitted: each).
    service: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    operation: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    by: Type.Optional(
      Type.Union([Type.Literal('service'), Type.Literal('operation')], {
        description: 'one alert per service (default) or per operation',
      }),
    ),
    window: Type.Optional(Duration),
    minCalls: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
    quantile: Type.Optional(
      Type.Union([Type.Literal('p50'), Type.Literal('p95'), Type.Literal('p99')]),
    ),
    above: Type.Optional(
      Type.Number({
        description:
          'error_rate: a fraction (0.05); latency: milliseconds; reconcile_breaks, compensation_escalated, query: the value',
      }),
    ),
    below: Type.Optional(Type.Number({ description: 'query: fires when the value is below' })),
    breaker: Type.Optional(
      Type.Object(
        {
          service: Type.Optional(Type.String({ minLength: 1 })),
          name: Type.Optional(Type.String({ minLength: 1 })),
          instance: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    silentFor: Type.Optional(Duration),
    lookback: Type.Optional(Duration),
    rule: Type.Optional(
      Type.String({ minLength: 1, description: 'reconcile_breaks, compensation_escalated' }),
    ),
    category: Type.Optional(Type.String({ minLength: 1 })),
    amountAbove: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Z]{3}$' }), DecimalText, {
        description: 'reconcile_breaks: fires when the open amount of a currency is above',
      }),
    ),
    query: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 20_000,
        description:
          'a SELECT with a `value` column; every other column is a label. {from:Int64} and {to:Int64} are the window in Unix nanoseconds, {db:Identifier} the database',
      }),
    ),
  },
  { additionalProperties: false },
)

const ALERTS_PROPERTIES = {
  alerts: Type.Object(
    {
      enabled: Type.Optional(Type.Boolean()),
      evaluationInterval: Type.Optional(Duration),
      resendInterval: Type.Optional(
        Type.String({
          pattern: '^[0-9]+(ms|s|m|h|d)$',
          description: 'how often a firing alert is re-sent to Alertmanager (default 1m)',
        }),
      ),
      externalUrl: Type.Optional(
        Type.String({ pattern: '^https?://', description: 'the Reckon UI, for alert links' }),
      ),
      defaultRules: Type.Optional(
        Type.Boolean({ description: 'false: only the rules written here' }),
      ),
      receivers: Type.Array(Receiver, { maxItems: 100 }),
      routes: Type.Array(Route, { maxItems: 200 }),
      rules: Type.Array(Rule, { maxItems: 1000 }),
    },
    { additionalProperties: false },
  ),
}

export type ReceiverConfig = Static<typeof Receiver>
export type RouteConfig = Static<typeof Route>
export type AlertRuleConfig = Static<typeof Rule>
export interface AlertsConfig {
  alerts: Static<(typeof ALERTS_PROPERTIES)['alerts']>
}

/** The alerts section of reckon.yaml, for the CLI to compose with the others'. */
export const ALERTS_CONFIG: ConfigSection<typeof ALERTS_PROPERTIES> = {
  component: 'alerts',
  properties: ALERTS_PROPERTIES,
  defaults: { alerts: { receivers: [], routes: [], rules: [] } },
  env: {},
}
