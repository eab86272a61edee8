import { ConfigError } from '@reckon/collector/config'
import { describe, expect, it } from 'vitest'
import { processLogger } from './serve.js'

describe('the process logger', () => {
  it('takes its format and level from the environment, and names a wrong value', () => {
    expect(processLogger({}).level).toBe('info')
    expect(processLogger({ RECKON_LOG_FORMAT: 'json', RECKON_LOG_LEVEL: 'warn' }).level).toBe(
      'warn',
    )
    expect(() => processLogger({ RECKON_LOG_LEVEL: 'loud' })).toThrow(ConfigError)
    expect(() => processLogger({ RECKON_LOG_FORMAT: 'pretty' })).toThrow(
      'RECKON_LOG_FORMAT must be one of text, json, got "pretty"',
    )
  })
})
