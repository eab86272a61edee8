// The reconciler's part of reckon.yaml: where records come from (sources) and which two are
// compared how (rules). The key names are a contract with users' files: extend, don't rename.
import type { ConfigSection } from '@reckon/collector/config'
import Type, { type Static } from 'typebox'

const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', maxLength: 100 })
const Duration = Type.String({
  pattern: '^[0-9]+(ms|s|m|h|d)$',
  description: 'a whole number and a unit: 500ms, 30s, 15m, 24h, 7d',
})
/** Exact decimal text: amounts are never floats. */
const DecimalText = Type.String({
  pattern: '^[0-9]{1,27}(\\.[0-9]{1,9})?$',
  description: 'a decimal number as text, at most 9 places: "0.00", "0.5"',
})
const Column = Type.String({ minLength: 1, maxLength: 200 })

/** Which column of a file or query holds each part of a record. */
const Columns = Type.Object(
  {
    key: Type.Union([Column, Type.Array(Column, { minItems: 1, maxItems: 8 })], {
      description: 'the column of the key, or a list of columns for a composite key',
    }),
    amount: Column,
    currency: Column,
    status: Type.Optional(Column),
    time: Column,
  },
  { additionalProperties: false },
)

const EventsSource = Type.Object(
  {
    events: Type.Object(
      {
        system: Type.String({ minLength: 1 }),
        type: Type.Optional(
          Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }))], {
            description: 'the event type, or several; omitted = every type of the system',
          }),
        ),
        entity: Type.Optional(Type.String({ minLength: 1 })),
        latest: Type.Optional(
          Type.Boolean({
            description:
              "one record per key: the key's latest event (its status as it stands now) instead of every event",
          }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

const FileSource = Type.Object(
  {
    file: Type.Object(
      {
        format: Type.Literal('csv'),
        columns: Columns,
        delimiter: Type.Optional(Type.String({ minLength: 1, maxLength: 1 })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

const PostgresSource = Type.Object(
  {
    postgres: Type.Object(
      {
        url: Type.String({ pattern: '^postgres(ql)?://' }),
        query: Type.String({
          minLength: 1,
          description: 'a SELECT returning key, amount, currency, status and time columns',
        }),
        columns: Type.Optional(Columns),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

const Source = Type.Union([EventsSource, FileSource, PostgresSource])

const Http = Type.Object(
  {
    method: Type.Union([
      Type.Literal('GET'),
      Type.Literal('POST'),
      Type.Literal('PUT'),
      Type.Literal('PATCH'),
      Type.Literal('DELETE'),
    ]),
    url: Type.String({ pattern: '^https?://' }),
    body: Type.Optional(Type.Unknown({ description: 'JSON, with {{…}} templates in strings' })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
)

const Compensation = Type.Object(
  {
    verify: Type.Optional(Http),
    action: Type.Optional(Http),
    escalate: Type.Optional(
      Type.Literal(true, {
        description:
          'no repair: each finding goes to a person at once (escalated), e.g. money that differs',
      }),
    ),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    backoff: Type.Optional(
      Type.Object(
        { initial: Type.Optional(Duration), max: Type.Optional(Duration) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

export const CATEGORIES = [
  'dropped',
  'orphan',
  'duplicate',
  'status_mismatch',
  'amount_mismatch',
] as const
export type Category = (typeof CATEGORIES)[number]

const Rule = Type.Object(
  {
    name: Name,
    left: Name,
    right: Name,
    match: Type.Optional(
      Type.Union([
        Type.Literal('one-to-one'),
        Type.Literal('one-to-many'),
        Type.Literal('many-to-one'),
      ]),
    ),
    window: Type.Optional(Duration),
    grace: Type.Optional(Duration),
    schedule: Type.Optional(Type.String({ minLength: 1, description: 'a node-cron expression' })),
    amount: Type.Optional(
      Type.Object(
        {
          compare: Type.Optional(
            Type.Boolean({
              description:
                'false: amounts and currencies are not compared (a side that carries none, such as stock reservations)',
            }),
          ),
          tolerance: Type.Optional(DecimalText),
          perCurrency: Type.Optional(
            Type.Record(Type.String({ pattern: '^[A-Z]{3}$' }), DecimalText),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    status: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 })), {
        description: 'left status → the right statuses that agree with it',
      }),
    ),
    compensate: Type.Optional(
      Type.Object(Object.fromEntries(CATEGORIES.map((c) => [c, Type.Optional(Compensation)])), {
        additionalProperties: false,
      }),
    ),
  },
  { additionalProperties: false },
)

const RECONCILER_PROPERTIES = {
  reconcile: Type.Object(
    {
      sources: Type.Record(Name, Source),
      rules: Type.Array(Rule, { maxItems: 500 }),
      compensationInterval: Type.Optional(Duration),
    },
    { additionalProperties: false },
  ),
}

export type SourceConfig = Static<typeof Source>
export type RuleConfig = Static<typeof Rule>
export type CompensationConfig = Static<typeof Compensation>
export type HttpCall = Static<typeof Http>
export type ColumnsConfig = Static<typeof Columns>
export interface ReconcilerConfig {
  reconcile: Static<(typeof RECONCILER_PROPERTIES)['reconcile']>
}

/** The reconciler's section of reckon.yaml, for the CLI to compose with the others'. */
export const RECONCILER_CONFIG: ConfigSection<typeof RECONCILER_PROPERTIES> = {
  component: 'reconciler',
  properties: RECONCILER_PROPERTIES,
  defaults: { reconcile: { sources: {}, rules: [] } },
  env: {},
}
