/** Raised for a value that cannot be stored; the message names the field. */
export class InvalidField extends Error {
  override name = 'InvalidField'
}
