export { ConfigError, loadConfig } from './load.js'
export type { DeepPartial, LoadOptions } from './load.js'
export { ConfigSchema, DEFAULTS, ENV_KEYS } from './schema.js'
export type { Config } from './schema.js'
