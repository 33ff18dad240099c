// The quarantine listing's behaviour, run against each database (PGlite, PostgreSQL, MariaDB):
// filters, sort orders, keyset paging, bounded counts and partition tags, through the GraphQL API.

import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../server/access/actor.ts';
import { acceleratorUsable, installAccelerator } from '../../server/amavis/listing-accelerator.ts';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import {
  countQuarantine,
  listQuarantine,
  type QuarantineFilter,
  type QuarantineSort,
  type SortField,
} from '../../server/features/quarantine/quarantine.service.ts';
import { DEFAULT_SETTINGS } from '../../server/features/settings/settings.service.ts';
import { InputError } from '../../server/input-error.ts';
import { addAccount, addMessage, randomMailId } from './factories.ts';
import { type Client, logInAs } from './graphql-client.ts';
import { startTestApp, type TestApp } from './test-app.ts';

export interface DatabaseUnderTest {
  env: Record<string, string>;
  /** Creates amavisd's tables the way an operator would, before the app starts. */
  prepare?(): Promise<void>;
  dispose(): Promise<void>;
}

const LIST = `
  query List($first: Int, $after: String, $last: Int, $before: String, $filter: QuarantineFilter,
             $sort: QuarantineSort) {
    quarantine(first: $first, after: $after, last: $last, before: $before, filter: $filter, sort: $sort) {
      edges {
        cursor
        node {
          id mailId partitionTag recipient envelopeSender fromHeader subject receivedAt size score
          releaseRequested
          content { code kind label }
          status { code kind label }
        }
      }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;

const COUNT = `
  query Count($filter: QuarantineFilter, $upTo: Int) {
    quarantine(first: 1, filter: $filter) { totalCount(upTo: $upTo) { value exact } }
  }`;

interface Node {
  id: string;
  mailId: string;
  partitionTag: number;
  recipient: string;
  envelopeSender: string;
  fromHeader: string;
  subject: string;
  receivedAt: string;
  size: number;
  score: number | null;
  releaseRequested: boolean;
  content: { code: string; kind: string; label: string };
  status: { code: string; kind: string; label: string };
}

interface ListData {
  quarantine: {
    edges: { cursor: string; node: Node }[];
    pageInfo: {
      hasNextPage: boolean;
      hasPreviousPage: boolean;
      startCursor: string | null;
      endCursor: string | null;
    };
  };
}

const BASE = 1_790_000_000;

/** What the test wrote for one listed entry, to compute the expected orders independently. */
interface Expected {
  label: string;
  partitionTag: number;
  mailId: string;
  rseqnum: number;
  timeNum: number;
  score: number | null;
  fromHeader: string;
  subject: string;
  recipient: string;
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The documented order: key, then (partition_tag, mail_id, rseqnum), all in the same direction. */
function expectedOrder(rows: Expected[], field: SortField, direction: 'asc' | 'desc'): string[] {
  const key = (a: Expected, b: Expected): number => {
    switch (field) {
      case 'date':
        return a.timeNum - b.timeNum;
      case 'score':
        // no score ranks below every score
        if (a.score === null || b.score === null)
          return (a.score === null ? 0 : 1) - (b.score === null ? 0 : 1);
        return a.score - b.score;
      case 'sender':
        return utf8Compare(a.fromHeader.toLowerCase(), b.fromHeader.toLowerCase());
      case 'recipient':
        return utf8Compare(a.recipient, b.recipient);
      case 'subject':
        return utf8Compare(a.subject.toLowerCase(), b.subject.toLowerCase());
    }
  };
  const sorted = [...rows].sort(
    (a, b) =>
      key(a, b) ||
      a.partitionTag - b.partitionTag ||
      utf8Compare(a.mailId, b.mailId) ||
      a.rseqnum - b.rseqnum,
  );
  if (direction === 'desc') sorted.reverse();
  return sorted.map((row) => row.label);
}

const SUPERADMIN_ACTOR: Actor = {
  kind: 'account',
  accountId: 1,
  email: 'root@admin.test',
  role: 'superadmin',
  addresses: [],
  othersAddresses: [],
  domains: [],
  access: 'full',
  via: 'session',
};

export interface SuiteOptions {
  /**
   * Install the listing accelerator before any mail arrives: its triggers must index every row the
   * factories write (in their order: msgs, msgrcpt, quarantine) and every date-ordered answer must stay
   * exactly the same.
   */
  accelerated?: boolean;
}

/** Stands in for `it` where a test does not apply, so nothing is registered (not even as skipped). */
const notRegistered = (..._args: Parameters<typeof it>) => {};

export function quarantineListingSuite(
  open: () => Promise<DatabaseUnderTest>,
  options: SuiteOptions = {},
): void {
  let database: DatabaseUnderTest;
  let app: TestApp;
  let admin: Client;
  let alice: Client;
  let orgAdmin: Client;
  const ids: Record<string, string> = {};
  const expected: Expected[] = [];

  async function add(
    name: string,
    spec: Parameters<typeof addMessage>[1],
    listed: Record<string, string> = {},
  ): Promise<void> {
    ids[name] = await addMessage(app.stores.amavis, spec);
    spec.recipients.forEach((recipient, i) => {
      const label = listed[recipient.email];
      if (!label) return;
      expected.push({
        label,
        partitionTag: spec.partitionTag ?? 0,
        mailId: ids[name] as string,
        rseqnum: i + 1,
        timeNum: spec.timeNum,
        score: recipient.score === undefined ? 10 : recipient.score,
        fromHeader: spec.fromHeader ?? 'sender@example.net',
        subject: spec.subject ?? 'test',
        recipient: recipient.email,
      });
    });
  }

  /** Labels of every listed entry, in list order, for the labels table. */
  function labelOf(node: Node): string {
    const row = expected.find(
      (e) =>
        e.mailId === node.mailId && e.partitionTag === node.partitionTag && e.recipient === node.recipient,
    );
    return row?.label ?? `unexpected ${node.partitionTag}:${node.mailId}:${node.recipient}`;
  }

  async function list(
    client: Client,
    variables: Record<string, unknown>,
  ): Promise<{ labels: string[]; data: ListData['quarantine'] }> {
    const result = await client.gql<ListData>(LIST, { first: 100, ...variables });
    expect(result.errors).toBeUndefined();
    const data = result.data?.quarantine as ListData['quarantine'];
    return { labels: data.edges.map((e) => labelOf(e.node)), data };
  }

  async function labels(
    filter: QuarantineFilter | Record<string, unknown>,
    client = admin,
  ): Promise<string[]> {
    return (await list(client, { filter })).labels.sort();
  }

  async function walk(
    client: Client,
    variables: Record<string, unknown>,
    backwards = false,
  ): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 40; page++) {
      const pageArgs: Record<string, unknown> = backwards
        ? { first: null, last: 2, before: cursor }
        : { first: 2, after: cursor };
      const { labels: pageLabels, data } = await list(client, { ...variables, ...pageArgs });
      if (backwards) seen.unshift(...pageLabels);
      else seen.push(...pageLabels);
      const more = backwards ? data.pageInfo.hasPreviousPage : data.pageInfo.hasNextPage;
      if (!more) return seen;
      cursor = backwards ? data.pageInfo.startCursor : data.pageInfo.endCursor;
    }
    throw new Error('the walk did not end');
  }

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    app = await startTestApp(database.env);
    if (options.accelerated) await installAccelerator(app.stores.amavis.connection);
    await createSuperadmin(
      app.stores.console,
      { email: 'root@admin.test', password: 'listing-password-1' },
      { onlyIfNoAccounts: true },
    );
    await addAccount(app.stores.console, {
      email: 'alice@example.com',
      role: 'user',
      password: 'alice-password-1',
    });
    await addAccount(app.stores.console, {
      email: 'admin@example.org',
      role: 'domainadmin',
      password: 'org-admin-password-1',
      addresses: [],
      domains: ['example.org'],
    });
    admin = await logInAs(app.url, 'root@admin.test', 'listing-password-1');
    alice = await logInAs(app.url, 'alice@example.com', 'alice-password-1');
    orgAdmin = await logInAs(app.url, 'admin@example.org', 'org-admin-password-1');

    await add(
      'older',
      {
        timeNum: BASE,
        subject: 'older spam',
        recipients: [{ email: 'alice@example.com', content: 'S', score: 12.5 }],
      },
      { 'alice@example.com': 'older/alice' },
    );
    await add(
      'multi',
      {
        timeNum: BASE + 60,
        sender: 'bounce@sender.example',
        fromHeader: 'Jürgen <j@sender.example>',
        subject: 'Grüße ✓ to three',
        recipients: [
          { email: 'alice@example.com', content: 'Y', score: 5.5 },
          { email: 'bob@example.com', content: 'S', score: 7.25, rs: 'V' },
          { email: 'carol@example.org', content: 'S', score: null, rs: 'D' },
        ],
      },
      { 'alice@example.com': 'multi/alice', 'bob@example.com': 'multi/bob' },
    );
    await add('logged', {
      timeNum: BASE + 120,
      subject: 'clean, logged only',
      content: 'C',
      quarantined: false,
      recipients: [{ email: 'alice@example.com', content: 'C', score: 0.1 }],
    });
    await add('processing', {
      timeNum: BASE + 180,
      subject: 'still being processed',
      content: null,
      quarantined: false,
      recipients: [{ email: 'alice@example.com', content: ' ' }],
    });
    await add(
      'odd',
      {
        timeNum: BASE + 240,
        sender: '',
        subject: 'odd code',
        recipients: [{ email: 'dave@example.com', content: 'Q', rs: 'x' }],
      },
      { 'dave@example.com': 'odd/dave' },
    );
    await add(
      'pending',
      {
        timeNum: BASE + 300,
        sender: 'billing@shop.example',
        fromHeader: 'Billing <billing@shop.example>',
        subject: 'Invoice 100% paid_now',
        recipients: [
          { email: 'erin@example.org', content: 'V', score: 3, rs: 'p' },
          { email: 'frank@sub.example.org', content: 'B', score: null, rs: 'R' },
        ],
      },
      { 'erin@example.org': 'pending/erin', 'frank@sub.example.org': 'pending/frank' },
    );
    await add(
      'cyrillic',
      {
        timeNum: BASE + 360,
        sender: 'ivan@xn--e1afmkfd.example',
        fromHeader: 'Иван <ivan@пример.example>',
        subject: 'ПРИВЕТ мир',
        // 's': spammy as amavisd < 2.7 wrote it; MariaDB's default collation would call it 'S' (spam)
        recipients: [{ email: 'pingüino@example.com', content: 's', score: 5.1, rs: 'S' }],
      },
      { 'pingüino@example.com': 'cyrillic/pingüino' },
    );
    for (const [name, rs] of [
      ['tieA', 'H'],
      ['tieB', ' '],
    ] as const) {
      await add(
        name,
        {
          timeNum: BASE + 420,
          fromHeader: 'Same <same@example.net>',
          subject: 'Same subject',
          recipients: [{ email: 'alice@example.com', content: 'H', score: 5.5, rs }],
        },
        { 'alice@example.com': `${name}/alice` },
      );
    }
    // The same mail_id in two partitions, received the same second: only the partition tells them apart.
    const twinId = randomMailId();
    await add(
      'seven',
      {
        partitionTag: 7,
        mailId: twinId,
        timeNum: BASE + 480,
        subject: 'partition seven',
        recipients: [{ email: 'alice@example.com', content: 'S', score: 20 }],
      },
      { 'alice@example.com': 'seven/alice' },
    );
    await add(
      'twin',
      {
        mailId: twinId,
        timeNum: BASE + 480,
        subject: 'twin in partition zero',
        recipients: [{ email: 'alice@example.com', content: 'S', score: 20 }],
      },
      { 'alice@example.com': 'twin/alice' },
    );
  });

  afterAll(async () => {
    await app?.close();
    await database?.dispose();
  });

  const ALL = [
    'cyrillic/pingüino',
    'multi/alice',
    'multi/bob',
    'odd/dave',
    'older/alice',
    'pending/erin',
    'pending/frank',
    'seven/alice',
    'tieA/alice',
    'tieB/alice',
    'twin/alice',
  ];

  // registered only where it applies: a skipped test would show up in CI
  (options.accelerated ? it : notRegistered)(
    'keeps the side table to every quarantined recipient row',
    async () => {
      const { connection } = app.stores.amavis;
      expect(await acceleratorUsable(connection)).toBe(true);
      const count = async (query: ReturnType<typeof sql>) =>
        Number(Object.values((await connection.rows(query))[0] ?? {})[0]);
      // carol's deleted row is there too: the side table follows amavisd's rows, the listing filters
      const quarantined = await count(
        sql`select count(*) from msgrcpt r where exists (select 1 from quarantine q
            where q.partition_tag = r.partition_tag and q.mail_id = r.mail_id and q.chunk_ind = 1)`,
      );
      expect(quarantined).toBe(ALL.length + 1);
      expect(await count(sql`select count(*) from amavis_console_listing`)).toBe(quarantined);
    },
  );

  it('lists one entry per quarantined (message, recipient), newest first', async () => {
    const { labels: listed } = await list(admin, {});
    expect(listed).toEqual(expectedOrder(expected, 'date', 'desc'));
    expect([...listed].sort()).toEqual(ALL);
  });

  it('shows envelope, headers, verdict and status the way amavisd wrote them', async () => {
    const nodes = (await list(admin, {})).data.edges.map((e) => e.node);
    const bob = nodes.find((n) => n.recipient === 'bob@example.com');
    expect(bob).toMatchObject({
      envelopeSender: 'bounce@sender.example',
      fromHeader: 'Jürgen <j@sender.example>',
      subject: 'Grüße ✓ to three',
      receivedAt: new Date((BASE + 60) * 1000).toISOString(),
      score: 7.25,
      releaseRequested: false,
      content: { code: 'S', kind: 'spam', label: 'Spam' },
      status: { code: 'V', kind: 'viewed' },
    });
    const alice = nodes.find((n) => n.mailId === ids.multi && n.recipient === 'alice@example.com');
    expect(alice?.content.kind).toBe('spammy');
    expect(alice?.status).toMatchObject({ code: ' ', kind: 'new' });
    expect(nodes.find((n) => n.mailId === ids.odd)).toMatchObject({
      envelopeSender: '',
      content: { code: 'Q', kind: 'unknown' },
      status: { code: 'x', kind: 'unknown' },
    });
    expect(nodes.find((n) => n.recipient === 'pingüino@example.com')).toMatchObject({
      content: { code: 's', kind: 'spammy' },
      status: { code: 'S', kind: 'learnedSpam' },
      score: 5.1,
    });
    expect(nodes.filter((n) => n.releaseRequested).map((n) => n.recipient)).toEqual(['erin@example.org']);
  });

  describe('filters', () => {
    it.each([
      ['spam', { contentKinds: ['spam'] }, ['multi/bob', 'older/alice', 'seven/alice', 'twin/alice']],
      ['spammy, old and new codes', { contentKinds: ['spammy'] }, ['cyrillic/pingüino', 'multi/alice']],
      ['unknown codes', { contentKinds: ['unknown'] }, ['odd/dave']],
      [
        'several kinds',
        { contentKinds: ['banned', 'badHeader', 'unknown'] },
        ['odd/dave', 'pending/frank', 'tieA/alice', 'tieB/alice'],
      ],
      ['no kinds', { contentKinds: [] }, ALL],
      [
        'new',
        { statuses: ['new'] },
        ['multi/alice', 'older/alice', 'seven/alice', 'tieB/alice', 'twin/alice'],
      ],
      ['viewed', { statuses: ['viewed'] }, ['multi/bob']],
      ['released or pending', { statuses: ['released', 'pending'] }, ['pending/erin', 'pending/frank']],
      ['learned spam', { statuses: ['learnedSpam'] }, ['cyrillic/pingüino']],
      ['learned ham', { statuses: ['learnedHam'] }, ['tieA/alice']],
      ['unknown status', { statuses: ['unknown'] }, ['odd/dave']],
      ['deleted (never listed)', { statuses: ['deleted'] }, []],
      ['pending requests', { pendingRequests: true }, ['pending/erin']],
      ['pending requests off', { pendingRequests: false }, ALL],
      [
        'date range',
        {
          receivedFrom: new Date((BASE + 60) * 1000).toISOString(),
          receivedBefore: new Date((BASE + 300) * 1000).toISOString(),
        },
        ['multi/alice', 'multi/bob', 'odd/dave'],
      ],
      [
        'date range within a second',
        {
          receivedFrom: new Date((BASE + 60) * 1000 + 1).toISOString(),
          receivedBefore: new Date((BASE + 300) * 1000 + 1).toISOString(),
        },
        ['odd/dave', 'pending/erin', 'pending/frank'],
      ],
      [
        'minimum score',
        { minScore: 5.5 },
        [
          'multi/alice',
          'multi/bob',
          'odd/dave',
          'older/alice',
          'seven/alice',
          'tieA/alice',
          'tieB/alice',
          'twin/alice',
        ],
      ],
      ['maximum score, matching a stored 5.1', { maxScore: 5.1 }, ['cyrillic/pingüino', 'pending/erin']],
      [
        'score range',
        { minScore: 5.1, maxScore: 5.5 },
        ['cyrillic/pingüino', 'multi/alice', 'tieA/alice', 'tieB/alice'],
      ],
      ['recipient domain', { recipientDomain: 'example.org' }, ['pending/erin']],
      ['recipient domain, as typed', { recipientDomain: '@EXAMPLE.org.' }, ['pending/erin']],
      ['recipient subdomain', { recipientDomain: 'sub.example.org' }, ['pending/frank']],
      ['From header, other case', { text: 'JÜRGEN' }, ['multi/alice', 'multi/bob']],
      ['Cyrillic subject', { text: 'привет' }, ['cyrillic/pingüino']],
      ['Cyrillic From header', { text: 'ИВАН' }, ['cyrillic/pingüino']],
      ['envelope sender', { text: 'BOUNCE@sender' }, ['multi/alice', 'multi/bob']],
      ['recipient', { text: 'Dave@' }, ['odd/dave']],
      ['non-ASCII recipient', { text: 'PINGÜINO@' }, ['cyrillic/pingüino']],
      ['a literal %', { text: '%' }, ['pending/erin', 'pending/frank']],
      ['a literal _', { text: '_' }, ['pending/erin', 'pending/frank']],
      ['a literal !', { text: '!' }, []],
      ['surrounding spaces', { text: '  older ' }, ['older/alice']],
      ['blank text', { text: '   ' }, ALL],
      [
        'everything at once',
        {
          contentKinds: ['spam'],
          statuses: ['new'],
          minScore: 15,
          recipientDomain: 'example.com',
          text: 'SEVEN',
          receivedFrom: new Date(BASE * 1000).toISOString(),
        },
        ['seven/alice'],
      ],
      [
        'spam and new',
        { contentKinds: ['spam'], statuses: ['new'] },
        ['older/alice', 'seven/alice', 'twin/alice'],
      ],
    ])('%s', async (_name, filter, want) => {
      expect(await labels(filter)).toEqual([...want].sort());
    });

    it('stay within what the caller may see', async () => {
      expect(await labels({}, alice)).toEqual([
        'multi/alice',
        'older/alice',
        'seven/alice',
        'tieA/alice',
        'tieB/alice',
        'twin/alice',
      ]);
      expect(await labels({ contentKinds: ['spam'] }, alice)).toEqual([
        'older/alice',
        'seven/alice',
        'twin/alice',
      ]);
      expect(await labels({ text: 'bob' }, alice)).toEqual([]);
      expect(await labels({}, orgAdmin)).toEqual(['pending/erin']);
      expect(await labels({ recipientDomain: 'example.com' }, orgAdmin)).toEqual([]);
      expect(await labels({ pendingRequests: true }, orgAdmin)).toEqual(['pending/erin']);
      const bySubject = await list(alice, { sort: { field: 'subject', direction: 'asc' } });
      expect(bySubject.labels).toEqual(
        expectedOrder(
          expected.filter((e) => e.recipient === 'alice@example.com'),
          'subject',
          'asc',
        ),
      );
    });

    it('refuse bad input with a clear message', async () => {
      const cases: [Record<string, unknown>, RegExp][] = [
        [
          {
            receivedFrom: new Date((BASE + 10) * 1000).toISOString(),
            receivedBefore: new Date(BASE * 1000).toISOString(),
          },
          /receivedFrom must not be after receivedBefore/,
        ],
        [{ minScore: 6, maxScore: 5 }, /minScore must not be greater than maxScore/],
        [{ minScore: 1e300 }, /minScore must be a number between/],
        [{ text: 'x'.repeat(201) }, /text must be at most 200 characters/],
        [{ recipientDomain: 'not a domain' }, /recipientDomain: .*not a domain name/],
      ];
      for (const [filter, message] of cases) {
        const result = await admin.gql<ListData>(LIST, { first: 5, filter });
        expect(result.errors?.[0]?.message).toMatch(message);
        expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
      // An unknown sort key is refused by GraphQL itself (the enum), before any resolver runs.
      const unknownSort = await admin.gql<ListData>(LIST, { first: 5, sort: { field: 'size' } });
      expect(unknownSort.errors?.[0]?.message).toMatch(/QuarantineSortField/);
      expect(unknownSort.data).toBeUndefined();
    });

    it('refuse bad input from direct callers too', async () => {
      const viewer = { actor: SUPERADMIN_ACTOR, settings: DEFAULT_SETTINGS };
      const store = app.stores.amavis;
      const bad: [QuarantineFilter, QuarantineSort | undefined][] = [
        [{ minScore: Number.NaN }, undefined],
        [{ maxScore: Number.POSITIVE_INFINITY }, undefined],
        [{ receivedFrom: new Date(Number.NaN) }, undefined],
        [{ text: 'a\0b' }, undefined],
        [{ contentKinds: ['nonsense' as never] }, undefined],
        [{}, { field: 'size' as never, direction: 'asc' }],
        [{}, { field: 'date', direction: 'sideways' as never }],
      ];
      for (const [filter, sort] of bad) {
        await expect(listQuarantine(store, viewer, { first: 1 }, filter, sort)).rejects.toBeInstanceOf(
          InputError,
        );
      }
      await expect(countQuarantine(store, viewer, {}, 10_001)).rejects.toBeInstanceOf(InputError);
    });
  });

  describe('sorting and paging', () => {
    const orders = (['date', 'score', 'sender', 'recipient', 'subject'] as const).flatMap((field) =>
      (['asc', 'desc'] as const).map((direction) => [field, direction] as const),
    );

    it.each(orders)('by %s %s walks two at a time without gaps or repeats', async (field, direction) => {
      const sort = { field, direction };
      const want = expectedOrder(expected, field, direction);
      expect((await list(admin, { sort })).labels).toEqual(want);
      expect(await walk(admin, { sort })).toEqual(want);
      expect(await walk(admin, { sort }, true)).toEqual(want);
    });

    it('walks a filtered list, in date order and by score', async () => {
      const filter = { contentKinds: ['spam', 'badHeader'] };
      const rows = expected.filter((e) =>
        ['multi/bob', 'older/alice', 'seven/alice', 'twin/alice', 'tieA/alice', 'tieB/alice'].includes(
          e.label,
        ),
      );
      expect(await walk(admin, { filter })).toEqual(expectedOrder(rows, 'date', 'desc'));
      expect(await walk(alice, { filter, sort: { field: 'score', direction: 'asc' } })).toEqual(
        expectedOrder(
          rows.filter((e) => e.recipient === 'alice@example.com'),
          'score',
          'asc',
        ),
      );
    });

    it('defaults the direction to descending', async () => {
      expect((await list(admin, { sort: { field: 'score' } })).labels).toEqual(
        expectedOrder(expected, 'score', 'desc'),
      );
    });

    it('refuses a cursor from another sort order, a forged cursor and an oversized page', async () => {
      const byDate = await list(admin, { first: 1 });
      const wrongSort = await admin.gql<ListData>(LIST, {
        first: 1,
        after: byDate.data.pageInfo.endCursor,
        sort: { field: 'subject', direction: 'asc' },
      });
      expect(wrongSort.errors?.[0]?.message).toMatch(/invalid cursor/);
      expect(wrongSort.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const bySubject = await list(admin, { first: 1, sort: { field: 'subject', direction: 'asc' } });
      const toScore = await admin.gql<ListData>(LIST, {
        first: 1,
        after: bySubject.data.pageInfo.endCursor,
        sort: { field: 'score', direction: 'asc' },
      });
      expect(toScore.errors?.[0]?.message).toMatch(/invalid cursor/);
      const forged = await admin.gql<ListData>(LIST, { first: 1, after: 'not-a-cursor' });
      expect(forged.errors?.[0]?.message).toMatch(/invalid cursor/);
      expect(forged.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const badScore = Buffer.from(JSON.stringify(['score', 'vNaN', 0, 'abc', 1])).toString('base64url');
      const forgedScore = await admin.gql<ListData>(LIST, {
        first: 1,
        after: badScore,
        sort: { field: 'score', direction: 'asc' },
      });
      expect(forgedScore.errors?.[0]?.message).toMatch(/invalid cursor/);
      const huge = await admin.gql<ListData>(LIST, { first: 100_000 });
      expect(huge.errors?.[0]?.message).toMatch(/first must be between 0 and 500/);
    });
  });

  describe('partition tags', () => {
    it('lists, pages and opens entries of partition 7 next to partition 0', async () => {
      const nodes = (await list(admin, { filter: { text: 'partition' } })).data.edges.map((e) => e.node);
      expect(nodes.map((n) => [n.partitionTag, n.mailId, n.subject])).toEqual([
        [7, ids.seven, 'partition seven'],
        [0, ids.seven, 'twin in partition zero'],
      ]);
      expect(await walk(admin, { filter: { text: 'partition' } })).toEqual(['seven/alice', 'twin/alice']);
      for (const node of nodes) {
        const opened = await admin.gql<{
          node: { id: string; partitionTag: number; subject: string } | null;
        }>('query($id: ID!) { node(id: $id) { id ... on QuarantinedMessage { partitionTag subject } } }', {
          id: node.id,
        });
        expect(opened.data?.node).toEqual({
          id: node.id,
          partitionTag: node.partitionTag,
          subject: node.subject,
        });
      }
    });
  });

  describe('totalCount', () => {
    async function count(variables: Record<string, unknown>) {
      const result = await admin.gql<{ quarantine: { totalCount: { value: number; exact: boolean } } }>(
        COUNT,
        variables,
      );
      expect(result.errors).toBeUndefined();
      return result.data?.quarantine.totalCount;
    }

    it('is exact under the bound and a flagged lower bound past it', async () => {
      expect(await count({})).toEqual({ value: ALL.length, exact: true });
      expect(await count({ upTo: ALL.length })).toEqual({ value: ALL.length, exact: true });
      expect(await count({ upTo: ALL.length - 1 })).toEqual({ value: ALL.length - 1, exact: false });
      expect(await count({ upTo: 3 })).toEqual({ value: 3, exact: false });
      expect(await count({ upTo: 0 })).toEqual({ value: 0, exact: false });
    });

    it('counts what the filter and the caller see', async () => {
      expect(await count({ filter: { contentKinds: ['spam'] } })).toEqual({ value: 4, exact: true });
      expect(await count({ filter: { text: 'ПРИВЕТ' } })).toEqual({ value: 1, exact: true });
      expect(await count({ filter: { pendingRequests: true }, upTo: 1 })).toEqual({ value: 1, exact: true });
      const forAlice = await alice.gql<{ quarantine: { totalCount: { value: number } } }>(COUNT, {});
      expect(forAlice.data?.quarantine.totalCount.value).toBe(6);
    });

    it('refuses a bound over the limit', async () => {
      const result = await admin.gql(COUNT, { upTo: 10_001 });
      expect(result.errors?.[0]?.message).toMatch(/upTo must be between 0 and 10000/);
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });
  });

  it('loads an entry by its global ID through node', async () => {
    const first = (await list(admin, { first: 1 })).data.edges[0]?.node;
    const result = await admin.gql<{
      node: { id: string; subject: string; releaseRequested: boolean } | null;
    }>('query($id: ID!) { node(id: $id) { id ... on QuarantinedMessage { subject releaseRequested } } }', {
      id: first?.id,
    });
    expect(result.data?.node).toEqual({ id: first?.id, subject: first?.subject, releaseRequested: false });
  });
}
