// The dashboard's statistics through the real schema, on any database: what each role sees in a range,
// checked against counts worked out from the fixtures below and against the quarantine list itself.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { addAccount, addMessage, type MessageSpec } from './factories.ts';
import { type Client, createClient, logInAs } from './graphql-client.ts';
import type { DatabaseUnderTest } from './quarantine-listing.shared.ts';
import { startTestApp, type TestApp } from './test-app.ts';

const DAY = 86_400;
/** 2026-10-01T00:00:00Z */
export const DAY0 = Date.UTC(2026, 9, 1) / 1000;
const FROM = new Date(DAY0 * 1000).toISOString();
const TO = new Date((DAY0 + 5 * DAY) * 1000).toISOString();

const ROOT = { email: 'root@admin.test', password: 'root-password-1' };
const ADMIN = { email: 'admin@a.test', password: 'admin-password-1' };
const ALICE = { email: 'alice@a.test', password: 'alice-password-1' };
const BOB = { email: 'bob@b.test', password: 'bob-password-1' };

const at = (day: number, hours: number) => DAY0 + day * DAY + Math.round(hours * 3600);

/** Messages as amavisd stores them; the comments say why each one counts or not. */
const MESSAGES: MessageSpec[] = [
  {
    timeNum: at(0, 1),
    sender: 's1@spam.test',
    recipients: [{ email: ALICE.email, content: 'S', score: 12 }],
  },
  {
    timeNum: at(0, 2),
    sender: 's2@virus.test',
    recipients: [{ email: ALICE.email, content: 'V', score: null }],
  },
  {
    timeNum: at(1, 1),
    sender: 's1@spam.test',
    recipients: [{ email: 'carol@a.test', content: 'S', score: 6, rs: 'R' }],
  },
  // 23:30 UTC: the next day one hour east of UTC
  {
    timeNum: at(1, 23.5),
    sender: 's3@x.test',
    recipients: [{ email: ALICE.email, content: 'B', score: 3, rs: 'p' }],
  },
  { timeNum: at(2, 1), sender: 's1@spam.test', recipients: [{ email: BOB.email, content: 'S', score: 25 }] },
  {
    timeNum: at(2, 2),
    sender: 's4@list.test',
    recipients: [
      { email: ALICE.email, content: 'Y', score: 7.5 },
      { email: BOB.email, content: 'Y', score: 7.5 },
    ],
  },
  // deleted for its recipient: not counted
  { timeNum: at(2, 3), recipients: [{ email: ALICE.email, content: 'S', rs: 'D' }] },
  // amavisd is still processing it: not counted
  { timeNum: at(2, 4), content: null, recipients: [{ email: ALICE.email }] },
  // not in the SQL quarantine: not counted
  { timeNum: at(3, 2), quarantined: false, recipients: [{ email: ALICE.email, content: 'S' }] },
  // before and at the end of the range: not counted
  { timeNum: DAY0 - 100, recipients: [{ email: ALICE.email, content: 'S' }] },
  { timeNum: at(5, 0), recipients: [{ email: ALICE.email, content: 'S' }] },
  // amavisd before 2.7 wrote 's' for spammy: not 'S' (spam), even where CHAR(1) compares without case
  { timeNum: at(3, 1), recipients: [{ email: 'carol@a.test', content: 's', score: -1 }] },
];

interface Stats {
  total: number;
  days: { day: string; start: string; total: number; byKind: { kind: string; count: number }[] }[];
  byKind: { kind: string; count: number }[];
  topSenders: { sender: string; count: number }[];
  topRecipientDomains: { domain: string; count: number }[];
  scores: { min: number | null; max: number | null; unscored: boolean; count: number }[];
  released: number;
  pendingEntries: number;
  requests: { pending: number; approved: number; denied: number; expired: number; cancelled: number };
}

const STATS = `query Stats($from: DateTime, $to: DateTime, $offset: Int) {
  quarantineStats(from: $from, to: $to, utcOffsetMinutes: $offset) {
    total released pendingEntries
    days { day start total byKind { kind count } }
    byKind { kind count }
    topSenders { sender count }
    topRecipientDomains { domain count }
    scores { min max unscored count }
    requests { pending approved denied expired cancelled }
  }
  quarantine(first: 1, filter: { receivedFrom: $from, receivedBefore: $to }) { totalCount { value exact } }
}`;

const STATS_ONLY = `query Stats($from: DateTime, $to: DateTime, $offset: Int) {
  quarantineStats(from: $from, to: $to, utcOffsetMinutes: $offset) { total }
}`;

const kinds = (list: { kind: string; count: number }[]) =>
  Object.fromEntries(list.map(({ kind, count }) => [kind, count]));

export function dashboardSuite(open: () => Promise<DatabaseUnderTest>): void {
  let app: TestApp;
  let database: DatabaseUnderTest;
  const clients = new Map<string, Client>();

  async function statsAs(email: string, variables: Record<string, unknown> = { from: FROM, to: TO }) {
    const client = clients.get(email);
    if (!client) throw new Error(`no client for ${email}`);
    const response = await client.gql<{
      quarantineStats: Stats;
      quarantine: { totalCount: { value: number; exact: boolean } };
    }>(STATS, variables);
    expect(response.errors).toBeUndefined();
    const data = response.data;
    if (!data) throw new Error('no data');
    // exactly the entries the list shows the same caller for the same range
    expect(data.quarantineStats.total).toBe(data.quarantine.totalCount.value);
    return data.quarantineStats;
  }

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    app = await startTestApp(database.env);
    const store = app.stores.console;
    await createSuperadmin(store, ROOT, { onlyIfNoAccounts: true });
    await addAccount(store, { ...ADMIN, role: 'domainadmin', domains: ['a.test'] });
    const alice = await addAccount(store, { ...ALICE, role: 'user' });
    const bob = await addAccount(store, { ...BOB, role: 'user' });
    for (const message of MESSAGES) await addMessage(app.stores.amavis, message);
    const requests = store.t.releaseRequestsTable;
    const request = (
      accountId: number,
      recipient: string,
      status: string,
      createdAt: Date,
      pendingKey: string | null = null,
    ) => ({
      partitionTag: 0,
      mailId: 'x',
      rseqnum: 1,
      recipient,
      recipientDomain: recipient.split('@')[1] ?? '',
      status,
      pendingKey,
      requestedByAccountId: accountId,
      requestedBy: recipient,
      notifyAddress: recipient,
      createdAt,
    });
    const inRange = new Date(at(1, 5) * 1000);
    await store.connection.db
      .insert(requests)
      .values([
        request(alice, ALICE.email, 'pending', inRange, '0:a:1'),
        request(alice, ALICE.email, 'approving', inRange, '0:b:1'),
        request(alice, ALICE.email, 'approved', inRange),
        request(alice, ALICE.email, 'approved', new Date((DAY0 - DAY) * 1000)),
        request(bob, BOB.email, 'denied', inRange),
      ]);
    for (const account of [ROOT, ADMIN, ALICE, BOB]) {
      clients.set(account.email, await logInAs(app.url, account.email, account.password));
    }
  });

  afterAll(async () => {
    await app?.close();
    await database?.dispose();
  });

  it('a superadmin sees every entry of the range, by day and type, sender, domain and score', async () => {
    const stats = await statsAs(ROOT.email);
    expect(stats.total).toBe(8);
    expect(kinds(stats.byKind)).toEqual({ spam: 3, spammy: 3, virus: 1, banned: 1 });
    expect(stats.days.map((d) => [d.day, d.total])).toEqual([
      ['2026-10-01', 2],
      ['2026-10-02', 2],
      ['2026-10-03', 3],
      ['2026-10-04', 1],
      ['2026-10-05', 0],
    ]);
    expect(stats.days[0]?.start).toBe(FROM);
    expect(kinds(stats.days[2]?.byKind ?? [])).toEqual({ spam: 1, spammy: 2 });
    expect(stats.topSenders.slice(0, 2)).toEqual([
      { sender: 's1@spam.test', count: 3 },
      { sender: 's4@list.test', count: 2 },
    ]);
    expect(stats.topSenders.slice(2).map((s) => s.sender)).toEqual([
      's2@virus.test',
      's3@x.test',
      'sender@example.net',
    ]);
    expect(stats.topRecipientDomains).toEqual([
      { domain: 'a.test', count: 6 },
      { domain: 'b.test', count: 2 },
    ]);
    expect(stats.scores.map((b) => [b.min, b.max, b.unscored, b.count])).toEqual([
      [null, 0, false, 1],
      [0, 2, false, 0],
      [2, 5, false, 1],
      [5, 8, false, 3],
      [8, 10, false, 0],
      [10, 15, false, 1],
      [15, 20, false, 0],
      [20, 30, false, 1],
      [30, null, false, 0],
      [null, null, true, 1],
    ]);
    expect(stats.released).toBe(1);
    expect(stats.pendingEntries).toBe(1);
    expect(stats.requests).toEqual({ pending: 2, approved: 1, denied: 1, expired: 0, cancelled: 0 });
  });

  it('days follow the offset asked for', async () => {
    const stats = await statsAs(ROOT.email, { from: FROM, to: TO, offset: 60 });
    const byDay = Object.fromEntries(stats.days.map((d) => [d.day, d.total]));
    expect(byDay['2026-10-02']).toBe(1);
    expect(byDay['2026-10-03']).toBe(4);
    expect(stats.days[0]?.start).toBe(new Date((DAY0 - 3600) * 1000).toISOString());
  });

  it('a domain admin sees only its domains', async () => {
    const stats = await statsAs(ADMIN.email);
    expect(stats.total).toBe(6);
    expect(stats.topRecipientDomains).toEqual([{ domain: 'a.test', count: 6 }]);
    expect(kinds(stats.byKind)).toEqual({ spam: 2, spammy: 2, virus: 1, banned: 1 });
    expect(stats.topSenders[0]).toEqual({ sender: 's1@spam.test', count: 2 });
    expect(stats.requests).toEqual({ pending: 2, approved: 1, denied: 0, expired: 0, cancelled: 0 });
  });

  it('a user sees only their own mail and requests', async () => {
    const alice = await statsAs(ALICE.email);
    expect(alice.total).toBe(4);
    expect(kinds(alice.byKind)).toEqual({ spam: 1, virus: 1, banned: 1, spammy: 1 });
    expect(alice.topRecipientDomains).toEqual([{ domain: 'a.test', count: 4 }]);
    expect(alice.released).toBe(0);
    expect(alice.pendingEntries).toBe(1);
    expect(alice.requests).toEqual({ pending: 2, approved: 1, denied: 0, expired: 0, cancelled: 0 });
    const bob = await statsAs(BOB.email);
    expect(bob.total).toBe(2);
    expect(bob.topSenders.map((s) => s.sender).sort()).toEqual(['s1@spam.test', 's4@list.test']);
    expect(bob.requests).toEqual({ pending: 0, approved: 0, denied: 1, expired: 0, cancelled: 0 });
  });

  it('defaults to the last 30 days', async () => {
    const response = await clients
      .get(ROOT.email)
      ?.gql<{ quarantineStats: { days: unknown[]; total: number } }>(
        '{ quarantineStats { total days { day } } }',
      );
    expect(response?.errors).toBeUndefined();
    // the fixtures are in 2026-10; the days of a 30-day range touch 31 dates
    expect(response?.data?.quarantineStats.days).toHaveLength(31);
  });

  it('refuses a bad range with a clear error, and anonymous callers', async () => {
    const root = clients.get(ROOT.email);
    const tooLong = await root?.gql(STATS_ONLY, { from: '2025-01-01T00:00:00Z', to: '2026-01-03T00:00:00Z' });
    expect(tooLong?.errors?.[0]?.message).toBe('the range must be at most 366 days');
    expect(tooLong?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const backwards = await root?.gql(STATS_ONLY, { from: TO, to: FROM });
    expect(backwards?.errors?.[0]?.message).toBe('from must be before to');
    const offset = await root?.gql(STATS_ONLY, { from: FROM, to: TO, offset: 100_000 });
    expect(offset?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const anonymous = await createClient(app.url).gql('{ quarantineStats { total } }');
    expect(anonymous.data).toBeFalsy();
    expect(anonymous.errors?.length).toBeGreaterThan(0);
  });
}
