import type { Storage } from '../storage/client.js'

export type Params = Record<string, unknown>

/**
 * Runs a read query. Input only ever arrives through `{name:Type}` parameters; the SQL text
 * is fixed fragments plus the validated database name. Every read is capped in time.
 */
function run(
  storage: Storage,
  sql: string,
  params: Params,
  timeoutSeconds: number,
  settings: readonly OutputSetting[] = [],
) {
  const more = settings.map((s) => `, ${s} = 1`).join('')
  return storage.client.query({
    query: `${sql}\nSETTINGS max_execution_time = ${Math.trunc(timeoutSeconds)}, output_format_json_quote_64bit_integers = 1${more}`,
    query_params: params,
    format: 'JSONEachRow',
  })
}

/**
 * Output settings a read may turn on. `output_format_json_quote_denormals`: NaN and the
 * infinities as "nan", "inf" and "-inf" (else null, which cannot be told from a null).
 */
export type OutputSetting = 'output_format_json_quote_denormals'

/** A read query's rows. */
export async function select<T>(
  storage: Storage,
  sql: string,
  params: Params,
  timeoutSeconds: number,
  settings?: readonly OutputSetting[],
): Promise<T[]> {
  return (await run(storage, sql, params, timeoutSeconds, settings)).json<T>()
}

/** A read query's rows one by one as they arrive, for results too large to hold twice. */
export async function* selectStream<T>(
  storage: Storage,
  sql: string,
  params: Params,
  timeoutSeconds: number,
): AsyncGenerator<T> {
  const rs = await run(storage, sql, params, timeoutSeconds)
  for await (const rows of rs.stream<T>()) for (const row of rows) yield row.json()
}

/** A [from, to] window in Unix nanoseconds (decimal strings, exact). */
export interface Window {
  from: string
  to: string
}

/** SQL condition that keeps `column` inside the window given as {from}/{to} parameters. */
export const inWindow = (column: string): string =>
  `${column} >= fromUnixTimestamp64Nano({from:Int64}, 'UTC') AND ${column} <= fromUnixTimestamp64Nano({to:Int64}, 'UTC')`

/** `toUnixTimestamp64Nano` as text, so 19-digit nanoseconds survive JSON. */
export const nanos = (column: string): string => `toString(toUnixTimestamp64Nano(${column}))`

/**
 * A query's conditions and their parameters, built together so a condition never goes out
 * without its value (or the other way round). Starts inside the window on `timeColumn`.
 */
export class Filter {
  readonly params: Params
  private readonly conditions: string[]

  constructor(window: Window, timeColumn = 'timestamp', params: Params = {}) {
    this.params = { from: window.from, to: window.to, ...params }
    this.conditions = [inWindow(timeColumn)]
  }

  /** A condition that takes no value of the caller's. */
  and(condition: string): this {
    this.conditions.push(condition)
    return this
  }

  /** `column = {name:type}`, when a value is given. */
  equals(column: string, name: string, value: unknown, type = 'String'): this {
    return this.when(`${column} = {${name}:${type}}`, { [name]: value })
  }

  /** `condition` with the parameters it names, unless a value is undefined (no filter). */
  when(condition: string, values: Params): this {
    if (Object.values(values).some((v) => v === undefined)) return this
    Object.assign(this.params, values)
    return this.and(condition)
  }

  /** The conditions for a WHERE clause. */
  get sql(): string {
    return this.conditions.join(' AND ')
  }
}
