// One logger per process: pino (Fastify's own), so every entry keeps its level, its context
// (the component, the table) and an error's stack. A person reads it as plain lines on
// stderr; a log shipper takes pino's JSON lines instead.
import { pino, type DestinationStream, type Level, type Logger } from 'pino'

export type { Logger }

export interface LogOptions {
  /** The least severe level written. Default `info`. */
  level?: Level | 'silent'
  /** `text`: `reckon: …` lines, an error's stack under its line; `json`: pino's lines. */
  format?: 'text' | 'json'
  /** Where entries go. Default stderr: stdout is the CLI's own output. */
  destination?: DestinationStream
}

export function createLogger(o: LogOptions = {}): Logger {
  const level = o.level ?? 'info'
  if (o.format === 'json') {
    return pino({ level }, o.destination ?? pino.destination({ fd: 2, sync: true }))
  }
  const out = o.destination ?? { write: (line: string) => process.stderr.write(line) }
  return pino({ level }, { write: (json: string) => out.write(textLine(json)) })
}

/** Writes nothing: for tests and tools that have nobody to tell. */
export const silentLogger: Logger = pino({ level: 'silent' })

/** `logger`'s child, never more verbose than warnings: for Fastify, so requests go unlogged. */
export function warningsOf(logger: Logger, bindings: Record<string, unknown>): Logger {
  const { values } = pino.levels
  const level = (values[logger.level] ?? Infinity) > values.warn! ? logger.level : 'warn'
  return logger.child(bindings, { level })
}

const TAGS: Record<string, string> = { warn: 'warning: ', error: 'error: ', fatal: 'fatal: ' }

/** A pino JSON entry as a person reads it: `reckon: error: what happened: Error: why`, stack. */
export function textLine(json: string): string {
  const entry = JSON.parse(json) as { level?: number; msg?: unknown; err?: unknown }
  const label = pino.levels.labels[entry.level ?? 30] ?? 'info'
  let line = `reckon: ${TAGS[label] ?? ''}${typeof entry.msg === 'string' ? entry.msg : ''}`
  const err = entry.err
  if (err !== undefined) line += `: ${describeError(err)}`
  return `${line}\n`
}

function describeError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err)
  const { stack, message } = err as { stack?: unknown; message?: unknown }
  if (typeof stack === 'string' && stack !== '') return stack
  if (typeof message === 'string') return message
  return JSON.stringify(err)
}
