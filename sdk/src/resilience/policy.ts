import { trace, type AttributeValue, type Attributes, type Span } from '@opentelemetry/api'
import { guarded, isGuard, isGuardedRunner, type Guard } from './guard.js'

export type PolicyKind =
  'circuit_breaker' | 'retry' | 'timeout' | 'bulkhead' | 'rate_limiter' | 'fallback'

/** What the wrapped call receives. */
export interface CallContext {
  /** Aborted when a timeout fires or the caller gives up: pass it on to fetch, undici, pg… */
  readonly signal: AbortSignal | undefined
  /** 1 for the first attempt, 2 for the first retry… */
  readonly attempt: number
}

/** One execution on its way through the policies, towards the call. */
export interface Execution extends CallContext {
  /** The span active when the execution began, if it records: the policies annotate it. */
  readonly span: Span | undefined
}

/** The inner stages: the remaining policies, then the call. */
export type Next<T> = (e: Execution) => Promise<T>

/**
 * A resilience policy. `F` is the type of the degraded result it may return instead of the
 * call's own (only a fallback has one).
 */
export interface Policy<F = never> {
  readonly name: string
  readonly kind: PolicyKind
  /** Runs `next` under this policy. Used by pipelines; call `execute` directly otherwise. */
  run<T>(next: Next<T>, e: Execution): Promise<T | F>
}

export interface ExecuteOptions {
  /** The caller's own cancellation; every policy and the call observe it. */
  signal?: AbortSignal
}

/** The degraded-result type of a policy: a fallback's, or `never`. */
export type FallbackOf<P> = P extends { readonly degrade: (...args: never[]) => infer R }
  ? Awaited<R>
  : never

/** Runs the call through the policies, outermost first, and annotates the active span. */
export class Pipeline<F = never> {
  readonly policies: readonly Policy<unknown>[]
  /** Per position: the guards that start there (fused into one reaction), if any. */
  private readonly guardRuns: (readonly Guard[] | undefined)[]

  constructor(policies: readonly Policy<unknown>[]) {
    this.policies = policies
    this.guardRuns = policies.map((_, i) => {
      const run: Guard[] = []
      for (let j = i; j < policies.length; j++) {
        const p = policies[j]!
        if (!isGuard(p)) break
        run.push(p)
      }
      return run.length > 0 ? run : undefined
    })
  }

  execute<T>(fn: (call: CallContext) => Promise<T>, options: ExecuteOptions = {}): Promise<T | F> {
    const active = trace.getActiveSpan()
    const span = active?.isRecording() ? active : undefined
    return this.stage(0, fn, { signal: options.signal, attempt: 1, span })
  }

  private stage<T>(i: number, fn: (call: CallContext) => Promise<T>, e: Execution): Promise<T> {
    const policy = this.policies[i]
    if (!policy) return invoke(fn, e)
    const guards = this.guardRuns[i]
    if (guards) {
      const after = i + guards.length
      return guarded(guards, (inner) => this.stage(after, fn, inner), e)
    }
    const following = this.guardRuns[i + 1]
    if (following && isGuardedRunner(policy)) {
      const after = i + 1 + following.length
      return policy.runGuarded(following, (inner) => this.stage(after, fn, inner), e)
    }
    return policy.run((inner) => this.stage(i + 1, fn, inner), e) as Promise<T>
  }
}

/**
 * Composes policies into one, outermost first. The usual order (Resilience4j's) is
 * `policy(fallback, retry, breaker, rateLimiter, bulkhead, timeout)`: the timeout bounds
 * each attempt, the breaker counts every attempt and stops the retries once it opens
 * (an open breaker is not retried), and the fallback answers when all else failed.
 */
export function policy<const P extends readonly Policy<unknown>[]>(
  ...policies: P
): Pipeline<FallbackOf<P[number]>> {
  const names = new Set<string>()
  for (const p of policies) {
    const key = `${p.kind}:${p.name}`
    if (names.has(key)) throw new Error(`policy ${key} appears twice in one pipeline`)
    names.add(key)
  }
  return new Pipeline(policies)
}

/** What every policy shares: `execute` runs it alone, as a pipeline of one. */
export abstract class BasePolicy<F = never> implements Policy<F> {
  abstract readonly kind: PolicyKind
  abstract readonly name: string
  abstract run<T>(next: Next<T>, e: Execution): Promise<T | F>

  /** Runs `fn` under this policy alone (compose several with `policy(...)`). */
  execute<T>(fn: (call: CallContext) => Promise<T>, options?: ExecuteOptions): Promise<T | F> {
    return new Pipeline<F>([this]).execute(fn, options)
  }
}

/** Calls `fn`, turning a synchronous throw into a rejection. */
export function invoke<T>(fn: (call: CallContext) => Promise<T>, call: CallContext): Promise<T> {
  try {
    return fn(call)
  } catch (err) {
    return Promise.reject(err)
  }
}

/** Sets an attribute on the execution's span (the OTel SDK's span never throws here). */
export function annotate(e: Execution, key: string, value: AttributeValue): void {
  e.span?.setAttribute(key, value)
}

/** Adds a span event (rare paths only: retries, state changes). */
export function addEvent(e: Execution, name: string, attributes: Attributes, time: number): void {
  e.span?.addEvent(name, attributes, time)
}
