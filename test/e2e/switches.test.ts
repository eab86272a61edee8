import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import type { RunningReckon } from '@reckon/collector/server'
import { isOn, startFlow, SwitchClient, useSwitchClient } from '@reckon/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestReckon } from './reckon.js'

let reckon: RunningReckon
let client: SwitchClient
beforeAll(async () => {
  // What init() does in a service; without it flows have no context to travel in.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  reckon = await startTestReckon()
  client = new SwitchClient({ apiUrl: reckon.apiUrl })
  useSwitchClient(client)
})
afterAll(async () => {
  useSwitchClient(undefined)
  await reckon?.close()
})

async function flip(name: string, on: boolean, flowPinned: boolean): Promise<void> {
  const res = await fetch(`${reckon.apiUrl}/api/switches/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ on, flowPinned, by: 'on-call', reason: 'PSP degraded' }),
  })
  expect(res.status).toBe(200)
}

describe('degradation switches: Reckon API → SDK', () => {
  it('the SDK sees a switch flipped in Reckon, and a flow keeps the value it started with', async () => {
    await flip('orders.hold-when-psp-down', true, true)
    await flip('search.suggestions', false, false)
    expect(await client.poll()).toBe(true)
    expect(isOn('orders.hold-when-psp-down')).toBe(true)
    expect(isOn('search.suggestions', true)).toBe(false) // known: the fallback does not apply

    await startFlow(async () => {
      await flip('orders.hold-when-psp-down', false, true)
      expect(await client.poll()).toBe(true)
      expect(isOn('orders.hold-when-psp-down')).toBe(true) // pinned when this flow started
    })
    expect(isOn('orders.hold-when-psp-down')).toBe(false) // everyone else sees the flip
  })
})
