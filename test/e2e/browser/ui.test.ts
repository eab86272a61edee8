// The UI in a real browser against a real `reckon up` filled by the demo shop's three
// services: what an engineer, on-call and finance check on each page.
import type { RunningShop } from '@reckon/shop/launcher'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exited, running, type Running } from '../cli.js'
import { eventually, startShopAndReckon } from '../shop-fixture.js'
import { launch, openPage, screenshot } from './browser.js'

let reckon: Running
let shop: RunningShop
let browser: Browser
let page: Page
const errors: string[] = []

beforeAll(async () => {
  ;({ reckon, shop } = await startShopAndReckon('reckon-ui-'))
  browser = await launch()
  page = await openPage(browser, errors)
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await shop?.stop()
  for (const child of running.splice(0)) {
    child.kill('SIGTERM')
    await exited(child)
  }
})

async function faults(f: object): Promise<void> {
  const res = await fetch(`${shop.urls.payment}/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(f),
  })
  expect(res.status).toBe(200)
}

async function placeOrder(): Promise<{ orderId: string; flowId: string }> {
  const res = await fetch(`${shop.urls.order}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customer: 'ada',
      currency: 'EUR',
      items: [{ sku: 'MUG-BLUE', quantity: 2, unitPrice: '12.90' }],
    }),
  })
  return (await res.json()) as { orderId: string; flowId: string }
}

const ui = (path: string) => `${reckon.apiUrl}${path}`

describe('the UI in Chromium', () => {
  it('finds a trace by service and by flow ID, shows its call tree and a span, and a shared link reopens it', async () => {
    const order = await placeOrder()
    await page.goto(ui('/traces?service=order'))
    await eventually(async () => {
      await page.reload()
      await page.getByRole('table', { name: 'Traces' }).waitFor({ timeout: 5000 })
    })
    await screenshot(page, 'traces')
    await page.goto(ui(`/traces?flowId=${order.flowId}`))
    const rows = page.getByRole('table', { name: 'Traces' }).locator('tbody tr')
    await eventually(async () => {
      await page.reload()
      expect(await rows.count()).toBeGreaterThan(0)
    })
    await rows.first().getByRole('link').first().click()
    const tree = page.getByRole('tree', { name: 'Call tree' })
    await tree.waitFor()
    const items = tree.getByRole('treeitem')
    await expect.poll(() => items.count()).toBeGreaterThan(2)
    // The root at level 1, its calls nested below it.
    expect(await items.first().getAttribute('aria-level')).toBe('1')
    const nested = tree.locator('[role=treeitem][aria-level="2"]').first()
    await nested.click()
    const detail = page.getByRole('region', { name: 'Span detail' })
    await detail.getByRole('heading', { level: 2 }).waitFor()
    expect(await detail.textContent()).toContain('Attributes')
    await screenshot(page, 'trace')
    const shared = page.url()
    expect(shared).toContain('span=')
    const selected = await tree.locator('[aria-selected=true]').textContent()
    const other = await openPage(browser, errors)
    await other.goto(shared)
    await other.getByRole('tree', { name: 'Call tree' }).locator('[aria-selected=true]').waitFor()
    expect(await other.locator('[role=tree] [aria-selected=true]').textContent()).toBe(selected)
    await other.close()
  })

  it('shows a dropped order on its flow page: events from each system and the compensation that repaired it', async () => {
    await faults({ dropCallbackRate: 1 })
    const order = await placeOrder()
    await faults({ dropCallbackRate: 0 })
    await page.goto(ui(`/flows/${order.flowId}`))
    const everything = page.getByRole('table', { name: 'Everything that happened to the flow' })
    await eventually(async () => {
      await page.reload()
      await everything.waitFor({ timeout: 5000 })
      expect(await everything.textContent()).toContain('Compensation of a dropped')
    }, 90_000)
    const systems = page.getByLabel('Status in each system').locator('.card')
    expect(await systems.count()).toBeGreaterThanOrEqual(3)
    await screenshot(page, 'flow')
    await page.goto(ui('/flows'))
    await page.getByRole('table', { name: 'Flows' }).waitFor()
    await screenshot(page, 'flows')
  }, 120_000)

  it('shows the payment breaker open and its transitions', async () => {
    await faults({ errorRate: 1 })
    await eventually(async () => {
      for (let i = 0; i < 10; i++) await placeOrder()
      await page.goto(ui('/breakers'))
      const table = page.getByRole('table', { name: 'Breakers' })
      await table.waitFor({ timeout: 5000 })
      expect(await table.textContent()).toMatch(/OPEN/)
      expect(await page.getByRole('list', { name: /Transitions of/ }).count()).toBeGreaterThan(0)
    }, 60_000)
    await screenshot(page, 'breakers')
    await faults({ errorRate: 0 })
  }, 90_000)
})
