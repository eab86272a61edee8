import { describe, expect, it } from 'vitest'
import { href, match } from './router.svelte.js'

describe('routes', () => {
  it('maps paths to pages with their parameters', () => {
    expect(match('/traces/abc')).toEqual({ page: 'trace', params: { traceId: 'abc' } })
    expect(match('/traces/compare').page).toBe('compare')
    expect(match('/flows/order%2F1')).toEqual({ page: 'flow', params: { flowId: 'order/1' } })
    expect(match('/nope/x/y').page).toBe('notfound')
  })
  it('builds URLs without empty values', () => {
    expect(href('/traces', { service: 'order', operation: '', limit: 5 })).toBe(
      '/traces?service=order&limit=5',
    )
  })
})
