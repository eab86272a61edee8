import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { testApps } from '../testing/apps.js'
import { hex } from '../testing/harness.js'
import { protobufSpans } from '../testing/otlp.js'

/** Prometheus' own linter over exposition text; its findings, '' when there are none. */
function promtoolCheck(text: string): string {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  if (run.error) {
    throw new Error(
      `promtool is needed to check /metrics (${run.error.message}); install it with apt-get install -y prometheus, as .ci/run does`,
    )
  }
  return `${run.stdout}${run.stderr}`.trim() || (run.status === 0 ? '' : `exit ${run.status}`)
}

describe('GET /metrics', () => {
  it('passes promtool check metrics, with every series of a working collector in it', async () => {
    const t = await testApps()
    try {
      expect((await t.postProtobuf('/v1/traces', protobufSpans('m', hex(16), 10))).statusCode).toBe(
        200,
      )
      await t.flush()
      const res = await t.api.inject({ url: '/metrics' })
      expect(res.statusCode).toBe(200)
      expect(res.body).toContain('reckon_ingest_requests_total{signal="traces",status="200"} 1')
      expect(res.body).toContain('reckon_nodejs_active_handles')
      expect(promtoolCheck(res.body)).toBe('')
    } finally {
      await t.close()
    }
  })
})
