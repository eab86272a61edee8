import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // e2e/server/ runs in the CLICKHOUSE_URL run (vitest.server.config.ts).
    exclude: ['**/node_modules/**', 'shop/**', 'e2e/server/**'],
    pool: 'forks',
    // The collector's: every temporary directory of the run under one, removed at the end.
    globalSetup: ['../collector/src/testing/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
