// What a client sees of an error (maskError) and what the log keeps of it (errorCauses).
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../server/access/forbidden-error.ts';
import { isLockConflict } from '../../server/db/database.ts';
import { errorCauses, maskError } from '../../server/graphql/errors.ts';
import { InputError } from '../../server/input-error.ts';

/** A driver error as mysql2 throws it, wrapped the way drizzle wraps a failed query. */
function failedQuery(code: string, message: string, errno?: number): Error {
  const driver = Object.assign(new Error(message), { code, errno });
  return new Error(
    'Failed query: insert into `wblist` (`rid`, `sid`, `wb`) values (?, ?, ?)\nparams: 1,7,B',
    {
      cause: driver,
    },
  );
}

const resolverError = (original: Error) =>
  new GraphQLError(original.message, { path: ['setSenderListEntry'], originalError: original });

describe('maskError', () => {
  it('hides what the server got wrong, keeping where it happened', () => {
    const masked = maskError(
      resolverError(failedQuery('ER_LOCK_DEADLOCK', 'Deadlock found')),
      'Unexpected error.',
    );
    expect(masked).toBeInstanceOf(GraphQLError);
    expect((masked as GraphQLError).message).toBe('Unexpected error.');
    expect((masked as GraphQLError).path).toEqual(['setSenderListEntry']);
    expect((masked as GraphQLError).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });

  it('keeps what the caller did wrong', () => {
    const input = maskError(
      resolverError(new InputError('score: between -999 and 999')),
      'x',
    ) as GraphQLError;
    expect([input.message, input.extensions.code]).toEqual(['score: between -999 and 999', 'BAD_USER_INPUT']);
    const denied = maskError(resolverError(new ForbiddenError('not yours')), 'x') as GraphQLError;
    expect([denied.message, denied.extensions.code]).toEqual(['not yours', 'FORBIDDEN']);
  });
});

describe('errorCauses', () => {
  it("names the driver's error under a failed query", () => {
    const error = resolverError(
      failedQuery('ER_LOCK_DEADLOCK', 'Deadlock found when trying to get lock\nmore'),
    );
    expect(errorCauses([error])).toEqual(['ER_LOCK_DEADLOCK: Deadlock found when trying to get lock']);
  });

  it('says nothing for errors without a cause', () => {
    expect(errorCauses([new GraphQLError('Cannot query field "x"'), 'text', null])).toEqual([]);
  });
});

describe('isLockConflict', () => {
  it('knows the deadlock and serialization codes of both dialects, however wrapped', () => {
    expect(isLockConflict(failedQuery('ER_LOCK_DEADLOCK', 'Deadlock', 1213))).toBe(true);
    expect(isLockConflict(failedQuery('40P01', 'deadlock detected'))).toBe(true);
    expect(isLockConflict(failedQuery('40001', 'could not serialize access'))).toBe(true);
    expect(isLockConflict(failedQuery('ER_DUP_ENTRY', 'Duplicate entry', 1062))).toBe(false);
    expect(isLockConflict(new Error('plain'))).toBe(false);
    expect(isLockConflict('ER_LOCK_DEADLOCK')).toBe(false);
  });
});
