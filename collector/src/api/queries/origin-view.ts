// The resource and scope of a log record or metric point, read back from its row's columns
// (otlp-to-native/origin.ts writes them) in the same shape the span view gives them.
import { typedMap, type TypedObject } from '../../otlp-to-native/typed-value.js'
import type { ScopeView } from './span-view.js'

/** The columns to select, in the names `OriginRow` reads. */
export const ORIGIN_COLUMNS = `resource_attributes, resource_attribute_types,
  resource_dropped_attributes, resource_schema_url, scope_name, scope_version, scope_attributes,
  scope_attribute_types, scope_dropped_attributes, scope_schema_url`

export interface OriginRow {
  resource_attributes: Record<string, string>
  resource_attribute_types: Record<string, string>
  resource_dropped_attributes: number
  resource_schema_url: string
  scope_name: string
  scope_version: string
  scope_attributes: Record<string, string>
  scope_attribute_types: Record<string, string>
  scope_dropped_attributes: number
  scope_schema_url: string
}

export interface OriginView {
  resource: TypedObject
  resourceDroppedAttributesCount: number
  resourceSchemaUrl: string
  scope: ScopeView
}

export function originView(r: OriginRow): OriginView {
  return {
    resource: typedMap(r.resource_attributes, r.resource_attribute_types),
    resourceDroppedAttributesCount: r.resource_dropped_attributes,
    resourceSchemaUrl: r.resource_schema_url,
    scope: {
      name: r.scope_name,
      version: r.scope_version,
      attributes: typedMap(r.scope_attributes, r.scope_attribute_types),
      droppedAttributesCount: r.scope_dropped_attributes,
      schemaUrl: r.scope_schema_url,
    },
  }
}
