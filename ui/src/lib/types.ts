// The API's shapes, from the TypeBox schemas its routes validate with: one source of truth,
// so a changed field breaks the UI's type check instead of its screens.
import type { Static } from 'typebox'
import type {
  Breaker,
  BusinessEvent,
  Dependency,
  FlowSummary,
  Instance,
  LogRecord,
  Operation,
  Service,
  Span,
  Switch,
  TraceSummary,
  Transition,
} from '@reckon/collector/schemas'
import type {
  FindingDetailSchema,
  FindingSchema,
  Money,
  ReportSchema,
  RuleSchema,
  RunSchema,
} from '@reckon/reconciler/schemas'
import type { AlertRuleSchema, AlertSchema, DeliverySchema } from '@reckon/reconciler/alerts-api'

export type SpanView = Static<typeof Span>
export type TraceSummaryView = Static<typeof TraceSummary>
export type FlowSummaryView = Static<typeof FlowSummary>
export type BusinessEventView = Static<typeof BusinessEvent>
export type LogRecordView = Static<typeof LogRecord>
export type ServiceView = Static<typeof Service>
export type OperationView = Static<typeof Operation>
export type DependencyView = Static<typeof Dependency>
export type RunView = Static<typeof RunSchema>
export type ReportView = Static<typeof ReportSchema>
export type FindingView = Static<typeof FindingSchema>
export type FindingDetailView = Static<typeof FindingDetailSchema>
export type RuleView = Static<typeof RuleSchema>
export type MoneyView = Static<typeof Money>

export type BreakerView = Static<typeof Breaker>
export type TransitionView = Static<typeof Transition>
export type InstanceView = Static<typeof Instance>
export type SwitchView = Static<typeof Switch>

export type AlertView = Static<typeof AlertSchema>
export type AlertRuleView = Static<typeof AlertRuleSchema>
export type DeliveryView = Static<typeof DeliverySchema>
