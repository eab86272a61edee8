import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A statement run on a server directly, as an operator would with curl; its text answer. */
export async function onServer(url: string, sql: string): Promise<string> {
  const res = await fetch(`${url}/`, { method: 'POST', body: sql })
  const text = await res.text()
  if (!res.ok) throw new Error(`${sql}: ${res.status} ${text}`)
  return text.trim()
}

/** A working directory whose reckon.yaml names a database of its own, plus `extra` keys. */
export function workDir(extra = ''): { dir: string; database: string } {
  const dir = mkdtempSync(join(tmpdir(), 'reckon-server-'))
  const database = `server_${randomBytes(6).toString('hex')}`
  writeFileSync(
    join(dir, 'reckon.yaml'),
    `otlpPort: 0\napiPort: 0\nclickhouse:\n  database: ${database}\n${extra}`,
  )
  return { dir, database }
}

/** Waits until `check` holds, polling; fails with `what` after `ms`. */
export async function until(what: string, check: () => Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** One sample of Reckon's own Prometheus metrics, by its full series name. */
export async function metric(apiUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line ? Number(line.slice(series.length + 1)) : 0
}
