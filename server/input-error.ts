/**
 * Bad input from a caller (a malformed cursor, an out-of-range page size). Services throw it; the
 * GraphQL layer shows its message to the client, unlike unexpected errors, which are masked.
 */
export class InputError extends Error {
  override name = 'InputError';
}
