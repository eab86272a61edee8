import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'

// The API a dev server forwards to: a running `reckon up` (npm start).
const api = process.env.RECKON_API ?? 'http://127.0.0.1:8318'

export default defineConfig({
  plugins: [svelte()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1000 },
  server: { proxy: { '/api': api } },
})
