/**
 * The caller may not do this. Services throw it after auditing the attempt; the GraphQL layer shows it
 * with code FORBIDDEN (or UNAUTHENTICATED when nobody is logged in).
 */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
}
