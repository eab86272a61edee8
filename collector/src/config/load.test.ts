import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import Type from 'typebox'
import {
  COLLECTOR_CONFIG,
  composeConfig,
  ConfigError,
  loadConfig,
  type Config,
  type ConfigSection,
} from './index.js'

const file = (text: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'reckon-config-')), 'reckon.yaml')
  writeFileSync(path, text)
  return path
}

describe('loadConfig', () => {
  it('uses the documented defaults: loopback, 4318, 8318, embedded, 7 days', () => {
    const c = loadConfig({ env: {}, file: file('') })
    expect(c).toMatchObject({ host: '127.0.0.1', otlpPort: 4318, apiPort: 8318, retentionDays: 7 })
    expect(c.clickhouse.url).toBeUndefined()
  })

  it('lets the environment override the file', () => {
    const c = loadConfig({
      env: { RECKON_OTLP_PORT: '14318', CLICKHOUSE_URL: 'http://ch:8123' },
      file: file('otlpPort: 5000\n'),
    })
    expect(c.otlpPort).toBe(14318)
    expect(c.clickhouse.url).toBe('http://ch:8123')
  })

  it('names the file key that is wrong', () => {
    expect(() => loadConfig({ env: {}, file: file('ingest:\n  batchRows: -1\n') })).toThrow(
      /reckon.yaml: ingest.batchRows must be >= 1 \(got -1\)/,
    )
    expect(() => loadConfig({ env: {}, file: file('colector: {}\n') })).toThrow(
      /unknown configuration key colector/,
    )
  })

  it('names the environment variable that is wrong', () => {
    expect(() => loadConfig({ env: { RECKON_API_PORT: 'eighty' }, file: file('') })).toThrow(
      ConfigError,
    )
    expect(() => loadConfig({ env: { RECKON_API_PORT: 'eighty' }, file: file('') })).toThrow(
      /RECKON_API_PORT: must be a whole number/,
    )
    expect(() => loadConfig({ env: { RECKON_RETENTION_DAYS: '0' }, file: file('') })).toThrow(
      /RECKON_RETENTION_DAYS must be >= 1/,
    )
    expect(() => loadConfig({ env: { CLICKHOUSE_DATABASE: 'x; DROP' }, file: file('') })).toThrow(
      /CLICKHOUSE_DATABASE must match pattern/,
    )
  })

  it('reads the sections the process composes, naming their keys, and refuses a key claimed twice', () => {
    const reconcile: ConfigSection = {
      component: 'reconciler',
      properties: {
        reconcile: Type.Object(
          { window: Type.String({ minLength: 2 }) },
          { additionalProperties: false },
        ),
      },
      defaults: { reconcile: { window: '24h' } },
      env: { RECKON_WINDOW: { path: ['reconcile', 'window'], type: 'string' } },
    }
    const sections = composeConfig<Config & { reconcile: { window: string } }>([
      COLLECTOR_CONFIG,
      reconcile,
    ])
    const c = loadConfig({ env: {}, file: file('reconcile:\n  window: 1h\n'), sections })
    expect(c).toMatchObject({ otlpPort: 4318, reconcile: { window: '1h' } })
    expect(() =>
      loadConfig({ env: {}, file: file('reconcile:\n  windw: 1h\n'), sections }),
    ).toThrow(/unknown configuration key reconcile.windw/)
    expect(() => loadConfig({ env: { RECKON_WINDOW: 'x' }, file: file(''), sections })).toThrow(
      /RECKON_WINDOW must have at least 2 characters|RECKON_WINDOW .*2/,
    )
    expect(() =>
      loadConfig({
        env: {},
        file: file('reconcile: {}\n'),
        sections: composeConfig([COLLECTOR_CONFIG]),
      }),
    ).toThrow(/unknown configuration key reconcile/)
    expect(() =>
      composeConfig([COLLECTOR_CONFIG, { ...reconcile, properties: { host: Type.String() } }]),
    ).toThrow('config key host is claimed by collector and reconciler')
  })
})
