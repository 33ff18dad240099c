// The audit log reader: who sees which entries, filters, pagination. On PGlite always; on PostgreSQL
// and MariaDB when they are reachable.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountActor, Actor, Role } from '../../server/access/actor.ts';
import { hashPassword } from '../../server/access/passwords.ts';
import { type AuditOutcome, recordAudit } from '../../server/audit/audit-log.ts';
import type { ConsoleStore } from '../../server/db/stores.ts';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { openEmbeddedDatabase, openRealDatabase } from '../support/databases.ts';
import { describeWith } from '../support/services.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

interface DatabaseUnderTest {
  env: Record<string, string>;
  prepare?(): Promise<void>;
  dispose(): Promise<void>;
}

interface Response<T> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** POSTs a document with an optional cookie; test-app's gql sends no headers. */
async function request<T>(
  app: TestApp,
  query: string,
  variables: Record<string, unknown> = {},
  cookie?: string,
): Promise<{ body: Response<T>; setCookies: string[] }> {
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(cookie ? { cookie } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { body: (await response.json()) as Response<T>, setCookies: response.headers.getSetCookie() };
}

const LOG_IN = `
  mutation LogIn($input: LogInInput!) {
    logIn(input: $input) { __typename ... on Viewer { email } }
  }`;

async function logIn(app: TestApp, email: string, password: string): Promise<string | null> {
  const { body, setCookies } = await request<{ logIn: { __typename: string } }>(app, LOG_IN, {
    input: { email, password },
  });
  expect(body.errors).toBeUndefined();
  if (body.data?.logIn.__typename !== 'Viewer') return null;
  const cookie = setCookies.map((c) => c.split(';')[0] ?? '').find((c) => c.startsWith('ac_session='));
  expect(cookie).toBeDefined();
  return cookie ?? null;
}

const AUDIT_LOG = `
  query Audit($filter: AuditLogFilter, $first: Int, $after: String, $last: Int, $before: String) {
    auditLog(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      edges {
        cursor
        node { id at actor actorAccountId action outcome target domain detail ip }
      }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;

interface AuditNode {
  id: string;
  at: string;
  actor: string;
  actorAccountId: number | null;
  action: string;
  outcome: AuditOutcome;
  target: string;
  domain: string | null;
  detail: string | null;
  ip: string | null;
}

interface AuditData {
  auditLog: {
    edges: { cursor: string; node: AuditNode }[];
    pageInfo: {
      hasNextPage: boolean;
      hasPreviousPage: boolean;
      startCursor: string | null;
      endCursor: string | null;
    };
  };
}

const PASSWORD = 'correct horse battery';
const BASE = Date.UTC(2026, 0, 1, 8);
const HOUR = 3_600_000;

type Who = 'super' | 'dadmin' | 'user';

const EMAILS: Record<Who, string> = {
  super: 'root@console.test',
  dadmin: 'postmaster@example.com',
  user: 'alice@example.com',
};

interface Seed {
  target: string;
  who: Who | null;
  claimed?: string;
  action: string;
  outcome: AuditOutcome;
  domain: string | null;
  hours: number;
  detail?: Record<string, unknown>;
}

const SEEDS: Seed[] = [
  {
    target: 's01',
    who: 'super',
    action: 'settings.update',
    outcome: 'success',
    domain: null,
    hours: 0,
    detail: { maxMessagesAge: { from: 14, to: 30 }, amPdpPassword: 'hunter2' },
  },
  {
    target: 's02',
    who: 'dadmin',
    action: 'quarantine.release',
    outcome: 'success',
    domain: 'example.com',
    hours: 1,
  },
  {
    target: 's03',
    who: 'user',
    action: 'quarantine.view',
    outcome: 'success',
    domain: 'example.com',
    hours: 2,
  },
  {
    target: 's04',
    who: 'user',
    action: 'quarantine.release',
    outcome: 'denied',
    domain: 'example.com',
    hours: 3,
  },
  {
    target: 's05',
    who: 'super',
    action: 'policy.update',
    outcome: 'success',
    domain: 'example.org',
    hours: 4,
  },
  {
    target: 's06',
    who: null,
    claimed: 'Evil%Admin@example.org',
    action: 'auth.login',
    outcome: 'failure',
    domain: 'example.org',
    hours: 5,
  },
  {
    target: 's07',
    who: 'super',
    action: 'lists.update',
    outcome: 'success',
    domain: 'example.net',
    hours: 6,
  },
  {
    target: 's08',
    who: 'dadmin',
    action: 'account.update',
    outcome: 'failure',
    domain: 'example.org',
    hours: 7,
  },
  {
    target: 's09',
    who: 'user',
    action: 'quarantine.delete',
    outcome: 'success',
    domain: 'example.com',
    hours: 8,
  },
  // the same instant as s09: the id breaks the tie
  {
    target: 's10',
    who: 'super',
    action: 'quarantine.delete',
    outcome: 'success',
    domain: 'example.org',
    hours: 8,
  },
  {
    target: 's11',
    who: null,
    claimed: 'evilXXadmin@example.org',
    action: 'auth.login',
    outcome: 'failure',
    domain: 'example.org',
    hours: 9,
  },
  {
    target: 's12',
    who: 'user',
    action: 'auth.password',
    outcome: 'success',
    domain: 'example.org',
    hours: 10,
  },
];

/** What the test expects of a row; rows are identified by their target. */
interface ModelRow {
  target: string;
  at: number;
  seq: number;
  who: Who | null;
  domain: string | null;
  action: string;
  outcome: AuditOutcome;
  actor: string;
}

const newestFirst = (a: ModelRow, b: ModelRow) => b.at - a.at || b.seq - a.seq;

function auditLogSuite(open: () => Promise<DatabaseUnderTest>): void {
  let database: DatabaseUnderTest;
  let app: TestApp;
  const ids = {} as Record<Who, number>;
  const cookies = {} as Record<Who, string>;
  const model: ModelRow[] = [];

  const targets = (rows: ModelRow[]) => [...rows].sort(newestFirst).map((r) => r.target);
  const where = (test: (row: ModelRow) => boolean) => targets(model.filter(test));

  async function list(who: Who | null, variables: Record<string, unknown> = {}) {
    const { body } = await request<AuditData>(
      app,
      AUDIT_LOG,
      { first: 500, ...variables },
      who ? cookies[who] : undefined,
    );
    return body;
  }

  async function listTargets(who: Who, variables: Record<string, unknown> = {}) {
    const body = await list(who, variables);
    expect(body.errors).toBeUndefined();
    return body.data?.auditLog.edges.map((e) => e.node.target);
  }

  async function addAccount(store: ConsoleStore, email: string, role: Role): Promise<number> {
    const { db } = store.connection;
    const { accountsTable, accountAddressesTable } = store.t;
    await db
      .insert(accountsTable)
      .values({ email, role, passwordHash: await hashPassword(PASSWORD), authSource: 'local' });
    const [row] = await db
      .select({ id: accountsTable.id })
      .from(accountsTable)
      .where(eq(accountsTable.email, email));
    if (!row) throw new Error(`no account ${email}`);
    await db.insert(accountAddressesTable).values({ accountId: row.id, address: email, isPrimary: true });
    return row.id;
  }

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    app = await startTestApp(database.env);
    const store = app.stores.console;
    const { db } = store.connection;
    const t = store.t;

    await createSuperadmin(store, { email: EMAILS.super, password: PASSWORD }, { onlyIfNoAccounts: false });
    const [root] = await db
      .select({ id: t.accountsTable.id })
      .from(t.accountsTable)
      .where(eq(t.accountsTable.email, EMAILS.super));
    if (!root) throw new Error('no superadmin');
    ids.super = root.id;
    ids.dadmin = await addAccount(store, EMAILS.dadmin, 'domainadmin');
    ids.user = await addAccount(store, EMAILS.user, 'user');
    await db.insert(t.domainsTable).values([{ name: 'example.com' }, { name: 'example.org' }]);
    const [domain] = await db
      .select({ id: t.domainsTable.id })
      .from(t.domainsTable)
      .where(eq(t.domainsTable.name, 'example.com'));
    if (!domain) throw new Error('no domain');
    await db.insert(t.domainAliasesTable).values({ name: 'example.net', domainId: domain.id });
    await db.insert(t.domainAdminsTable).values({ accountId: ids.dadmin, domainId: domain.id });

    const actorOf = (who: Who | null): Actor =>
      who
        ? ({
            kind: 'account',
            accountId: ids[who],
            email: EMAILS[who],
            role: who === 'super' ? 'superadmin' : who === 'dadmin' ? 'domainadmin' : 'user',
            addresses: [EMAILS[who]],
            othersAddresses: [],
            domains: who === 'dadmin' ? ['example.com', 'example.net'] : [],
            access: 'full',
            via: 'session',
          } satisfies AccountActor)
        : { kind: 'anonymous' };

    let seq = 0;
    for (const seed of SEEDS) {
      await recordAudit(store, {
        actor: actorOf(seed.who),
        claimedActor: seed.claimed,
        action: seed.action,
        outcome: seed.outcome,
        target: seed.target,
        domain: seed.domain,
        detail: seed.detail,
        ip: '192.0.2.7',
      });
      const at = BASE + seed.hours * HOUR;
      await db
        .update(t.auditLogTable)
        .set({ at: new Date(at) })
        .where(eq(t.auditLogTable.target, seed.target));
      model.push({
        target: seed.target,
        at,
        seq: seq++,
        who: seed.who,
        domain: seed.domain,
        action: seed.action,
        outcome: seed.outcome,
        actor: seed.claimed ?? (seed.who ? EMAILS[seed.who] : 'anonymous'),
      });
    }

    // Logging in writes auth.login entries, "now", in this order.
    const login = (target: string, who: Who | null, outcome: AuditOutcome) =>
      model.push({
        target,
        at: Number.MAX_SAFE_INTEGER,
        seq: seq++,
        who,
        // a login is about the address's domain, so that domain's admins see it
        domain: target.split('@')[1] ?? null,
        action: 'auth.login',
        outcome,
        actor: target,
      });
    expect(await logIn(app, 'nobody@example.com', 'not the password')).toBeNull();
    login('nobody@example.com', null, 'failure');
    for (const who of ['super', 'dadmin', 'user'] as const) {
      const cookie = await logIn(app, EMAILS[who], PASSWORD);
      if (!cookie) throw new Error(`${who} could not log in`);
      cookies[who] = cookie;
      login(EMAILS[who], who, 'success');
    }
  });

  afterAll(async () => {
    await app?.close();
    await database?.dispose();
  });

  it('shows a superadmin every entry, newest first, with what happened', async () => {
    const body = await list('super');
    expect(body.errors).toBeUndefined();
    const nodes = body.data?.auditLog.edges.map((e) => e.node) ?? [];
    expect(nodes.map((n) => n.target)).toEqual(targets(model));
    expect(body.data?.auditLog.pageInfo.hasNextPage).toBe(false);

    const settings = nodes.find((n) => n.target === 's01');
    expect(settings).toMatchObject({
      at: new Date(BASE).toISOString(),
      actor: EMAILS.super,
      actorAccountId: ids.super,
      action: 'settings.update',
      outcome: 'success',
      domain: null,
      ip: '192.0.2.7',
    });
    expect(JSON.parse(settings?.detail ?? 'null')).toEqual({
      maxMessagesAge: { from: 14, to: 30 },
      amPdpPassword: '[redacted]',
    });
    expect(nodes.find((n) => n.target === 's02')?.detail).toBeNull();
    expect(nodes.find((n) => n.target === 's06')).toMatchObject({
      actor: 'Evil%Admin@example.org',
      actorAccountId: null,
      outcome: 'failure',
      domain: 'example.org',
    });
    const failedLogin = nodes.find((n) => n.target === 'nobody@example.com');
    expect(failedLogin).toMatchObject({ action: 'auth.login', outcome: 'failure', actorAccountId: null });
    expect(failedLogin?.ip).toBeTruthy();
    expect(nodes.find((n) => n.target === EMAILS.user)).toMatchObject({
      action: 'auth.login',
      outcome: 'success',
      actorAccountId: ids.user,
    });
  });

  it("shows a domain admin its domains' entries (aliases included) and its own, nothing else", async () => {
    const seen = await listTargets('dadmin');
    const expected = where(
      (r) => r.who === 'dadmin' || r.domain === 'example.com' || r.domain === 'example.net',
    );
    expect(seen).toEqual(expected);
    // logins of example.com addresses (its users', its own, a failed one) count as example.com's
    expect(expected).toEqual([
      EMAILS.user,
      EMAILS.dadmin,
      'nobody@example.com',
      's09',
      's08',
      's07',
      's04',
      's03',
      's02',
    ]);
  });

  it('shows a user only what the user did', async () => {
    const seen = await listTargets('user');
    expect(seen).toEqual(where((r) => r.who === 'user'));
    expect(seen).toEqual([EMAILS.user, 's12', 's09', 's04', 's03']);
  });

  it('refuses anonymous callers', async () => {
    const body = await list(null);
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('filters by action prefix and action names, treating LIKE wildcards literally', async () => {
    expect(await listTargets('super', { filter: { actionPrefix: 'quarantine.' } })).toEqual([
      's10',
      's09',
      's04',
      's03',
      's02',
    ]);
    expect(await listTargets('super', { filter: { actionPrefix: 'quarantine_' } })).toEqual([]);
    expect(await listTargets('super', { filter: { actions: ['policy.update', 'lists.update'] } })).toEqual([
      's07',
      's05',
    ]);
    expect(await listTargets('super', { filter: { actions: [] } })).toEqual(targets(model));
  });

  it('filters by outcome', async () => {
    expect(await listTargets('super', { filter: { outcome: 'denied' } })).toEqual(['s04']);
    expect(await listTargets('super', { filter: { outcome: 'failure' } })).toEqual(
      where((r) => r.outcome === 'failure'),
    );
    expect(where((r) => r.outcome === 'failure')).toEqual(['nobody@example.com', 's11', 's08', 's06']);
  });

  it('filters by time: from inclusive, to exclusive', async () => {
    const filter = {
      from: new Date(BASE + 2 * HOUR).toISOString(),
      to: new Date(BASE + 5 * HOUR).toISOString(),
    };
    expect(await listTargets('super', { filter })).toEqual(['s05', 's04', 's03']);
    const reversed = await list('super', { filter: { from: filter.to, to: filter.from } });
    expect(reversed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('filters by actor text, ignoring case, with % and _ as plain characters', async () => {
    expect(await listTargets('super', { filter: { actorText: 'EVIL%ADMIN' } })).toEqual(['s06']);
    expect(await listTargets('super', { filter: { actorText: 'evil' } })).toEqual(['s11', 's06']);
    expect(await listTargets('super', { filter: { actorText: 'evil_' } })).toEqual([]);
  });

  it('filters by domain and by account, and never widens what the caller may see', async () => {
    expect(await listTargets('super', { filter: { domain: 'Example.COM' } })).toEqual([
      EMAILS.user,
      EMAILS.dadmin,
      'nobody@example.com',
      's09',
      's04',
      's03',
      's02',
    ]);
    expect(await listTargets('super', { filter: { actorAccountId: ids.user } })).toEqual([
      EMAILS.user,
      's12',
      's09',
      's04',
      's03',
    ]);
    // example.org is not the domain admin's: only its own entry there shows
    expect(await listTargets('dadmin', { filter: { domain: 'example.org' } })).toEqual(['s08']);
    expect(await listTargets('dadmin', { filter: { actorAccountId: ids.super } })).toEqual(['s07']);
    expect(await listTargets('user', { filter: { actorAccountId: ids.super } })).toEqual([]);
  });

  async function walk(who: Who, size: number, backwards = false, filter: Record<string, unknown> = {}) {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const body = await list(
        who,
        backwards
          ? { filter, first: undefined, last: size, before: cursor }
          : { filter, first: size, after: cursor },
      );
      expect(body.errors).toBeUndefined();
      const connection = body.data?.auditLog;
      if (!connection) throw new Error('no page');
      expect(connection.edges.length).toBeLessThanOrEqual(size);
      const page = connection.edges.map((e) => e.node.target);
      if (backwards) seen.unshift(...page);
      else seen.push(...page);
      const more = backwards ? connection.pageInfo.hasPreviousPage : connection.pageInfo.hasNextPage;
      if (!more) return seen;
      cursor = backwards ? connection.pageInfo.startCursor : connection.pageInfo.endCursor;
    }
    throw new Error('paging did not end');
  }

  it('pages forwards and backwards without gaps or repeats', async () => {
    const all = targets(model);
    for (const size of [1, 2, 5]) {
      expect(await walk('super', size)).toEqual(all);
      expect(await walk('super', size, true)).toEqual(all);
    }
    expect(await walk('dadmin', 2)).toEqual(await listTargets('dadmin'));
    expect(await walk('super', 2, false, { actionPrefix: 'quarantine.' })).toEqual([
      's10',
      's09',
      's04',
      's03',
      's02',
    ]);
  });

  it('rejects forged cursors and oversized pages as bad input', async () => {
    const forged = [
      'not a cursor',
      Buffer.from('[1,"x"]').toString('base64url'),
      Buffer.from('{}').toString('base64url'),
      Buffer.from('[1e300,1]').toString('base64url'),
    ];
    for (const after of forged) {
      const body = await list('super', { after });
      expect(body.errors?.[0]?.extensions?.code, after).toBe('BAD_USER_INPUT');
    }
    const big = await list('super', { first: 501 });
    expect(big.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('loads entries by global ID only where the caller may see them', async () => {
    const all = (await list('super')).data?.auditLog.edges.map((e) => e.node) ?? [];
    const idOf = (target: string) => all.find((n) => n.target === target)?.id;
    const NODE = `query Node($id: ID!) { node(id: $id) { ... on AuditEntry { target } } }`;
    const load = async (who: Who, target: string) =>
      (await request<{ node: { target: string } | null }>(app, NODE, { id: idOf(target) }, cookies[who]))
        .body;
    expect((await load('dadmin', 's02')).data?.node).toEqual({ target: 's02' });
    expect((await load('dadmin', 's05')).data?.node).toBeNull();
    expect((await load('user', 's02')).data?.node).toBeNull();
    expect((await load('super', 's05')).data?.node).toEqual({ target: 's05' });
  });
}

describe('audit log on embedded PGlite', () => {
  auditLogSuite(openEmbeddedDatabase);
});

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `audit log on ${service}`, () => {
    auditLogSuite(() => openRealDatabase(dialect));
  });
}
