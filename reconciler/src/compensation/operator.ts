// What a person can do with a finding: retry its compensation now, resolve it, or ignore it —
// each with who and why, kept in its history. A change that makes no sense from where the
// finding stands is refused (409) rather than written, so the history stays a true account.
import type { Storage } from '@reckon/collector/storage'
import type { Category } from '../config.js'
import { appendChanges, type FindingState } from '../findings.js'
import type { Rule } from '../rules.js'
import { appendReset, attemptsState, readAttempts } from './attempts.js'

export type OperatorAction = 'retry' | 'resolve' | 'ignore'

/** Where each action may start from. */
export const ALLOWED_FROM: Record<OperatorAction, readonly FindingState[]> = {
  // Compensated is waiting for the next run's check; resolved and ignored are done with.
  retry: ['open', 'compensating', 'escalated'],
  resolve: ['open', 'compensating', 'compensated', 'escalated'],
  // Ignoring a resolved finding keeps it from being opened again if the break comes back.
  ignore: ['open', 'compensating', 'compensated', 'escalated', 'resolved'],
}

export class InvalidTransition extends Error {
  override name = 'InvalidTransition'
  readonly statusCode = 409
}

export class NoSuchFinding extends Error {
  override name = 'NoSuchFinding'
  readonly statusCode = 404
}

interface Current {
  state: FindingState
  rule: string
  category: Category
  key: string
}

async function current(storage: Storage, id: string): Promise<Current | undefined> {
  const db = storage.database
  const rs = await storage.client.query({
    query: `SELECT argMax(state, at) AS state, argMax(rule, at) AS rule,
        argMax(category, at) AS category, argMax(key, at) AS key
      FROM ${db}.reconcile_findings WHERE finding_id = {id:String} GROUP BY finding_id`,
    query_params: { id },
    format: 'JSONEachRow',
  })
  return (await rs.json<Current>())[0]
}

async function seenByRuns(storage: Storage, id: string): Promise<boolean> {
  const rs = await storage.client.query({
    query: `SELECT count() AS n FROM ${storage.database}.reconcile_breaks
      WHERE finding_id = {id:String}`,
    query_params: { id },
    format: 'JSONEachRow',
  })
  return Number((await rs.json<{ n: string }>())[0]?.n ?? 0) > 0
}

const WHAT: Record<OperatorAction, string> = {
  retry: 'retried',
  resolve: 'resolved',
  ignore: 'ignored',
}

/**
 * Applies a person's action to finding `id`. Throws NoSuchFinding (404) and
 * InvalidTransition (409) with a message that says why and what would be allowed.
 */
export async function actOnFinding(
  storage: Storage,
  rules: ReadonlyMap<string, Rule>,
  id: string,
  action: OperatorAction,
  by: string,
  why: string,
): Promise<void> {
  const f = await current(storage, id)
  if (!f) {
    if (await seenByRuns(storage, id))
      throw new InvalidTransition(
        `finding ${id} has no state to change: it was only seen pending or by dry runs`,
      )
    throw new NoSuchFinding(`no finding ${id}`)
  }
  if (!ALLOWED_FROM[action].includes(f.state))
    throw new InvalidTransition(
      `finding ${id} is ${f.state}: it can be ${WHAT[action]} only when ${ALLOWED_FROM[action].join(', ')}`,
    )
  const change = { findingId: id, rule: f.rule, category: f.category, key: f.key, by }
  if (action === 'retry') {
    if (!rules.get(f.rule)?.compensate[f.category])
      throw new InvalidTransition(
        `rule ${f.rule} has no compensation for ${f.category} findings: nothing to retry`,
      )
    // The reset first: until the state row lands, the compensator leaves an escalated
    // finding alone; after it, the reset makes the attempt due with a fresh budget.
    const { lastAttempt } = attemptsState(await readAttempts(storage, id))
    await appendReset(storage, id, lastAttempt, by)
    const state = f.state === 'escalated' ? 'open' : f.state
    await appendChanges(storage, [{ ...change, state, why: `retry now: ${why}` }])
    return
  }
  await appendChanges(storage, [
    { ...change, state: action === 'resolve' ? 'resolved' : 'ignored', why },
  ])
}
