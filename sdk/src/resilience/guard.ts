import type { Execution, Next } from './policy.js'

/**
 * A policy that decides before the call and records after it (a circuit breaker). Guards
 * next to each other — and a retry around them — share one promise reaction instead of
 * one each: under an active context manager every reaction costs about as much as a
 * tenth of a span, and most calls only pass through.
 */
export interface Guard {
  /** Admits the call (returning what `settle` needs back) or throws to refuse it. */
  admit(e: Execution): unknown
  /** The admitted call ended: `ok`, or failed with `error`. */
  settle(token: unknown, ok: boolean, error: unknown): void
  /** The call was admitted but never ran (a later guard refused it). */
  release(token: unknown): void
}

/** A policy that can run a run of guards itself, fusing its own reaction with theirs. */
export interface GuardedRunner {
  runGuarded<T>(guards: readonly Guard[], inner: Next<T>, e: Execution): Promise<T>
}

export function isGuard(p: object): p is Guard {
  return typeof (p as Partial<Guard>).admit === 'function'
}

export function isGuardedRunner(p: object): p is GuardedRunner {
  return typeof (p as Partial<GuardedRunner>).runGuarded === 'function'
}

const rethrow = (err: unknown): never => {
  throw err
}

/** Runs `inner` behind the guards; `onOk`/`onError` continue in the same reaction. */
export function guarded<T, R = T>(
  guards: readonly Guard[],
  inner: Next<T>,
  e: Execution,
  onOk?: (result: T) => R,
  onError: (err: unknown) => R | Promise<R> = rethrow,
): Promise<R> {
  if (guards.length === 1) return guardedByOne(guards[0]!, inner, e, onOk, onError)
  const tokens: unknown[] = []
  for (const g of guards) {
    try {
      tokens.push(g.admit(e))
    } catch (err) {
      for (let k = tokens.length - 1; k >= 0; k--) guards[k]!.release(tokens[k])
      return refused(onError, err)
    }
  }
  let p: Promise<T>
  try {
    p = inner(e)
  } catch (err) {
    p = Promise.reject(err)
  }
  return p.then(
    (result) => {
      for (let k = guards.length - 1; k >= 0; k--) guards[k]!.settle(tokens[k], true, undefined)
      return onOk ? onOk(result) : (result as unknown as R)
    },
    (err: unknown) => {
      for (let k = guards.length - 1; k >= 0; k--) guards[k]!.settle(tokens[k], false, err)
      return onError(err)
    },
  )
}

/** The common case, one breaker: the same without the token array. */
function guardedByOne<T, R>(
  guard: Guard,
  inner: Next<T>,
  e: Execution,
  onOk: ((result: T) => R) | undefined,
  onError: (err: unknown) => R | Promise<R>,
): Promise<R> {
  let token: unknown
  let p: Promise<T>
  try {
    token = guard.admit(e)
  } catch (err) {
    return refused(onError, err)
  }
  try {
    p = inner(e)
  } catch (err) {
    p = Promise.reject(err)
  }
  return p.then(
    (result) => {
      guard.settle(token, true, undefined)
      return onOk ? onOk(result) : (result as unknown as R)
    },
    (err: unknown) => {
      guard.settle(token, false, err)
      return onError(err)
    },
  )
}

/** A guard refused: the refusal goes to `onError` (a retry decides whether to wait). */
function refused<R>(onError: (err: unknown) => R | Promise<R>, err: unknown): Promise<R> {
  try {
    return Promise.resolve(onError(err))
  } catch (thrown) {
    return Promise.reject(thrown)
  }
}
