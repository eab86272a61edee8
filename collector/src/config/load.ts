import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import Value from 'typebox/value'
import { isNode, LineCounter, parse as parseYaml, parseDocument } from 'yaml'
import { COLLECTOR_ONLY, type Config } from './schema.js'
import type { ComposedConfig, EnvKeys } from './section.js'

/** A configuration problem; the message names the file or variable and the key. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

export interface LoadOptions<T = Config> {
  /** Path of the YAML file; default `reckon.yaml` in the working directory (optional). */
  file?: string
  env?: NodeJS.ProcessEnv
  /** Explicit values that win over file and environment (tests, CLI flags). */
  overrides?: DeepPartial<T>
  /** The sections of the components this process runs (default: the collector's alone). */
  sections?: ComposedConfig<T>
}

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[]
    ? T[K]
    : T[K] extends object
      ? DeepPartial<T[K]>
      : T[K]
}

type Json = Record<string, unknown>

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base }
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue
    const current = out[k]
    out[k] = isObject(current) && isObject(v) ? merge(current, v) : v
  }
  return out
}

function readFile(path: string, required: boolean): Json {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new ConfigError(`${path}: cannot read (${(err as Error).message})`)
  }
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML (${(err as Error).message})`)
  }
  if (doc === null || doc === undefined) return {}
  if (!isObject(doc)) throw new ConfigError(`${path}: must be a mapping of keys to values`)
  return doc
}

function fromEnv(env: NodeJS.ProcessEnv, keys: EnvKeys): Json {
  let out: Json = {}
  for (const [name, { path, type }] of Object.entries(keys)) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    let value: unknown = raw
    if (type === 'integer') {
      if (!/^-?\d+$/.test(raw.trim())) {
        throw new ConfigError(`${name}: must be a whole number, got ${JSON.stringify(raw)}`)
      }
      value = Number(raw.trim())
    } else if (type === 'list') {
      value = raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')
    }
    const nested = path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value) as Json
    out = merge(out, nested)
  }
  return out
}

function describe(
  keys: EnvKeys,
  source: string,
  instancePath: string,
  message: string,
  value: unknown,
): string {
  const key = instancePath.replace(/^\//, '').replaceAll('/', '.') || '(top level)'
  // A list's item (allowedHosts.0) is named by the variable of the list.
  const envName = Object.entries(keys).find(([, e]) =>
    [key, key.replace(/\.\d+$/, '')].includes(e.path.join('.')),
  )?.[0]
  const where = source === 'environment' && envName ? envName : `${source}: ${key}`
  const got = value === undefined ? '' : ` (got ${JSON.stringify(value)})`
  return `${where} ${message}${got}`
}

function valueAt(doc: unknown, instancePath: string): unknown {
  let cur = doc
  for (const part of instancePath.split('/').filter(Boolean)) {
    if (Array.isArray(cur)) cur = cur[Number(part)]
    else if (isObject(cur)) cur = cur[part]
    else return undefined
  }
  return cur
}

/** Defaults, then `reckon.yaml`, then environment, then overrides; validated as a whole. */
export function loadConfig<T = Config>(opts: LoadOptions<T> = {}): T {
  const {
    schema,
    defaults,
    env: envKeys,
  } = (opts.sections ?? COLLECTOR_ONLY) as unknown as ComposedConfig<T>
  const env = opts.env ?? process.env
  const file = resolve(opts.file ?? env.RECKON_CONFIG ?? 'reckon.yaml')
  const fromFile = readFile(file, opts.file !== undefined || env.RECKON_CONFIG !== undefined)
  const layers: [string, Json][] = [
    [file, fromFile],
    ['environment', fromEnv(env, envKeys)],
    ['overrides', opts.overrides ?? {}],
  ]
  let merged = defaults as unknown as Json
  for (const [source, layer] of layers) {
    merged = merge(merged, layer)
    const errors = [...Value.Errors(schema, merged)].filter(
      (e) => valueAt(layer, e.instancePath) !== undefined || e.keyword === 'additionalProperties',
    )
    const first = errors.find((e) => e.keyword !== 'boolean') ?? errors[0]
    if (first) {
      const extra =
        first.keyword === 'additionalProperties'
          ? unknownKey(schema, layer, first.instancePath)
          : describe(
              envKeys,
              source,
              first.instancePath,
              first.message,
              valueAt(layer, first.instancePath),
            )
      throw new ConfigError(extra)
    }
  }
  if (!Value.Check(schema, merged)) throw new ConfigError('configuration is invalid')
  return merged
}

/** The keys the schema allows in the object at `instancePath`. */
function keysAt(schema: unknown, instancePath: string): string[] {
  let cur = schema
  for (const part of instancePath.split('/').filter(Boolean)) {
    cur = isObject(cur) && isObject(cur.properties) ? cur.properties[part] : undefined
  }
  return isObject(cur) && isObject(cur.properties) ? Object.keys(cur.properties) : []
}

function unknownKey(schema: unknown, layer: Json, instancePath: string): string {
  const parent = valueAt(layer, instancePath)
  const keys = isObject(parent) ? Object.keys(parent) : []
  const allowed = new Set(keysAt(schema, instancePath))
  const bad = keys.find((k) => !allowed.has(k)) ?? '?'
  const prefix = instancePath.replace(/^\//, '').replaceAll('/', '.')
  return `unknown configuration key ${prefix ? `${prefix}.` : ''}${bad}`
}

/**
 * "reckon.yaml:12" for the key at `path` in the config file, or the file alone when the key is
 * not written there (a default, an environment variable): where an error should point.
 */
export function locate(
  path: readonly (string | number)[],
  opts: { file?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const env = opts.env ?? process.env
  const file = resolve(opts.file ?? env.RECKON_CONFIG ?? 'reckon.yaml')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return 'configuration'
  }
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  // The deepest part of the path the file holds.
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true)
    if (isNode(node) && node.range) return `${file}:${lines.linePos(node.range[0]).line}`
  }
  return file
}
