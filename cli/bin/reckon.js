#!/usr/bin/env -S node --max-semi-space-size=32
// The `reckon` command. This file is committed, not built, so npm links it at `npm ci`; it
// runs the built CLI, and on a fresh clone builds it first. The larger young generation:
// decoding OTLP allocates many short-lived objects (docs/benchmarks.md, bench:ingest).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const main = new URL('../dist/src/main.js', import.meta.url)
if (!existsSync(main)) {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  console.error('reckon: building Reckon (first run after a fresh clone)…')
  const turbo = ['turbo', 'run', 'build', '--filter=@reckon/cli...', '--output-logs=errors-only']
  const built = spawnSync('npx', turbo, { cwd: root, stdio: ['ignore', 2, 2] })
  if (built.status !== 0) process.exit(built.status ?? 1)
}
await import(main.href)
