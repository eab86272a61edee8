// Where the built UI lives, for the server that serves it (`reckon up`, `reckon collector`).
import { fileURLToPath } from 'node:url'

export const uiDir = fileURLToPath(new URL('./dist/', import.meta.url))
