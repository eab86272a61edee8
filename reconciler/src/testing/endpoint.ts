// A compensation endpoint as a well-built one behaves, on 127.0.0.1: it applies an effect once
// per Idempotency-Key (a repeat gets the first answer back, nothing applied again), and it
// can be told to fail a key N times first, to refuse it, to be slow, or to hang.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Call {
  method: string
  path: string
  /** The order key: the path's segment after /orders/. */
  key: string
  idempotencyKey: string
  traceparent: string
  baggage: string
  contentType: string
  body: string
  /** What was answered; null while unanswered (hanging, or the caller went away). */
  status: number | null
  at: number
}

export interface Behaviour {
  /** Answer 503 this many times before applying. */
  failures?: number
  /** Answer this status every time (a refusal, a permanent error). */
  always?: number
  /** Wait this long before answering. */
  delayMs?: number
  /** Apply, then never answer the first call (a caller killed mid-call sees no answer). */
  hangFirst?: boolean
  /** For GET (a verify): does the other system have the record? */
  has?: boolean
}

export interface Endpoint {
  url: string
  calls: Call[]
  /** Keys whose effect was applied, with how many times (a correct caller: once). */
  applied: Map<string, number>
  behave(key: string, b: Behaviour): void
  /** Resolves once `n` calls have arrived. */
  received(n: number): Promise<void>
  close(): Promise<void>
}

export async function startEndpoint(): Promise<Endpoint> {
  const calls: Call[] = []
  const applied = new Map<string, number>()
  const answered = new Map<string, { status: number; body: string }>()
  const behaviours = new Map<string, Behaviour>()
  const seen = new Map<string, number>()
  const waiters: { n: number; resolve: () => void }[] = []

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body = ''
    for await (const chunk of req) body += String(chunk)
    const path = req.url ?? '/'
    const key = decodeURIComponent(/\/orders\/([^/?]+)/.exec(path)?.[1] ?? '')
    const header = (name: string): string => {
      const v = req.headers[name]
      return Array.isArray(v) ? v.join(',') : (v ?? '')
    }
    const call: Call = {
      method: req.method ?? '',
      path,
      key,
      idempotencyKey: header('idempotency-key'),
      traceparent: header('traceparent'),
      baggage: header('baggage'),
      contentType: header('content-type'),
      body,
      status: null,
      at: Date.now(),
    }
    calls.push(call)
    for (const w of waiters.filter((w) => calls.length >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve()
    }
    const b = behaviours.get(key) ?? {}
    const n = (seen.get(`${req.method} ${key}`) ?? 0) + 1
    seen.set(`${req.method} ${key}`, n)
    const answer = (status: number, text = ''): void => {
      call.status = status
      res.writeHead(status, { 'content-type': 'application/json' }).end(text)
    }
    if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs))
    if (req.method === 'GET') return answer(b.has ? 200 : 404, b.has ? '{"paid":true}' : '')
    if (b.always) return answer(b.always, '{"error":"refused"}')
    const before = answered.get(call.idempotencyKey)
    if (before) return answer(before.status, before.body)
    if (n <= (b.failures ?? 0)) return answer(503, '{"error":"try later"}')
    applied.set(key, (applied.get(key) ?? 0) + 1)
    const result = { status: 201, body: JSON.stringify({ applied: key }) }
    answered.set(call.idempotencyKey, result)
    if (b.hangFirst && n === 1) return
    answer(result.status, result.body)
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    applied,
    behave: (key, b) => behaviours.set(key, b),
    received: (n) =>
      calls.length >= n
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ n, resolve })),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
