// Keyset paging shared by every list: Relay's first/after/last/before, validated once, and cursors
// that are opaque to clients but checked when they come back.
import { InputError } from '../input-error.ts';

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface PageRequest<C> {
  /** last/before: read in reverse order, then flip the page. */
  backwards: boolean;
  limit: number;
  cursor: C | undefined;
}

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

function size(value: number | null | undefined, name: string): number {
  if (value === null || value === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE_SIZE) {
    throw new InputError(`${name} must be between 0 and ${MAX_PAGE_SIZE}`);
  }
  return value;
}

/** Reads the page arguments; `decode` turns a cursor into the keyset values (InputError if bad). */
export function pageRequest<C>(args: PageArgs, decode: (cursor: string) => C): PageRequest<C> {
  if ((args.first != null || args.after != null) && (args.last != null || args.before != null)) {
    throw new InputError('page forwards (first/after) or backwards (last/before), not both');
  }
  const backwards = args.last != null || args.before != null;
  const cursorArg = backwards ? args.before : args.after;
  return {
    backwards,
    limit: backwards ? size(args.last, 'last') : size(args.first, 'first'),
    cursor: cursorArg ? decode(cursorArg) : undefined,
  };
}

/** Turns limit + 1 fetched rows into a page: the extra row only says whether more exist. */
export function pageOf<T>(rows: T[], request: PageRequest<unknown>): Page<T> {
  const more = rows.length > request.limit;
  const items = rows.slice(0, request.limit);
  if (request.backwards) items.reverse();
  const cursor = request.cursor !== undefined;
  return {
    items,
    hasNextPage: request.backwards ? cursor : more,
    hasPreviousPage: request.backwards ? more : cursor,
  };
}

/** A cursor for a row's keyset values (numbers and strings). */
export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/**
 * The keyset values of a cursor, checked against the expected kinds; anything else (a forged or
 * truncated cursor) is an InputError.
 */
export function decodeCursor<K extends readonly ('int' | 'string')[]>(
  cursor: string,
  kinds: K,
): { [I in keyof K]: K[I] extends 'int' ? number : string } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const valid =
    Array.isArray(value) &&
    value.length === kinds.length &&
    kinds.every((kind, i) =>
      kind === 'int' ? Number.isSafeInteger(value[i]) : typeof value[i] === 'string' && value[i].length > 0,
    );
  if (!valid) throw new InputError('invalid cursor: pass a cursor returned by this list');
  return value as never;
}
