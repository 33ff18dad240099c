import { GraphQLError } from 'graphql';
import type { YogaServerOptions } from 'graphql-yoga';
import { InputError } from '../input-error.ts';

type MaskError = NonNullable<
  Exclude<YogaServerOptions<object, object>['maskedErrors'], boolean | undefined>
>['maskError'];

/**
 * Errors the caller caused keep their message (with code BAD_USER_INPUT); everything else becomes
 * "Unexpected error." so no stack trace or SQL reaches a client.
 */
export const maskError: NonNullable<MaskError> = (error, message) => {
  // Resolver errors arrive wrapped in a GraphQLError, sometimes twice; look at the innermost one.
  let original: unknown = error;
  while (
    original instanceof Error &&
    'originalError' in original &&
    original.originalError instanceof Error
  ) {
    original = original.originalError;
  }
  if (original instanceof InputError) {
    return new GraphQLError(original.message, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  if (error instanceof GraphQLError && !error.originalError) return error;
  return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
};
