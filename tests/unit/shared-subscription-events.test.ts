// The engine that executes a live event once for every subscriber who receives the same payload
// (server/graphql/shared-subscription-events.ts), on a small schema whose resolvers count their calls.
import {
  type ExecutionResult,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { subscribeSharing } from '../../server/graphql/shared-subscription-events.ts';

interface Item {
  name: string;
}

function fixture(payloads: readonly (readonly Item[])[], failWith?: Error) {
  const calls = { name: 0 };
  const ItemType = new GraphQLObjectType<Item>({
    name: 'Item',
    fields: {
      name: {
        type: GraphQLString,
        args: { prefix: { type: GraphQLString } },
        resolve: (item, args: { prefix?: string }) => {
          calls.name++;
          return `${args.prefix ?? ''}${item.name}`;
        },
      },
    },
  });
  const stream = {
    type: new GraphQLList(new GraphQLNonNull(ItemType)),
    args: { since: { type: GraphQLString } },
    subscribe: async function* () {
      for (const payload of payloads) yield payload;
      if (failWith) throw failWith;
    },
    resolve: (payload: unknown) => payload,
  };
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: { quarantineEvents: stream, otherEvents: stream },
    }),
  });
  return { schema, calls };
}

async function collect(iterable: unknown): Promise<ExecutionResult[]> {
  const out: ExecutionResult[] = [];
  for await (const result of iterable as AsyncIterable<ExecutionResult>) out.push(result);
  return out;
}

describe('shared subscription events', () => {
  const one = [{ name: 'a' }, { name: 'b' }];
  const two = [{ name: 'c' }];

  it('executes a payload once for every subscriber of the same selection, each getting its own result object', async () => {
    const { schema, calls } = fixture([one, two]);
    const document = parse('subscription S($since: String) { quarantineEvents(since: $since) { name } }');
    const [first, second] = await Promise.all(
      ['1', '2'].map(async (since) =>
        collect(await subscribeSharing({ schema, document, variableValues: { since } })),
      ),
    );
    const expected = [
      { data: { quarantineEvents: [{ name: 'a' }, { name: 'b' }] } },
      { data: { quarantineEvents: [{ name: 'c' }] } },
    ];
    expect(first).toEqual(expected);
    expect(second).toEqual(expected);
    expect(first?.[0]).not.toBe(second?.[0]);
    // three items, each resolved once although two subscribers received them
    expect(calls.name).toBe(3);
  });

  it('executes per subscriber when the selection uses variables or directives, or the field is not shareable', async () => {
    const queries = [
      'subscription($p: String) { quarantineEvents { name(prefix: $p) } }',
      'subscription { quarantineEvents { name @skip(if: false) } }',
      'subscription { otherEvents { name } }',
    ];
    for (const query of queries) {
      const { schema, calls } = fixture([one]);
      const document = parse(query);
      const results = await Promise.all(
        [0, 1].map(async () =>
          collect(await subscribeSharing({ schema, document, variableValues: { p: '>' } })),
        ),
      );
      expect(results[0]).toEqual(results[1]);
      expect(calls.name).toBe(4);
    }
  });

  it('reports an error of the source stream as a GraphQL error located at the operation', async () => {
    const { schema } = fixture([one], new Error('your session ended; log in again'));
    const document = parse('subscription { quarantineEvents { name } }');
    const iterator = (await subscribeSharing({ schema, document })) as AsyncIterator<ExecutionResult>;
    expect((await iterator.next()).done).toBe(false);
    const failure = await iterator.next().catch((error: unknown) => error);
    expect(failure).toMatchObject({
      message: 'your session ended; log in again',
      locations: [{ line: 1, column: 1 }],
      originalError: { message: 'your session ended; log in again' },
    });
  });

  it('ends the source stream when the subscriber leaves while it waits for an event', async () => {
    const { schema } = fixture([]);
    let ended = false;
    const field = schema.getSubscriptionType()?.getFields().quarantineEvents;
    if (field)
      field.subscribe = () => ({
        [Symbol.asyncIterator]() {
          return this;
        },
        next: () => new Promise<IteratorResult<unknown>>(() => {}),
        return: async () => {
          ended = true;
          return { done: true, value: undefined };
        },
      });
    const document = parse('subscription { quarantineEvents { name } }');
    const iterator = (await subscribeSharing({ schema, document })) as AsyncIterator<ExecutionResult>;
    void iterator.next();
    await iterator.return?.();
    expect(ended).toBe(true);
  });
});
