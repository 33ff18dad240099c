// One execution of a subscription event for everyone who receives the same event.
//
// GraphQL executes the selection of a subscription once per event per subscriber. For the live
// quarantine that was the cost of a burst: 1,000 subscribers and 500 new messages allocated about
// 900 MB of execution garbage in a few seconds (measured with V8's sampling heap profiler), which V8
// answered by growing the heap past 400 MB. live.service.ts hands the same payload array to subscribers
// who see the same entries; this engine executes the selection once per payload and document, and every
// one of them gets that result.
//
// Only root fields listed in SHAREABLE_FIELDS take part: their resolve returns the payload and nothing
// under them reads the context, so the result depends on the payload and the selection alone. The
// selection must not use variables or directives (the root field's own arguments may hold variables:
// they only shape the source stream); any other operation runs through the ordinary executor.
import type { Plugin } from '@envelop/core';
import { useEngine } from '@envelop/core';
import { execute, normalizedExecutor } from '@graphql-tools/executor';
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  visit,
} from 'graphql';

const SHAREABLE_FIELDS = new Set(['quarantineEvents']);

// No directives in a shareable selection (so no @defer/@stream): execute gives one result.
type Executed = ExecutionResult | Promise<ExecutionResult>;

/** payload -> document -> operation name -> result; all of it goes with the payload. */
const executed = new WeakMap<object, WeakMap<DocumentNode, Map<string, Executed>>>();
const shareableDocuments = new WeakMap<DocumentNode, Map<string, OperationDefinitionNode | null>>();

/** The operation, when it subscribes to one shareable field with a selection free of variables. */
function shareableOperation(document: DocumentNode, operationName: string): OperationDefinitionNode | null {
  let byName = shareableDocuments.get(document);
  if (!byName) {
    byName = new Map();
    shareableDocuments.set(document, byName);
  }
  const known = byName.get(operationName);
  if (known !== undefined) return known;
  let answer: OperationDefinitionNode | null = null;
  const operation = getOperationAST(document, operationName || undefined);
  const [root, ...others] = operation?.selectionSet.selections ?? [];
  if (
    operation?.operation === 'subscription' &&
    others.length === 0 &&
    root?.kind === Kind.FIELD &&
    SHAREABLE_FIELDS.has(root.name.value) &&
    !root.directives?.length
  ) {
    let unshareable = false;
    const inspect = (node: Parameters<typeof visit>[0]) =>
      visit(node, {
        Variable: () => {
          unshareable = true;
        },
        Directive: () => {
          unshareable = true;
        },
      });
    if (root.selectionSet) inspect(root.selectionSet);
    // fragments used in the selection may use variables too
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) inspect(definition);
    }
    if (!unshareable) answer = operation;
  }
  byName.set(operationName, answer);
  return answer;
}

function executeOnce(args: ExecutionArgs, payload: unknown, operationName: string): Executed {
  const run = () => execute({ ...args, rootValue: payload }) as Executed;
  if (typeof payload !== 'object' || payload === null) return run();
  let byDocument = executed.get(payload);
  if (!byDocument) {
    byDocument = new WeakMap();
    executed.set(payload, byDocument);
  }
  let byName = byDocument.get(args.document);
  if (!byName) {
    byName = new Map();
    byDocument.set(args.document, byName);
  }
  const known = byName.get(operationName);
  if (known) return known;
  const result = run();
  byName.set(operationName, result);
  return result;
}

/** As the executor reports an error thrown by the source stream: located at the operation. */
function located(error: unknown, operation: OperationDefinitionNode): GraphQLError {
  const original = error instanceof Error ? error : new Error(String(error));
  return new GraphQLError(original.message, { originalError: original, nodes: [operation] });
}

/** The engine's subscribe: shareable operations execute each payload once, the others as usual. */
export async function subscribeSharing(args: ExecutionArgs) {
  const operationName = args.operationName ?? '';
  const operation = shareableOperation(args.document, operationName);
  if (!operation) return normalizedExecutor(args);
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const events = source as AsyncGenerator<unknown>;
  const iterator: AsyncGenerator<ExecutionResult> = {
    next: async () => {
      let step: IteratorResult<unknown>;
      try {
        step = await events.next();
      } catch (error) {
        throw located(error, operation);
      }
      if (step.done) return { done: true, value: undefined };
      // a copy: what later hooks do to one subscriber's result stays theirs
      return { done: false, value: { ...(await executeOnce(args, step.value, operationName)) } };
    },
    // straight to the source: it ends a stream that is waiting for its next event
    return: async (value) => {
      await events.return?.(value);
      return { done: true, value: undefined };
    },
    throw: async (error) => {
      await events.throw?.(error);
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    [Symbol.asyncDispose]: async () => {
      await events.return?.(undefined);
    },
  };
  return iterator;
}

/** The Yoga/envelop plugin: subscriptions go through subscribeSharing. */
export function useSharedSubscriptionEvents(): Plugin {
  return useEngine({ subscribe: subscribeSharing });
}
