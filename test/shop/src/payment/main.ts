import { runService } from '../common/service.js'

await runService('payment', async () => (await import('./app.js')).paymentApp())
