import { createLogger, type Logger } from '../log.js'

export interface LogEntry {
  level: number
  msg: string
  err?: { type?: string; message?: string; stack?: string }
  [context: string]: unknown
}

/** A logger that keeps what it is told, as pino writes it, for tests to read. */
export function captureLog(): { logger: Logger; entries: LogEntry[]; messages: () => string[] } {
  const entries: LogEntry[] = []
  const logger = createLogger({
    level: 'trace',
    format: 'json',
    destination: { write: (line) => entries.push(JSON.parse(line) as LogEntry) },
  })
  return { logger, entries, messages: () => entries.map((e) => e.msg) }
}
