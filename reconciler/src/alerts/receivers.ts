// Notifications on the wire, as each receiver's published API defines them:
// - Alertmanager API v2: POST {url}/api/v2/alerts, an array of alerts identified by their
//   labels; endsAt in the future while firing (it expires the alert then, unless re-sent),
//   the moment it stopped firing once resolved.
// - PagerDuty Events API v2: POST {url}/v2/enqueue, one trigger or resolve per alert, the
//   fingerprint as dedup_key so a trigger sent twice is one incident and the resolve ends it.
// - A Slack-compatible incoming webhook: POST {url}, one message per group.
// - A JSON webhook: POST {url}, one body per group in Alertmanager's webhook shape, signed
//   with HMAC-SHA256 over "timestamp.body" when it has a secret.
// And what an answer means: 2xx sent; 429, 5xx and no answer retried later (after
// Retry-After when the receiver says); any other status refused for good.
import { createHmac } from 'node:crypto'
import type { AlertSnapshot } from './notify.js'
import type { Notification } from './outbox.js'
import type { Receiver } from './routing.js'

export interface Request {
  /** The notifications this request carries (its answer is theirs). */
  notifications: Notification[]
  url: string
  body: string
  headers: Record<string, string>
}

export interface SendContext {
  nowMs: number
  /** How long Alertmanager should keep a firing alert without hearing of it again. */
  firingValidMs: number
  externalUrl: string
  /** The labels messages to this receiver are grouped by. */
  groupBy: string[]
}

const iso = (ms: number): string => new Date(ms).toISOString()
const base = (url: string): string => url.replace(/\/+$/, '')
const JSON_HEADERS = { 'content-type': 'application/json' }

function alertmanager(r: Receiver, ns: Notification[], ctx: SendContext): Request[] {
  const am = r.config.alertmanager!
  const alerts = ns.map((n) => ({
    labels: n.alert.labels,
    annotations: n.alert.annotations,
    startsAt: iso(n.alert.startsAtMs),
    endsAt: iso(n.alert.endsAtMs ?? ctx.nowMs + ctx.firingValidMs),
    generatorURL: n.alert.generatorURL,
  }))
  return [
    {
      notifications: ns,
      url: `${base(am.url)}/api/v2/alerts`,
      body: JSON.stringify(alerts),
      headers: { ...JSON_HEADERS, ...am.headers },
    },
  ]
}

const PD_SEVERITIES = new Set(['critical', 'error', 'warning', 'info'])

function pdSeverity(labels: Record<string, string>): string {
  const s = (labels.severity ?? '').toLowerCase()
  if (PD_SEVERITIES.has(s)) return s
  if (s === 'page') return 'critical'
  if (s === 'warn') return 'warning'
  return 'error'
}

const summaryOf = (a: AlertSnapshot): string =>
  a.annotations.summary ?? `${a.labels.alertname ?? a.rule}: ${a.display}`

function pagerduty(r: Receiver, ns: Notification[], ctx: SendContext): Request[] {
  const pd = r.config.pagerduty!
  const url = `${base(pd.url ?? 'https://events.pagerduty.com')}/v2/enqueue`
  return ns.map((n) => {
    const a = n.alert
    const body =
      n.event === 'resolved'
        ? { routing_key: pd.routingKey, event_action: 'resolve', dedup_key: a.fingerprint }
        : {
            routing_key: pd.routingKey,
            event_action: 'trigger',
            dedup_key: a.fingerprint,
            payload: {
              summary: summaryOf(a).slice(0, 1024),
              source: a.labels.instance ?? a.labels.service ?? 'reckon',
              severity: pdSeverity(a.labels),
              timestamp: iso(a.startsAtMs),
              ...(a.labels.service ? { component: a.labels.service } : {}),
              ...(a.labels.team ? { group: a.labels.team } : {}),
              class: a.labels.alertname ?? a.rule,
              custom_details: {
                value: a.display,
                labels: a.labels,
                annotations: a.annotations,
              },
            },
            links: a.links.map((l) => ({ href: l.href, text: l.text })),
            client: 'Reckon',
            client_url: `${ctx.externalUrl}/alerts?alert=${a.fingerprint}`,
          }
    return { notifications: [n], url, body: JSON.stringify(body), headers: JSON_HEADERS }
  })
}

/** Notifications of one event, grouped by the route's labels (one message each). */
function groups(ns: Notification[], groupBy: string[]): Notification[][] {
  const byKey = new Map<string, Notification[]>()
  for (const n of ns) {
    const key = JSON.stringify([n.event, ...groupBy.map((l) => n.alert.labels[l] ?? '')])
    const group = byKey.get(key)
    if (group) group.push(n)
    else byKey.set(key, [n])
  }
  // Alerts in label order: the same group reads the same in every message and every retry,
  // whatever order the outbox returned them in.
  const order = (n: Notification) => JSON.stringify(Object.entries(n.alert.labels).sort())
  return [...byKey.values()].map((g) => g.sort((a, b) => (order(a) < order(b) ? -1 : 1)))
}

function common(maps: Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = maps
  if (!first) return {}
  return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((m) => m[k] === v)))
}

const status = (g: Notification[]) => (g[0]!.event === 'resolved' ? 'resolved' : 'firing')

function slack(r: Receiver, ns: Notification[], ctx: SendContext): Request[] {
  const s = r.config.slack!
  return groups(ns, ctx.groupBy).map((g) => {
    const st = status(g)
    const name = g[0]!.alert.labels.alertname ?? g[0]!.alert.rule
    const title = `[${st.toUpperCase()}${st === 'firing' ? `:${g.length}` : ''}] ${name}`
    const lines = g.map((n) => {
      const a = n.alert
      const links = a.links.map((l) => `<${l.href}|${l.text}>`).join(' · ')
      const runbook = a.annotations.runbook_url ? ` · <${a.annotations.runbook_url}|Runbook>` : ''
      return `${st === 'firing' ? ':red_circle:' : ':large_green_circle:'} *${summaryOf(a)}*${links || runbook ? `\n${links}${runbook}` : ''}`
    })
    const body = {
      ...(s.channel ? { channel: s.channel } : {}),
      text: `${title}\n${g.map((n) => summaryOf(n.alert)).join('\n')}`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
        ...lines.map((text) => ({
          type: 'section',
          text: { type: 'mrkdwn', text: text.slice(0, 3000) },
        })),
      ],
    }
    return { notifications: g, url: s.url, body: JSON.stringify(body), headers: JSON_HEADERS }
  })
}

/** The signature a webhook receiver checks: HMAC-SHA256 of "timestamp.body", hex. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

function webhook(r: Receiver, ns: Notification[], ctx: SendContext): Request[] {
  const w = r.config.webhook!
  return groups(ns, ctx.groupBy).map((g) => {
    const groupLabels = Object.fromEntries(ctx.groupBy.map((l) => [l, g[0]!.alert.labels[l] ?? '']))
    const body = JSON.stringify({
      version: '1',
      receiver: r.name,
      status: status(g),
      groupKey: JSON.stringify(groupLabels),
      groupLabels,
      commonLabels: common(g.map((n) => n.alert.labels)),
      commonAnnotations: common(g.map((n) => n.alert.annotations)),
      externalURL: ctx.externalUrl,
      alerts: g.map(({ alert: a, event }) => ({
        status: event,
        fingerprint: a.fingerprint,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: iso(a.startsAtMs),
        endsAt: a.endsAtMs === null ? null : iso(a.endsAtMs),
        generatorURL: a.generatorURL,
        value: a.value,
        display: a.display,
        links: a.links,
      })),
    })
    const timestamp = String(Math.floor(ctx.nowMs / 1000))
    const signed: Record<string, string> = w.secret
      ? {
          'x-reckon-timestamp': timestamp,
          'x-reckon-signature': signature(w.secret, timestamp, body),
        }
      : {}
    return {
      notifications: g,
      url: w.url,
      body,
      headers: { ...JSON_HEADERS, ...w.headers, ...signed },
    }
  })
}

/** The requests that carry these notifications (all to one receiver). */
export function requestsFor(r: Receiver, ns: Notification[], ctx: SendContext): Request[] {
  if (ns.length === 0) return []
  switch (r.kind) {
    case 'alertmanager':
      return alertmanager(r, ns, ctx)
    case 'pagerduty':
      return pagerduty(r, ns, ctx)
    case 'slack':
      return slack(r, ns, ctx)
    case 'webhook':
      return webhook(r, ns, ctx)
  }
}

export interface Answer {
  verdict: 'sent' | 'retry' | 'refused'
  status: number | null
  error: string
  retryAfterMs: number | null
}

/** Retried: rate limits, server errors (and no answer at all); any other 4xx is final. */
export const retryable = (status: number): boolean => status === 429 || status >= 500

/** Seconds or an HTTP date, as a wait in ms (never negative); undefined when unreadable. */
export function retryAfter(header: string | null, nowMs: number): number | null {
  if (!header) return null
  const t = header.trim()
  const ms = /^\d+$/.test(t) ? Number(t) * 1000 : Date.parse(t) - nowMs
  return Number.isFinite(ms) ? Math.max(0, ms) : null
}

async function snippet(res: Response): Promise<string> {
  const text = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim()
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}

export async function send(req: Request, timeoutMs: number, nowMs: number): Promise<Answer> {
  try {
    const res = await fetch(req.url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(timeoutMs),
      // A notification goes where reckon.yaml says or nowhere.
      redirect: 'manual',
    })
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel().catch(() => {})
      return { verdict: 'sent', status: res.status, error: '', retryAfterMs: null }
    }
    const text = await snippet(res)
    const error = `${res.status} ${res.statusText}${text ? `: ${text}` : ''}`
    return {
      verdict: retryable(res.status) ? 'retry' : 'refused',
      status: res.status,
      error,
      retryAfterMs: retryAfter(res.headers.get('retry-after'), nowMs),
    }
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } }
    const error =
      e.name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : `${e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}`
    return { verdict: 'retry', status: null, error, retryAfterMs: null }
  }
}
