// reckon.yaml is composed of the components' sections: each component declares its top-level
// keys (schema, defaults, environment variables), and the CLI puts together the sections of
// the components it runs, so an error still names the file, the key and the variable.
import Type, { type Static, type TObject, type TProperties } from 'typebox'

/** Environment variables and the config key each one sets. */
export type EnvKeys = Record<string, { path: string[]; type: 'string' | 'integer' | 'list' }>

/** One component's part of reckon.yaml. */
export interface ConfigSection<P extends TProperties = TProperties> {
  /** The component, for errors about the composition itself. */
  component: string
  properties: P
  defaults: Static<TObject<P>>
  env: EnvKeys
}

/** The whole of reckon.yaml for a process: what `loadConfig` validates against. */
export interface ComposedConfig<T> {
  schema: TObject
  defaults: T
  env: EnvKeys
}

/**
 * The sections of the components a process runs, as one schema. `T` is the type of the
 * result (the intersection of the sections' types); a key two sections claim is a mistake.
 */
export function composeConfig<T>(sections: readonly ConfigSection[]): ComposedConfig<T> {
  const properties: TProperties = {}
  const defaults: Record<string, unknown> = {}
  const env: EnvKeys = {}
  const owner = new Map<string, string>()
  for (const s of sections) {
    for (const key of [...Object.keys(s.properties), ...Object.keys(s.env)]) {
      const other = owner.get(key)
      if (other) throw new Error(`config key ${key} is claimed by ${other} and ${s.component}`)
      owner.set(key, s.component)
    }
    Object.assign(properties, s.properties)
    Object.assign(defaults, s.defaults)
    Object.assign(env, s.env)
  }
  return {
    schema: Type.Object(properties, { additionalProperties: false }),
    defaults: defaults as T,
    env,
  }
}
