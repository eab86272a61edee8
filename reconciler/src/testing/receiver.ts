// A notification receiver on 127.0.0.1 (a PagerDuty, Slack, webhook or Alertmanager
// stand-in): it records every request and answers as told, request by request.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: string
  json: unknown
}

export interface Answer {
  status: number
  headers?: Record<string, string>
  body?: string
}

export interface TestReceiver {
  url: string
  port: number
  requests: Received[]
  /** Answers for the next requests, in order; then `fallback` (202 by default). */
  answers: Answer[]
  fallback: Answer
  /** Resolves once `n` requests have arrived. */
  received(n: number): Promise<Received[]>
  close(): Promise<void>
}

export async function startReceiver(port = 0): Promise<TestReceiver> {
  const requests: Received[] = []
  const waiters: { n: number; resolve: () => void }[] = []
  const self: TestReceiver = {
    url: '',
    port: 0,
    requests,
    answers: [],
    fallback: { status: 202, body: '{"status":"success"}' },
    received: (n) =>
      new Promise<Received[]>((resolve) => {
        if (requests.length >= n) resolve(requests)
        else waiters.push({ n, resolve: () => resolve(requests) })
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      let json: unknown = undefined
      try {
        json = JSON.parse(body)
      } catch {
        // Not JSON: the test looks at the text.
      }
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        json,
      })
      const a = self.answers.shift() ?? self.fallback
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers })
      res.end(a.body ?? '')
      for (const w of waiters.filter((w) => requests.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  self.port = (server.address() as AddressInfo).port
  self.url = `http://127.0.0.1:${self.port}`
  return self
}
