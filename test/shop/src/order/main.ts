import { envUrl, runService } from '../common/service.js'

await runService('order', async () => {
  const { orderApp } = await import('./app.js')
  return orderApp({
    paymentUrl: envUrl('PAYMENT_URL'),
    inventoryUrl: envUrl('INVENTORY_URL'),
    publicUrl: process.env.ORDER_PUBLIC_URL,
  })
})
