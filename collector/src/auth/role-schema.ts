import Type from 'typebox'

/** A role, as the API and reckon.yaml spell it (roles.ts says what each may do). */
export const RoleSchema = Type.Union([
  Type.Literal('ingest'),
  Type.Literal('viewer'),
  Type.Literal('operator'),
  Type.Literal('finance'),
  Type.Literal('admin'),
])
