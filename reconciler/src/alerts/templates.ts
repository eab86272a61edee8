// Annotation templates: `{{value}}`, `{{labels.NAME}}` and `{{rule}}`, nothing else, so a
// template can neither run code nor fail at 3 a.m.; what it may name is checked at load.

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g
const KNOWN = /^(value|rule|labels\.[A-Za-z_][A-Za-z0-9_]*)$/

export interface TemplateData {
  value: string
  rule: string
  labels: Record<string, string>
}

/** The placeholders of a template that name nothing (empty when it is fine). */
export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '').filter((p) => !KNOWN.test(p))
}

/** The template with its placeholders filled; a label the alert lacks is empty. */
export function render(template: string, data: TemplateData): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    if (name === 'value') return data.value
    if (name === 'rule') return data.rule
    if (name.startsWith('labels.')) return data.labels[name.slice(7)] ?? ''
    return `{{${name}}}`
  })
}

export function renderAll(
  templates: Record<string, string>,
  data: TemplateData,
): Record<string, string> {
  return Object.fromEntries(Object.entries(templates).map(([k, t]) => [k, render(t, data)]))
}
