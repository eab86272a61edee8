// Attribute filters as typed in one box ("http.status_code=500 region=eu") and as the API's
// query parameters (attr.http.status_code=500&attr.region=eu).

/** `key=value` pairs separated by spaces or commas; a value may be quoted to hold spaces. */
export function attributesFromText(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const re = /([^\s,=]+)=("([^"]*)"|[^\s,]*)/g
  for (const m of text.matchAll(re)) {
    const key = m[1]
    const value = m[3] ?? m[2] ?? ''
    if (key && value) out[`attr.${key}`] = value
  }
  return out
}

export function attributesToText(query: Record<string, string>): string {
  return Object.entries(query)
    .filter(([k]) => k.startsWith('attr.'))
    .map(([k, v]) => `${k.slice(5)}=${/[\s,]/.test(v) ? `"${v}"` : v}`)
    .join(' ')
}
