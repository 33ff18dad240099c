// Queries a client sends again and again run as compiled JavaScript (graphql-jit) instead of through the
// general executor.
//
// Why: a quarantine page of 50 entries is about 1,100 field executions. The general executor builds a
// path, an info object and an arguments object for each, about 1.4 MB of garbage per page (V8's sampling
// heap profiler, bench data); V8 then stopped the console for a young-generation collection every fourth
// page. A compiled query allocates about a third of that (1.41 -> 0.51 MB per executed page, in process)
// and runs the same resolvers (Pothos' auth, errors and dataloader wrappers included): the page answers
// sooner, and with a third of the allocation, which is what triggers those collections, they come about
// a third as often (issue 4's GraphQL-over-HTTP bar).
//
// Only queries are compiled: mutations run once per user action and subscriptions have their own shared
// execution (shared-subscription-events.ts). A document is compiled the second time it runs, so a
// client sending endless distinct documents costs validation, not compilation: what a client repeats
// (the web app's and scripts' fixed documents) is what gets compiled. Compiled documents live as long as
// Yoga's parse cache keeps the document (the cache is keyed by the parsed document itself).
import type { Plugin } from '@envelop/core';
import { useGraphQlJit } from '@envelop/graphql-jit';
import {
  type DocumentNode,
  defaultFieldResolver,
  GraphQLError,
  GraphQLObjectType,
  type GraphQLSchema,
  getOperationAST,
  getVariableValues,
  type SourceLocation,
} from 'graphql';
import type { Logger } from '../log.ts';

const seen = new WeakSet<DocumentNode>();

/**
 * Takes graphql-js' default resolver off the fields that have exactly it (what Pothos gives exposed
 * fields), leaving them with none. Both executors then read the property themselves, but graphql-jit
 * only inlines that read for a field without a resolver: with one, every field of every entry is a
 * resolver call with its own path and info objects (on a page of 50 entries, about 750 of them).
 * A field that a plugin wrapped (auth scopes, errors, dataloaders) has another resolver and is left
 * alone; so is any field whose parent hands it a method, as no type here does (the compiled-query
 * test compares both executors' answers).
 */
export function withInlinedDefaultResolvers(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.resolve === defaultFieldResolver) field.resolve = undefined;
    }
  }
  return schema;
}

/** How many executions ran compiled in this process (tests read it to see which path ran). */
export const compiledQueryRuns = { count: 0 };

export interface Execution {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
}

/**
 * Whether this execution should run compiled: a query whose document ran before, with variables that
 * coerce. Variables that don't are left to the executor, which words those errors as clients know them
 * (graphql-jit phrases them differently and without locations).
 */
export function worthCompiling({ schema, document, operationName, variableValues }: Execution): boolean {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (operation?.operation !== 'query') return false;
  if (!seen.has(document)) {
    seen.add(document);
    return false;
  }
  const definitions = operation.variableDefinitions ?? [];
  if (definitions.length > 0 && getVariableValues(schema, definitions, variableValues ?? {}).errors)
    return false;
  return true;
}

/** The offset in `body` of a 1-based line and column, lines split as graphql-js splits them. */
function offsetOf(body: string, { line, column }: SourceLocation): number {
  let offset = 0;
  const breaks = /\r\n|[\n\r]/g;
  for (let at = 1; at < line; at++) {
    const found = breaks.exec(body);
    if (!found) break;
    offset = found.index + found[0].length;
  }
  return offset + column - 1;
}

/**
 * graphql-jit's errors say where they happened as line and column, without the source they refer to.
 * Yoga rebuilds every error it sends from its source and positions, so such an error would reach the
 * client without its locations; give it the document's source and the positions of its locations.
 */
function locatedInSource(error: GraphQLError, document: DocumentNode): GraphQLError {
  const source = document.loc?.source;
  if (!source || error.source || !error.locations?.length) return error;
  return new GraphQLError(error.message, {
    source,
    positions: error.locations.map((location) => offsetOf(source.body, location)),
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

export function useCompiledQueries(log: Logger): Plugin {
  const jit = useGraphQlJit(
    {},
    {
      // The document was validated, so this is graphql-jit's limit, not the client's mistake: the query
      // answers with the compiler's errors (the plugin's behaviour) and the log says which.
      onError: (result) => log.error({ errors: result.errors }, 'graphql-jit could not compile a query'),
    },
  );
  return {
    onExecute(payload) {
      if (!worthCompiling(payload.args)) return;
      compiledQueryRuns.count++;
      jit.onExecute?.(payload);
      return {
        onExecuteDone: ({ result, setResult }) => {
          if (!('errors' in result) || !result.errors?.length) return;
          const { document } = payload.args;
          setResult({ ...result, errors: result.errors.map((error) => locatedInSource(error, document)) });
        },
      };
    },
  };
}
