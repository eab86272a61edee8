import { runService } from '../common/service.js'

await runService('inventory', async () => (await import('./app.js')).inventoryApp())
