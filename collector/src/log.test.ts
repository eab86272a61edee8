import { describe, expect, it } from 'vitest'
import { createLogger, warningsOf } from './log.js'

function written(format: 'text' | 'json', level: 'info' | 'error' = 'info') {
  const lines: string[] = []
  const logger = createLogger({ format, level, destination: { write: (l) => lines.push(l) } })
  return { logger, lines }
}

function failure(): Error {
  return new Error('connect ECONNREFUSED 127.0.0.1:8123')
}

describe('the log as text', () => {
  it('is one reckon: line per entry, warnings and errors say so, an error keeps its stack', () => {
    const { logger, lines } = written('text')
    const storage = logger.child({ component: 'storage', table: 'shop.spans' })
    storage.info('stored 3 spooled inserts the previous run acknowledged')
    storage.warn({ err: failure() }, 'writing 10 rows to spans failed; retrying')
    storage.error('dropped 10 rows for spans: shutting down')
    storage.debug('not written at info')
    expect(lines[0]).toBe('reckon: stored 3 spooled inserts the previous run acknowledged\n')
    expect(lines[1]).toMatch(
      /^reckon: warning: writing 10 rows to spans failed; retrying: Error: connect ECONNREFUSED 127\.0\.0\.1:8123\n +at failure \(.*log\.test\.ts:\d+:\d+\)\n/,
    )
    expect(lines[2]).toBe('reckon: error: dropped 10 rows for spans: shutting down\n')
    expect(lines).toHaveLength(3)
  })

  it('shows what was thrown when it is not an Error', () => {
    const { logger, lines } = written('text')
    logger.error({ err: 'no such table' }, 'could not run payment-order')
    expect(lines).toEqual(['reckon: error: could not run payment-order: no such table\n'])
  })
})

describe('the log as JSON', () => {
  it('is pino’s lines: level, time, context and the error with its stack', () => {
    const { logger, lines } = written('json')
    logger.child({ component: 'storage' }).warn({ err: failure() }, 'writing failed; retrying')
    expect(lines).toHaveLength(1)
    const entry = JSON.parse(lines[0]!)
    expect(entry).toMatchObject({
      level: 40,
      component: 'storage',
      msg: 'writing failed; retrying',
      err: { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:8123' },
    })
    expect(typeof entry.time).toBe('number')
    expect(entry.err.stack).toMatch(/\n +at failure /)
  })
})

describe('warningsOf', () => {
  it('gives HTTP apps warnings and errors only, and never more than the process logs', () => {
    const info = written('text')
    const app = warningsOf(info.logger, { component: 'api' })
    app.info('incoming request')
    app.warn('slow query')
    expect(info.lines).toEqual(['reckon: warning: slow query\n'])

    const quiet = written('text', 'error')
    const quietApp = warningsOf(quiet.logger, { component: 'api' })
    quietApp.warn('slow query')
    quietApp.error('failed')
    expect(quiet.lines).toEqual(['reckon: error: failed\n'])
  })
})
