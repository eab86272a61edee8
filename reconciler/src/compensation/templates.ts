// A compensation's HTTP calls as reckon.yaml writes them, with {{…}} placeholders filled from
// the finding: in the URL each value is URL-encoded (a key with a slash stays one path
// segment), in the JSON body each string is filled and the whole body serialised afterwards
// (so a quote in a key cannot break the JSON), in headers control characters are dropped.
// Which placeholders a call may use is known from the rule alone, so a misspelt one is a
// config error at load time, not a failed call at three in the morning.
import type { Category, HttpCall, SourceConfig } from '../config.js'

/** The values a finding offers its compensation. */
export interface TemplateValues {
  key: string
  /** A composite key's parts by column name (both sources' names). */
  keyParts: Record<string, string>
  left: SideValues
  right: SideValues
  findingId: string
  rule: string
}

export interface SideValues {
  /** Exact decimal text as the currency writes it; empty when the side has no record. */
  amount: string
  currency: string
  status: string
}

export interface RenderedCall {
  method: string
  url: string
  headers: Record<string, string>
  /** JSON text, when the call has a body. */
  body?: string
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g
const SIDE_FIELDS = ['amount', 'currency', 'status'] as const

/** The key's column names on a source, in key-part order (none for event sources). */
export function keyColumns(source: SourceConfig): string[] {
  const columns =
    'file' in source
      ? source.file.columns
      : 'postgres' in source
        ? source.postgres.columns
        : undefined
  if (!columns) return []
  return typeof columns.key === 'string' ? [columns.key] : columns.key
}

/** Which placeholders a rule's compensation of `category` may use. */
export function knownPlaceholders(
  keyNames: { left: string[]; right: string[] },
  category: Category,
): Map<string, string | undefined> {
  const known = new Map<string, string | undefined>([
    ['key', undefined],
    ['finding.id', undefined],
    ['rule', undefined],
  ])
  for (const name of [...keyNames.left, ...keyNames.right]) known.set(`key.${name}`, undefined)
  for (const side of ['left', 'right'] as const) {
    // A dropped finding has no right record and an orphan no left one: always empty.
    const absent =
      (side === 'right' && category === 'dropped') || (side === 'left' && category === 'orphan')
    for (const f of SIDE_FIELDS)
      known.set(
        `${side}.${f}`,
        absent
          ? `a${category === 'orphan' ? 'n' : ''} ${category} finding has no ${side} record`
          : undefined,
      )
  }
  return known
}

/** A placeholder problem at a path inside the call (`url`, `body.order.id`, `headers.x`). */
export interface TemplateProblem {
  path: (string | number)[]
  message: string
}

/** What is wrong with the placeholders of one call, for checkRules. */
export function callProblems(
  call: HttpCall,
  known: Map<string, string | undefined>,
): TemplateProblem[] {
  const problems: TemplateProblem[] = []
  const list = [...known.keys()].map((k) => `{{${k}}}`).join(', ')
  const check = (text: string, path: (string | number)[]): void => {
    for (const m of text.matchAll(PLACEHOLDER)) {
      const name = m[1] ?? ''
      if (!known.has(name)) {
        problems.push({ path, message: `unknown placeholder {{${name}}} (known: ${list})` })
        continue
      }
      const absent = known.get(name)
      if (absent) problems.push({ path, message: `{{${name}}} is always empty: ${absent}` })
    }
    const rest = text.replace(PLACEHOLDER, '')
    if (rest.includes('{{') || rest.includes('}}'))
      problems.push({ path, message: `an unbalanced {{ or }} in ${JSON.stringify(text)}` })
  }
  check(call.url, ['url'])
  for (const [name, value] of Object.entries(call.headers ?? {})) check(value, ['headers', name])
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (typeof value === 'string') check(value, path)
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]))
    else if (value !== null && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k])
  }
  if (call.body !== undefined) walk(call.body, ['body'])
  return problems
}

function lookup(values: TemplateValues, name: string): string {
  if (name === 'key') return values.key
  if (name === 'finding.id') return values.findingId
  if (name === 'rule') return values.rule
  if (name.startsWith('key.')) return values.keyParts[name.slice(4)] ?? ''
  const [side, field] = name.split('.') as [string, string]
  if ((side === 'left' || side === 'right') && (SIDE_FIELDS as readonly string[]).includes(field))
    return values[side][field as (typeof SIDE_FIELDS)[number]]
  // checkRules refused unknown names; a call is never sent with one left in.
  throw new Error(`unknown placeholder {{${name}}}`)
}

/** Fills one text; `encode` makes each value safe where it lands. */
export function fill(text: string, values: TemplateValues, encode = (v: string) => v): string {
  return text.replace(PLACEHOLDER, (_, name: string) => encode(lookup(values, name)))
}

function fillJson(value: unknown, values: TemplateValues): unknown {
  if (typeof value === 'string') return fill(value, values)
  if (Array.isArray(value)) return value.map((v) => fillJson(v, values))
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillJson(v, values)]))
  return value
}

/** The call as it goes out, every placeholder filled. */
export function renderCall(call: HttpCall, values: TemplateValues): RenderedCall {
  // eslint-disable-next-line no-control-regex
  const headerSafe = (v: string) => v.replace(/[\u0000-\u001f\u007f]/g, '')
  const headers = Object.fromEntries(
    Object.entries(call.headers ?? {}).map(([k, v]) => [
      k.toLowerCase(),
      fill(v, values, headerSafe),
    ]),
  )
  return {
    method: call.method,
    url: fill(call.url, values, encodeURIComponent),
    headers,
    ...(call.body !== undefined ? { body: JSON.stringify(fillJson(call.body, values)) } : {}),
  }
}
