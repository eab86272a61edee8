// Placeholders as a person writes them in reckon.yaml: filled safely where they land, and a
// misspelt one refused when the config loads, with the key path of the line to fix.
import { describe, expect, it } from 'vitest'
import type { ReconcilerConfig, RuleConfig } from '../config.js'
import { checkRules } from '../rules.js'
import { renderCall, type TemplateValues } from './templates.js'

const values: TemplateValues = {
  key: 'm-7/ref "1"',
  keyParts: { merchant: 'm-7', ref: 'ref "1"' },
  left: { amount: '99999999999999.99', currency: 'EUR', status: 'PAID' },
  right: { amount: '', currency: '', status: '' },
  findingId: 'f_abc',
  rule: 'order-payment',
}

describe('renderCall', () => {
  it('URL-encodes values in the URL and keeps the JSON body valid whatever the key holds', () => {
    const call = renderCall(
      {
        method: 'POST',
        url: 'https://shop.example/orders/{{key}}/mark-paid?ref={{ key.ref }}&rule={{rule}}',
        body: {
          order: '{{key}}',
          amount: '{{left.amount}}',
          note: '{{left.currency}} {{left.status}} from {{finding.id}}',
          parts: ['{{key.merchant}}', 3, true, null],
        },
        headers: { 'X-Order': '{{key}}' },
      },
      values,
    )
    expect(call.url).toBe(
      'https://shop.example/orders/m-7%2Fref%20%221%22/mark-paid?ref=ref%20%221%22&rule=order-payment',
    )
    expect(JSON.parse(call.body!)).toEqual({
      order: 'm-7/ref "1"',
      // Money stays exact text: never a JSON number.
      amount: '99999999999999.99',
      note: 'EUR PAID from f_abc',
      parts: ['m-7', 3, true, null],
    })
    expect(call.headers).toEqual({ 'x-order': 'm-7/ref "1"' })
    expect(new URL(call.url).pathname.split('/')).toHaveLength(4)
  })

  it('drops control characters from header values (no header injection through a key)', () => {
    const call = renderCall(
      { method: 'GET', url: 'https://x.example/', headers: { 'x-k': '{{key}}' } },
      { ...values, key: 'a\r\nx-evil: 1' },
    )
    expect(call.headers['x-k']).toBe('ax-evil: 1')
    expect(call.body).toBeUndefined()
  })
})

function config(rule: Partial<RuleConfig>): ReconcilerConfig {
  return {
    reconcile: {
      sources: {
        orders: { events: { system: 'order' } },
        psp: {
          file: {
            format: 'csv',
            columns: {
              key: ['merchant', 'ref'],
              amount: 'gross',
              currency: 'ccy',
              time: 'booked_at',
            },
          },
        },
      },
      rules: [{ name: 'r', left: 'orders', right: 'psp', ...rule }],
    },
  }
}

describe('checkRules on compensation templates', () => {
  it('accepts every documented placeholder, composite key parts included', () => {
    expect(
      checkRules(
        config({
          compensate: {
            status_mismatch: {
              verify: { method: 'GET', url: 'https://psp.example/{{key.merchant}}/{{key.ref}}' },
              action: {
                method: 'POST',
                url: 'https://psp.example/{{key}}',
                body: {
                  l: ['{{left.amount}}', '{{left.currency}}', '{{left.status}}'],
                  r: ['{{right.amount}}', '{{right.currency}}', '{{right.status}}'],
                  id: '{{finding.id}}',
                  rule: '{{rule}}',
                },
              },
            },
          },
        }),
      ),
    ).toEqual([])
  })

  it('names the key path of an unknown placeholder, an unbalanced brace and an always-empty side', () => {
    const problems = checkRules(
      config({
        compensate: {
          dropped: {
            action: {
              method: 'POST',
              url: 'https://shop.example/{{left.amt}}',
              body: { items: [{ ref: '{{key.merchant_id}}' }], total: '{{right.amount}}' },
              headers: { 'x-a': '{{key' },
            },
          },
        },
      }),
    )
    expect(problems.map((p) => p.path.join('.'))).toEqual([
      'reconcile.rules.0.compensate.dropped.action.url',
      'reconcile.rules.0.compensate.dropped.action.headers.x-a',
      'reconcile.rules.0.compensate.dropped.action.body.items.0.ref',
      'reconcile.rules.0.compensate.dropped.action.body.total',
    ])
    expect(problems[0]!.message).toMatch(
      /^unknown placeholder \{\{left\.amt\}\} \(known: \{\{key\}\}/,
    )
    expect(problems[0]!.message).toContain('{{key.merchant}}')
    expect(problems[1]!.message).toMatch(/unbalanced/)
    expect(problems[2]!.message).toMatch(/unknown placeholder \{\{key\.merchant_id\}\}/)
    expect(problems[3]!.message).toBe(
      '{{right.amount}} is always empty: a dropped finding has no right record',
    )
  })
})
