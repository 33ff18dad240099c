import type { Column } from 'drizzle-orm';
import { type SQL, sql } from 'drizzle-orm';

/**
 * LIKE's escape character. Not the backslash: MariaDB also treats backslashes in string literals as
 * escapes, which makes '\\' mean different things to the two databases.
 */
export const LIKE_ESCAPE = '!';

/** Makes `text` match itself literally inside a LIKE pattern. */
export function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (c) => `${LIKE_ESCAPE}${c}`);
}

/** `column LIKE pattern ESCAPE '!'`, for text columns on both dialects; build `pattern` with escapeLike. */
export function likeEscaped(column: Column | SQL, pattern: string): SQL {
  return sql`${column} like ${pattern} escape '!'`;
}
