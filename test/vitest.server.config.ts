import { defineConfig } from 'vitest/config'

// The same end-to-end checks with Reckon on a ClickHouse server (CLICKHOUSE_URL) instead of
// the embedded engine: its own run, since the server is named to every test through the
// environment.
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    // The embedded engine's own: crash recovery from its spool, its data directory's lock.
    exclude: ['**/node_modules/**', 'e2e/reckon-up.test.ts'],
    pool: 'forks',
    // The collector's (one temporary directory for the run) first: the server's data goes in it.
    globalSetup: ['../collector/src/testing/global-setup.ts', './e2e/server/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
