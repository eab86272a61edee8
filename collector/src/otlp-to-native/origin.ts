// The resource and scope of log records and metric points, kept whole in each row's columns
// (attributes with their types, dropped counts, schema URLs), so they read back as sent.
import { SERVICE_NAME, UNKNOWN_SERVICE } from './semconv.js'
import type { Resource, Scope } from './types.js'
import { flattenAttributes, str, uint32, type FlatAttributes } from './values.js'

export interface ResourceOrigin {
  service: string
  attributes: FlatAttributes
  /** The row columns that hold the resource, as a JSON object's members (no braces). */
  json: string
}

export function resourceOrigin(
  resource: Resource | null | undefined,
  schemaUrl: string | null | undefined,
): ResourceOrigin {
  const attributes = flattenAttributes(resource?.attributes, 'resource.attributes')
  const columns = {
    resource_attributes: attributes.values,
    resource_attribute_types: attributes.types,
    resource_dropped_attributes: uint32(
      resource?.droppedAttributesCount,
      'resource.droppedAttributesCount',
    ),
    resource_schema_url: str(schemaUrl, 'schemaUrl'),
  }
  return {
    service: attributes.values[SERVICE_NAME] || UNKNOWN_SERVICE,
    attributes,
    json: JSON.stringify(columns).slice(1, -1),
  }
}

/** The row columns that hold the scope, as a JSON object's members (no braces). */
export function scopeOriginJson(
  scope: Scope | null | undefined,
  schemaUrl: string | null | undefined,
): string {
  const attributes = flattenAttributes(scope?.attributes, 'scope.attributes')
  return JSON.stringify({
    scope_name: str(scope?.name, 'scope.name'),
    scope_version: str(scope?.version, 'scope.version'),
    scope_attributes: attributes.values,
    scope_attribute_types: attributes.types,
    scope_dropped_attributes: uint32(scope?.droppedAttributesCount, 'scope.droppedAttributesCount'),
    scope_schema_url: str(schemaUrl, 'scope.schemaUrl'),
  }).slice(1, -1)
}

/** A row's JSON with the origin's members added. */
export const withOrigin = (row: object, ...origin: string[]): string =>
  `${JSON.stringify(row).slice(0, -1)},${origin.join(',')}}`
