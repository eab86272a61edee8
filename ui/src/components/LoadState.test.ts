import { render, screen } from '@testing-library/svelte'
import { describe, expect, it } from 'vitest'
import LoadState from './LoadState.svelte'

describe('LoadState', () => {
  it('says the API is unreachable and that it retries', () => {
    render(LoadState, { loading: false, error: 'down', unreachable: true })
    expect(screen.getByRole('alert').textContent).toMatch(/cannot be reached.*Retrying/s)
  })
  it("shows the API's own error", () => {
    render(LoadState, { loading: false, error: 'from must not exceed to' })
    expect(screen.getByRole('alert').textContent).toContain('from must not exceed to')
  })
  it('shows loading, then the empty text', async () => {
    const { rerender } = render(LoadState, { loading: true, error: undefined })
    expect(screen.getByRole('status').textContent).toContain('Loading')
    await rerender({ loading: false, error: undefined, empty: true, emptyText: 'No traces.' })
    expect(screen.getByText('No traces.')).toBeTruthy()
  })
})
