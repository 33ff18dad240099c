import { GraphQLError } from 'graphql';
import type { YogaServerOptions } from 'graphql-yoga';
import { ForbiddenError } from '../access/forbidden-error.ts';
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
  // Keep where the error happened (path, locations), replace what it says.
  const located = (text: string, extensions: Record<string, unknown>) =>
    new GraphQLError(text, {
      ...(error instanceof GraphQLError
        ? { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path }
        : {}),
      extensions,
    });
  if (original instanceof InputError) return located(original.message, { code: 'BAD_USER_INPUT' });
  if (original instanceof ForbiddenError) return located(original.message, { code: 'FORBIDDEN' });
  // GraphQLErrors are deliberate (validation, scope-auth's UNAUTHENTICATED/FORBIDDEN): keep them.
  if (original instanceof GraphQLError) {
    return error === original ? original : located(original.message, { ...original.extensions });
  }
  return located(message, { code: 'INTERNAL_SERVER_ERROR' });
};

/**
 * Errors a client is expected to handle come back as members of a result union, next to the payload.
 * `types` are error classes registered with builder.objectType (see errorType in graphql/error-types.ts).
 */
export function resultUnion(name: string, description: string, types: (new (...args: never[]) => Error)[]) {
  return { types, directResult: true, union: { name, description } } as const;
}

/**
 * What lies under the errors yoga logs: a failed query's message names the SQL, but why it failed (a
 * deadlock, a lost connection) is the driver's error in `cause`. One line each, code first.
 */
export function errorCauses(args: readonly unknown[]): string[] {
  const causes: string[] = [];
  for (const arg of args) {
    let e: unknown = arg instanceof GraphQLError && arg.originalError ? arg.originalError : arg;
    for (let depth = 0; e instanceof Error && depth < 4; depth++) {
      if (e.cause instanceof Error) {
        const code = (e.cause as { code?: unknown }).code;
        causes.push(`${typeof code === 'string' ? `${code}: ` : ''}${e.cause.message.split('\n')[0]}`);
      }
      e = e instanceof GraphQLError && e.originalError ? e.originalError : e.cause;
    }
  }
  return causes;
}
