// The quarantine listing's behaviour, run against each database (PGlite, PostgreSQL, MariaDB).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { addMessage } from './factories.ts';
import { type Client, logInAs } from './graphql-client.ts';
import { startTestApp, type TestApp } from './test-app.ts';

export interface DatabaseUnderTest {
  env: Record<string, string>;
  /** Creates amavisd's tables the way an operator would, before the app starts. */
  prepare?(): Promise<void>;
  dispose(): Promise<void>;
}

const LIST = `
  query List($first: Int, $after: String, $last: Int, $before: String) {
    quarantine(first: $first, after: $after, last: $last, before: $before) {
      edges {
        cursor
        node {
          id mailId recipient envelopeSender fromHeader subject receivedAt size score
          content { code kind label }
          status { code kind label }
        }
      }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;

interface ListData {
  quarantine: {
    edges: {
      cursor: string;
      node: {
        id: string;
        mailId: string;
        recipient: string;
        envelopeSender: string;
        fromHeader: string;
        subject: string;
        receivedAt: string;
        size: number;
        score: number | null;
        content: { code: string; kind: string; label: string };
        status: { code: string; kind: string; label: string };
      };
    }[];
    pageInfo: {
      hasNextPage: boolean;
      hasPreviousPage: boolean;
      startCursor: string | null;
      endCursor: string | null;
    };
  };
}

const BASE = 1_790_000_000;

export function quarantineListingSuite(open: () => Promise<DatabaseUnderTest>): void {
  let database: DatabaseUnderTest;
  let app: TestApp;
  let admin: Client;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    app = await startTestApp(database.env);
    await createSuperadmin(
      app.stores.console,
      { email: 'root@admin.test', password: 'listing-password-1' },
      { onlyIfNoAccounts: true },
    );
    admin = await logInAs(app.url, 'root@admin.test', 'listing-password-1');
    const store = app.stores.amavis;
    ids.older = await addMessage(store, {
      timeNum: BASE,
      subject: 'older spam',
      recipients: [{ email: 'alice@example.com', content: 'S', score: 12.5 }],
    });
    ids.multi = await addMessage(store, {
      timeNum: BASE + 60,
      sender: 'bounce@sender.example',
      fromHeader: 'Jürgen <j@sender.example>',
      subject: 'Grüße ✓ to three',
      recipients: [
        { email: 'alice@example.com', content: 'Y', score: 5.5 },
        { email: 'bob@example.com', content: 'S', score: 7.25, rs: 'V' },
        { email: 'carol@example.org', content: 'S', score: null, rs: 'D' },
      ],
    });
    ids.logged = await addMessage(store, {
      timeNum: BASE + 120,
      subject: 'clean, logged only',
      content: 'C',
      quarantined: false,
      recipients: [{ email: 'alice@example.com', content: 'C', score: 0.1 }],
    });
    ids.processing = await addMessage(store, {
      timeNum: BASE + 180,
      subject: 'still being processed',
      content: null,
      quarantined: false,
      recipients: [{ email: 'alice@example.com', content: ' ' }],
    });
    ids.odd = await addMessage(store, {
      timeNum: BASE + 240,
      sender: '',
      subject: 'odd code',
      recipients: [{ email: 'dave@example.com', content: 'Q', rs: 'x' }],
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.dispose();
  });

  it('lists one entry per quarantined (message, recipient), newest first', async () => {
    const result = await admin.gql<ListData>(LIST, { first: 50 });
    expect(result.errors).toBeUndefined();
    const rows = result.data?.quarantine.edges.map((e) => [e.node.mailId, e.node.recipient]);
    expect(rows).toEqual([
      [ids.odd, 'dave@example.com'],
      [ids.multi, 'bob@example.com'],
      [ids.multi, 'alice@example.com'],
      [ids.older, 'alice@example.com'],
    ]);
  });

  it('shows envelope, headers, verdict and status the way amavisd wrote them', async () => {
    const result = await admin.gql<ListData>(LIST, { first: 50 });
    const nodes = result.data?.quarantine.edges.map((e) => e.node) ?? [];
    const bob = nodes.find((n) => n.recipient === 'bob@example.com');
    expect(bob).toMatchObject({
      envelopeSender: 'bounce@sender.example',
      fromHeader: 'Jürgen <j@sender.example>',
      subject: 'Grüße ✓ to three',
      receivedAt: new Date((BASE + 60) * 1000).toISOString(),
      score: 7.25,
      content: { code: 'S', kind: 'spam', label: 'Spam' },
      status: { code: 'V', kind: 'viewed' },
    });
    const alice = nodes.find((n) => n.mailId === ids.multi && n.recipient === 'alice@example.com');
    expect(alice?.content.kind).toBe('spammy');
    expect(alice?.status).toMatchObject({ code: ' ', kind: 'new' });
    const odd = nodes.find((n) => n.mailId === ids.odd);
    expect(odd).toMatchObject({
      envelopeSender: '',
      content: { code: 'Q', kind: 'unknown' },
      status: { code: 'x', kind: 'unknown' },
    });
  });

  it('pages with cursors forwards and backwards without gaps or repeats', async () => {
    const all = (await admin.gql<ListData>(LIST, { first: 50 })).data?.quarantine.edges.map((e) => e.node.id);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const result: { data?: ListData } = await admin.gql<ListData>(LIST, { first: 1, after });
      const connection = result.data?.quarantine;
      seen.push(...(connection?.edges.map((e) => e.node.id) ?? []));
      if (!connection?.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual(all);
    const lastTwo = await admin.gql<ListData>(LIST, { last: 2 });
    expect(lastTwo.data?.quarantine.edges.map((e) => e.node.id)).toEqual(all?.slice(-2));
    expect(lastTwo.data?.quarantine.pageInfo.hasPreviousPage).toBe(true);
  });

  it('refuses a forged cursor and an oversized page with a clear error', async () => {
    const forged = await admin.gql<ListData>(LIST, { first: 1, after: 'not-a-cursor' });
    expect(forged.errors?.[0]?.message).toMatch(/invalid cursor/);
    expect(forged.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const huge = await admin.gql<ListData>(LIST, { first: 100_000 });
    expect(huge.errors?.[0]?.message).toMatch(/first must be between 0 and 500/);
  });

  it('loads an entry by its global ID through node', async () => {
    const first = (await admin.gql<ListData>(LIST, { first: 1 })).data?.quarantine.edges[0]?.node;
    const result = await admin.gql<{ node: { id: string; subject: string } | null }>(
      'query($id: ID!) { node(id: $id) { id ... on QuarantinedMessage { subject } } }',
      { id: first?.id },
    );
    expect(result.data?.node).toEqual({ id: first?.id, subject: first?.subject });
  });
}
