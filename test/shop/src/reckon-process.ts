// Reckon as its users run it: the `reckon` command in a process of its own (chDB binds its
// data directory to one process), found where npm links it for the workspace.
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** The committed bin of `@reckon/cli`: what `npx reckon` runs. */
export const RECKON_BIN = join(
  dirname(createRequire(import.meta.url).resolve('@reckon/cli/package.json')),
  'bin',
  'reckon.js',
)

export interface ReckonProcess {
  child: ChildProcess
  otlpUrl: string
  apiUrl: string
  /** What it printed so far. */
  stdout(): string
  stderr(): string
}

export interface SpawnOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Called with each chunk it prints, as it prints it (the demo passes it through). */
  onStdout?: (chunk: string) => void
  onStderr?: (chunk: string) => void
  /** In a process group of its own, so a terminal's Ctrl-C reaches only the parent. */
  detached?: boolean
}

/** `reckon <args>`, not waited for; with the bin's own Node flags (its shebang line). */
export function spawnReckon(args: string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, ['--max-semi-space-size=32', RECKON_BIN, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  })
}

/** `reckon <command>` as a server; resolves once its banner names both URLs. */
export function startReckonProcess(
  command: 'up' | 'collector',
  opts: SpawnOptions = {},
): { child: ChildProcess; ready: Promise<ReckonProcess> } {
  const child = spawnReckon([command], opts)
  let out = ''
  let err = ''
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
    opts.onStderr?.(d.toString())
  })
  const ready = new Promise<ReckonProcess>((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`reckon ${command} exited with ${code}: ${err}`)))
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      opts.onStdout?.(d.toString())
      const otlp = /OTLP\/HTTP \+ events\s+(https?:\/\/\S+)/.exec(out)?.[1]
      const api = /Query API\s+(https?:\/\/\S+)\/api/.exec(out)?.[1]
      if (otlp && api) {
        resolve({ child, otlpUrl: otlp, apiUrl: api, stdout: () => out, stderr: () => err })
      }
    })
  })
  return { child, ready }
}

/** Resolves with the exit code once the process has ended. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}
