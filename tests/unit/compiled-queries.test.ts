// Repeated queries run compiled (graphql-jit): which executions are compiled, and that a compiled
// execution answers exactly what the general executor answered, errors included.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type DocumentNode, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { compiledQueryRuns, worthCompiling } from '../../server/graphql/compiled-queries.ts';
import { schema } from '../../server/schema.ts';
import { addAccount, addMessage } from '../support/factories.ts';
import { type Client, logInAs } from '../support/graphql-client.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

describe('which executions are compiled', () => {
  const run = (source: DocumentNode, operationName?: string, variableValues?: Record<string, unknown>) =>
    worthCompiling({ schema, document: source, operationName, variableValues });

  it('compiles a query the second time its document runs, never a mutation or subscription', () => {
    const query = parse('query Page { quarantine(first: 1) { edges { cursor } } }');
    expect(run(query)).toBe(false);
    expect(run(query)).toBe(true);
    expect(run(query, 'Page')).toBe(true);
    const mutation = parse('mutation { logOut }');
    expect(run(mutation)).toBe(false);
    expect(run(mutation)).toBe(false);
    const subscription = parse('subscription { quarantineEvents { __typename } }');
    expect(run(subscription)).toBe(false);
    expect(run(subscription)).toBe(false);
  });

  it('looks at the operation the request names in a document with several', () => {
    const document = parse('query Read { settings { selfService } } mutation Write { logOut }');
    run(document, 'Read');
    expect(run(document, 'Write')).toBe(false);
    expect(run(document, 'Read')).toBe(true);
  });

  it('leaves variables that do not coerce to the executor', () => {
    const document = parse('query($first: Int) { quarantine(first: $first) { edges { cursor } } }');
    run(document, undefined, { first: 1 });
    expect(run(document, undefined, { first: 2 })).toBe(true);
    expect(run(document, undefined, { first: 'two' })).toBe(false);
    expect(run(document, undefined, {})).toBe(true);
  });
});

/** The listing's document, named so that each test sends a document Yoga has not parsed before. */
const listing = (name: string) => `query ${name}($first: Int, $after: String, $filter: QuarantineFilter) {
  quarantine(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id mailId partitionTag recipientSequence recipient envelopeSender fromHeader subject
      receivedAt size score releaseRequested content { code kind label } status { code kind label } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount { value exact } } }`;

const MESSAGE = `query($id: ID!) { message(id: $id) {
  id status subject from { name address } to { address } date
  amavis { envelopeFrom envelopeTo quarantineId alerts }
  spam { isSpam score required tests { name score } }
  parts { partId parentPartId depth contentType }
  text htmlUrl rawUrl rawSize problems
  attachments { partId filename contentType size sha256 }
  headers { name value }
} }`;

describe('a compiled query answers what the executor answered', () => {
  let app: TestApp;
  let admin: Client;
  let alice: Client;
  let entryId: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-compiled-'));

  beforeAll(async () => {
    app = await startTestApp({ DATA_DIR: dir, DEMO_DATA: 'false' });
    await createSuperadmin(
      app.stores.console,
      { email: 'root@admin.test', password: 'compiled-password-1' },
      { onlyIfNoAccounts: true },
    );
    await addAccount(app.stores.console, {
      email: 'alice@example.com',
      password: 'compiled-password-2',
      role: 'user',
    });
    for (let i = 0; i < 7; i++) {
      await addMessage(app.stores.amavis, {
        timeNum: 1_790_000_000 + i * 60,
        subject: `=?utf-8?q?caf=C3=A9_${i}?=`,
        fromHeader: `"Sender ${i}" <s${i}@example.net>`,
        recipients: [{ email: i % 2 ? 'alice@example.com' : 'bob@example.com', content: i % 3 ? 'S' : 'V' }],
      });
    }
    admin = await logInAs(app.url, 'root@admin.test', 'compiled-password-1');
    alice = await logInAs(app.url, 'alice@example.com', 'compiled-password-2');
    const first = await admin.gql<{ quarantine: { edges: { node: { id: string } }[] } }>(
      '{ quarantine(first: 1) { edges { node { id } } } }',
    );
    entryId = first.data?.quarantine.edges[0]?.node.id ?? '';
    expect(entryId).not.toBe('');
  });

  afterAll(async () => {
    await app?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The same request three times: the first through the executor, the others compiled. */
  async function thrice(client: Client, query: string, variables?: Record<string, unknown>) {
    const before = compiledQueryRuns.count;
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await client.gql(query, variables));
    return { answers, compiled: compiledQueryRuns.count - before };
  }

  it.each([
    ['a page of the listing with every field and the count', listing('Page'), { first: 3 }],
    ['a filtered page', listing('Filtered'), { first: 2, filter: { contentKinds: ['spam'] } }],
    ['the settings', '{ settings { selfService } }', undefined],
  ])('%s', async (_name, query, variables) => {
    const { answers, compiled } = await thrice(admin, query, variables);
    expect(compiled).toBe(2);
    expect(answers[0]?.errors).toBeUndefined();
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it('a message opened by an admin, headers decoded', async () => {
    const { answers, compiled } = await thrice(admin, MESSAGE, { id: entryId });
    expect(compiled).toBe(2);
    const data = answers[0]?.data as { message: { subject: string } | null } | undefined;
    expect(data?.message?.subject).toMatch(/^café \d$/);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it('scoping: a user sees their own entries only, compiled or not', async () => {
    const { answers, compiled } = await thrice(alice, listing('Own'), { first: 10 });
    expect(compiled).toBe(2);
    const data = answers[0]?.data as { quarantine: { edges: { node: { recipient: string } }[] } } | undefined;
    const recipients = data?.quarantine.edges.map((e) => e.node.recipient) ?? [];
    expect(recipients.length).toBe(3);
    expect(new Set(recipients)).toEqual(new Set(['alice@example.com']));
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it.each([
    ['a field the caller may not read', 'alice', '{ accounts(first: 5) { edges { node { email } } } }', {}],
    ['a bad cursor', 'admin', listing('BadCursor'), { first: 2, after: 'not-a-cursor' }],
    ['a page size out of range', 'admin', listing('TooMany'), { first: 100_000 }],
    ['a variable of the wrong type', 'admin', listing('WrongType'), { first: 'ten' }],
    [
      'an unknown enum value in a variable',
      'admin',
      listing('BadEnum'),
      { filter: { contentKinds: ['nope'] } },
    ],
  ])('errors: %s', async (_name, who, query, variables) => {
    const { answers } = await thrice(who === 'alice' ? alice : admin, query, variables);
    expect(answers[0]?.errors?.length).toBeGreaterThan(0);
    expect(JSON.stringify(answers[0])).not.toMatch(/\bat .*\.ts:\d+/);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it('mutations keep running through the executor', async () => {
    const { answers, compiled } = await thrice(
      admin,
      'mutation($input: UpdateMyPreferencesInput!) { updateMyPreferences(input: $input) { pageSize } }',
      { input: { pageSize: 25 } },
    );
    expect(compiled).toBe(0);
    expect(answers[2]).toEqual(answers[0]);
  });
});
