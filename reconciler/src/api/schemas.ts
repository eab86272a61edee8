// The reconciliation API's shapes, one TypeBox schema each: the routes validate and
// document with them, and clients (the UI, the CLI) take their types from them.
import Type, { type Static } from 'typebox'
import { CATEGORIES } from '../config.js'
import { FINDING_STATES } from '../findings.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()])

export const Money = Type.Object({
  currency: Type.String(),
  amount: Type.String({ description: 'exact decimal' }),
})

const Totals = Type.Object({
  findings: Type.Integer(),
  amounts: Type.Array(Money),
  differences: Type.Optional(Type.Array(Money)),
})

export const ReportSchema = Type.Object({
  left: Type.Object({ source: Type.String(), records: Type.Integer(), amounts: Type.Array(Money) }),
  right: Type.Object({
    source: Type.String(),
    records: Type.Integer(),
    amounts: Type.Array(Money),
  }),
  matched: Type.Object({
    keys: Type.Integer(),
    records: Type.Integer(),
    amounts: Type.Array(Money),
  }),
  breaks: Type.Object(Object.fromEntries(CATEGORIES.map((c) => [c, Totals]))),
  pending: Type.Object({
    keys: Type.Integer(),
    records: Type.Integer(),
    amounts: Type.Array(Money),
  }),
  aging: Type.Object({
    '0-1h': Type.Integer(),
    '1-24h': Type.Integer(),
    '1-7d': Type.Integer(),
    '>7d': Type.Integer(),
  }),
  compensations: Type.Object({
    attempted: Type.Integer(),
    succeeded: Type.Integer(),
    escalated: Type.Integer(),
  }),
})

export const RunSchema = Type.Object({
  id: Type.String(),
  rule: Type.String(),
  from: Type.String(),
  to: Type.String(),
  now: Type.String(),
  dryRun: Type.Boolean(),
  trigger: Type.String(),
  state: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  startedBy: Type.String(),
  startedAt: Type.String(),
  finishedAt: Nullable(Type.String()),
  progress: Type.Object({ stage: Type.String(), fraction: Type.Number() }),
  report: Nullable(ReportSchema),
  error: Type.String(),
  signoff: Nullable(Type.Object({ by: Type.String(), at: Type.String(), comment: Type.String() })),
})

const Side = Type.Object({
  records: Type.Integer(),
  amount: Nullable(Type.String()),
  currencies: Type.Array(Type.String()),
  statuses: Type.Array(Type.String()),
})

const Category = Type.Union(CATEGORIES.map((c) => Type.Literal(c)))
const State = Type.Union(FINDING_STATES.map((s) => Type.Literal(s)))

export const FindingSchema = Type.Object({
  id: Type.String(),
  rule: Type.String(),
  category: Category,
  key: Type.String(),
  keyParts: Type.Array(Type.String()),
  time: Type.String(),
  pending: Type.Boolean(),
  state: Nullable(State),
  stateChangedAt: Nullable(Type.String()),
  left: Side,
  right: Side,
  difference: Nullable(Type.String()),
  flowIds: Type.Array(Type.String()),
  traceIds: Type.Array(Type.String()),
})

export const FindingDetailSchema = Type.Intersect([
  FindingSchema,
  Type.Object({
    lastRunId: Type.String(),
    history: Type.Array(
      Type.Object({
        state: State,
        at: Type.String(),
        by: Type.String(),
        why: Type.String(),
        runId: Type.String(),
      }),
    ),
    attempts: Type.Array(
      Type.Object({
        attempt: Type.Integer(),
        step: Type.String(),
        outcome: Type.String(),
        httpStatus: Nullable(Type.Integer()),
        error: Type.String(),
        traceId: Type.String(),
        startedAt: Type.String(),
        finishedAt: Type.String(),
        nextAt: Nullable(Type.String()),
      }),
    ),
    links: Type.Object({
      flows: Type.Array(Type.String({ description: 'query API paths of the flows' })),
      traces: Type.Array(Type.String({ description: 'query API paths of the traces' })),
    }),
  }),
])

export const RuleSchema = Type.Object({
  name: Type.String(),
  left: Type.Object({ source: Type.String(), kind: Type.String() }),
  right: Type.Object({ source: Type.String(), kind: Type.String() }),
  match: Type.String(),
  window: Type.String(),
  grace: Type.String(),
  schedule: Nullable(Type.String()),
  lastRun: Nullable(
    Type.Object({
      id: Type.String(),
      state: Type.String(),
      startedAt: Type.String(),
      finishedAt: Nullable(Type.String()),
    }),
  ),
  openFindings: Type.Record(Type.String(), Type.Integer()),
})

export const RunOrderSchema = Type.Object(
  {
    rule: Type.String({ minLength: 1 }),
    from: Type.Optional(Type.String({ maxLength: 64 })),
    to: Type.Optional(Type.String({ maxLength: 64 })),
    dryRun: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)

export const ReasonSchema = Type.Object(
  { why: Type.String({ minLength: 1, maxLength: 2000 }) },
  { additionalProperties: false },
)

export const SignOffSchema = Type.Object(
  { comment: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
)

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
})

export type RunOrderBody = Static<typeof RunOrderSchema>
export type RuleView = Static<typeof RuleSchema>

export const ImportQuerySchema = Type.Object(
  {
    fileName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 500,
        description: 'the file’s name, kept with the import',
      }),
    ),
  },
  { additionalProperties: false },
)

export const ImportSummarySchema = Type.Object({
  source: Type.String(),
  batch: Type.String({ description: 'the file’s SHA-256: the same file is the same batch' }),
  fileName: Type.String(),
  rows: Type.Integer({ description: 'rows stored' }),
  badRows: Type.Integer({ description: 'rows refused, every one counted' }),
  problems: Type.Array(
    Type.Object({
      line: Type.Integer({ description: 'the line in the file; line 1 is the header' }),
      message: Type.String(),
    }),
    { description: 'the first 100 rows refused, with the reason' },
  ),
  alreadyImported: Type.Boolean({
    description: 'the same file was imported before: nothing was stored this time',
  }),
})
