import { render, screen } from '@testing-library/svelte'
import { describe, expect, it } from 'vitest'
import AttributeTable from './AttributeTable.svelte'

describe('AttributeTable', () => {
  it('lists attributes sorted, typed values as JSON', () => {
    render(AttributeTable, {
      label: 'Span attributes',
      attrs: { 'http.route': '/orders', 'http.status_code': 500, retry: [1, 2] },
    })
    const rows = screen.getAllByRole('row').map((r) => r.textContent)
    expect(rows).toEqual(['http.route/orders', 'http.status_code500', 'retry[1,2]'])
  })
  it('says None when empty', () => {
    render(AttributeTable, { label: 'x', attrs: {} })
    expect(screen.getByText('None.')).toBeTruthy()
  })
})
