// One pass over the outbox: of each receiver's notifications for one alert only the newest
// goes out (a resolve written while the trigger waited for a receiver that was down
// replaces it), the due ones are sent, and each answer decides: sent, retried after a
// backoff (or the receiver's Retry-After), or refused. Nothing is dropped for a receiver
// being down: a notification is retried for a day before it is given up.
import type { Storage } from '@reckon/collector/storage'
import { backoffMs } from '../compensation/backoff.js'
import { toldKey } from './notify.js'
import {
  logAttempts,
  pending,
  toldFiring,
  update,
  type DeliveryAttempt,
  type Notification,
} from './outbox.js'
import { requestsFor, send } from './receivers.js'
import type { Router } from './routing.js'

export interface DeliveryOptions {
  nowMs: number
  /** endsAt of a firing alert sent to Alertmanager: now + this. */
  firingValidMs: number
  externalUrl: string
  timeoutMs: number
  /** How long a notification is retried before it is given up (default a day). */
  maxAgeMs?: number
  backoff?: { initialMs: number; maxMs: number }
  /** A Retry-After longer than this is cut to it. */
  maxRetryAfterMs?: number
}

export interface DeliverySummary {
  sent: number
  retrying: number
  failed: number
  superseded: number
  /** When the next pending notification is due, if any is pending. */
  nextDueMs: number | undefined
}

const DAY_MS = 86_400_000

export async function deliverDue(
  storage: Storage,
  router: Router,
  opts: DeliveryOptions,
): Promise<DeliverySummary> {
  const { nowMs } = opts
  const backoff = opts.backoff ?? { initialMs: 1000, maxMs: 5 * 60_000 }
  const maxAge = opts.maxAgeMs ?? DAY_MS
  const summary: DeliverySummary = {
    sent: 0,
    retrying: 0,
    failed: 0,
    superseded: 0,
    nextDueMs: undefined,
  }
  const changed: Notification[] = []
  const finish = (n: Notification, state: Notification['state'], error = n.lastError) => {
    changed.push({ ...n, state, lastError: error })
    if (state === 'superseded') summary.superseded += 1
    if (state === 'failed') summary.failed += 1
  }

  const all = await pending(storage)
  const newest = new Map<string, Notification>()
  for (const n of all) {
    const key = toldKey(n.receiver, n.fingerprint)
    const prev = newest.get(key)
    if (prev) finish(prev, 'superseded')
    newest.set(key, n)
  }
  const told = await toldFiring(storage, [...new Set(all.map((n) => n.fingerprint))])
  const due = new Map<string, Notification[]>()
  for (const [key, n] of newest) {
    const receiver = router.receivers.get(n.receiver)
    if (!receiver) finish(n, 'failed', `no receiver ${n.receiver} in reckon.yaml`)
    else if (n.event === 'resolved' && receiver.kind !== 'alertmanager' && !told.has(key))
      // Its trigger never reached this receiver: there is nothing to resolve there.
      finish(n, 'superseded', 'the trigger was never delivered')
    else if (nowMs - n.createdAtMs > maxAge)
      finish(n, 'failed', `given up after ${Math.round(maxAge / 3_600_000)}h: ${n.lastError}`)
    else if (n.nextAtMs <= nowMs) due.set(n.receiver, [...(due.get(n.receiver) ?? []), n])
    else summary.nextDueMs = Math.min(summary.nextDueMs ?? Infinity, n.nextAtMs)
  }

  const attempts: DeliveryAttempt[] = []
  await Promise.all(
    [...due].map(async ([name, ns]) => {
      const receiver = router.receivers.get(name)!
      const ctx = {
        nowMs,
        firingValidMs: opts.firingValidMs,
        externalUrl: opts.externalUrl,
        groupBy: router.optionsOf(name)?.groupBy ?? ['alertname'],
      }
      // One receiver's requests one after another: a rate limit is per sender.
      for (const req of requestsFor(receiver, ns, ctx)) {
        const answer = await send(req, opts.timeoutMs, nowMs)
        for (const n of req.notifications) {
          const attempt = n.attempts + 1
          const outcome =
            answer.verdict === 'sent' ? 'sent' : answer.verdict === 'retry' ? 'retry' : 'failed'
          attempts.push({
            notification: n,
            attempt,
            atMs: Date.now(),
            outcome,
            httpStatus: answer.status,
            error: answer.error,
            retryAfterMs: answer.retryAfterMs,
          })
          if (outcome === 'sent') {
            changed.push({ ...n, state: 'sent', attempts: attempt, lastError: '' })
            summary.sent += 1
          } else if (outcome === 'failed') {
            finish({ ...n, attempts: attempt }, 'failed', answer.error)
          } else {
            const wait =
              answer.retryAfterMs !== null
                ? Math.min(answer.retryAfterMs, opts.maxRetryAfterMs ?? 3_600_000)
                : backoffMs(backoff, attempt)
            const nextAtMs = nowMs + wait
            changed.push({ ...n, attempts: attempt, nextAtMs, lastError: answer.error })
            summary.retrying += 1
            summary.nextDueMs = Math.min(summary.nextDueMs ?? Infinity, nextAtMs)
          }
        }
      }
    }),
  )
  await logAttempts(storage, attempts)
  await update(storage, changed, nowMs)
  return summary
}
