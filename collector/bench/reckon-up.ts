// `reckon up` as its own process, for the benches that measure the process itself (its
// memory, a kill -9): @reckon/cli's committed bin, started with the Node flags of its
// shebang as `npx reckon up` runs it, in a work directory whose reckon.yaml the bench writes.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// From collector/dist/bench/: the bin is a path, not an import (the CLI depends on the collector).
export const CLI = fileURLToPath(new URL('../../../cli/bin/reckon.js', import.meta.url))

/** The Node flags after `#!/usr/bin/env -S node` (e.g. the larger young generation). */
function shebangFlags(): string[] {
  const first = readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? ''
  const m = /^#!\S*env -S node\s+(.*)$/.exec(first)
  return m ? m[1]!.trim().split(/\s+/) : []
}

export interface Started {
  child: ChildProcess
  otlpUrl: string
  apiUrl: string
  stderr: () => string
}

export interface UpOptions {
  /** Node flags besides the shebang's (e.g. --heap-prof). */
  nodeArgs?: string[]
  /** Called with all of stderr so far whenever more arrives. */
  onStderr?: (all: string) => void
}

/** `reckon up` in `work` with `yaml` as its reckon.yaml; resolves once it listens. */
export function reckonUp(work: string, yaml: string, options: UpOptions = {}): Promise<Started> {
  writeFileSync(join(work, 'reckon.yaml'), yaml)
  const child = spawn(
    process.execPath,
    [...shebangFlags(), ...(options.nodeArgs ?? []), CLI, 'up'],
    {
      cwd: work,
      env: { ...process.env, CLICKHOUSE_URL: undefined },
    },
  )
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString()
    options.onStderr?.(err)
  })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`reckon up exited with ${code}: ${err}`)))
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const otlp = /OTLP\/HTTP \+ events\s+(http:\/\/\S+)/.exec(out)?.[1]
      const api = /Query API\s+(http:\/\/\S+)\/api/.exec(out)?.[1]
      if (otlp && api) {
        child.removeAllListeners('exit')
        resolve({ child, otlpUrl: otlp, apiUrl: api, stderr: () => err })
      }
    })
  })
}

/** Resolves once the process has exited and its output is read. */
export const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('close', () => resolve()))
