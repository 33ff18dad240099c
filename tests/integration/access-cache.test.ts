// Each replica keeps resolved sessions, tokens and the settings for a while (server/access/access-cache.ts).
// Two replicas on one real database, keeping things for 60 s: a change made through either holds at once
// on the replica that made it and within about a second on the other; an edit made straight in the
// database holds after ACCESS_CACHE_SECONDS; nothing outlives its session.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { POLL_MS } from '../../server/access/access-cache.ts';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { openRealDatabase } from '../support/databases.ts';
import { type Client, createClient, logInAs } from '../support/graphql-client.ts';
import { describeWith } from '../support/services.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const ADMIN = { email: 'admin@cache.example', password: 'admin-password-1' };
const PASSWORD = 'user-password-12';
const VIEWER = '{ viewer { kind email role domains } }';

interface ViewerData {
  viewer: { kind: string; email: string | null; role: string | null; domains: string[] };
}

async function viewerOf(client: Client): Promise<ViewerData['viewer']> {
  const response = await client.gql<ViewerData>(VIEWER);
  if (!response.data) throw new Error(JSON.stringify(response.errors));
  return response.data.viewer;
}

/** Asks until `check` holds, up to `withinMs`; returns how long it took. */
async function within(withinMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > withinMs) throw new Error(`still not so after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * What a replica serves before its first poll is read afresh, and what it keeps is dropped at the poll
 * that sees a change (its own too): wait for a poll after the last change.
 */
const warmUp = () => new Promise((resolve) => setTimeout(resolve, 2 * POLL_MS));

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `the access cache on ${service}`, () => {
    let database: Awaited<ReturnType<typeof openRealDatabase>>;
    let a: TestApp;
    let b: TestApp;
    let admin: Client;
    let counter = 0;

    beforeAll(async () => {
      database = await openRealDatabase(dialect);
      await database.prepare();
      // kept far longer than the bounds asserted below: only the generation can make them hold
      const env = { ...database.env, JOBS: 'false', ACCESS_CACHE_SECONDS: '60' };
      a = await startTestApp(env);
      b = await startTestApp(env);
      await createSuperadmin(a.stores.console, ADMIN, { onlyIfNoAccounts: false });
      admin = await logInAs(a.url, ADMIN.email, ADMIN.password);
    });

    afterAll(async () => {
      await a?.close();
      await b?.close();
      await database?.dispose();
    });

    /** A new account, logged in through replica A; returns its id and its session on both replicas. */
    async function newAccount(role = 'user') {
      counter += 1;
      const email = `person${counter}@cache.example`;
      const created = await admin.gql<{ createAccount: { account: { id: string } } }>(
        'mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }',
        { input: { email, password: PASSWORD, role } },
      );
      const id = created.data?.createAccount.account.id;
      if (!id) throw new Error(JSON.stringify(created.errors));
      const onA = await logInAs(a.url, email, PASSWORD);
      const onB = createClient(b.url, { session: onA.session() ?? '' });
      // the first signed-in request starts a replica's polling; the ones after its first poll are kept
      for (const round of [1, 2]) {
        if (round === 2) await warmUp();
        expect(await viewerOf(onA)).toMatchObject({ kind: 'account', email });
        expect(await viewerOf(onB)).toMatchObject({ kind: 'account', email });
      }
      return { id, email, onA, onB };
    }

    it('a disabled account is refused at once where it was disabled, within a second or so on the other replica', async () => {
      const { id, onA, onB } = await newAccount();
      const updated = await admin.gql(
        'mutation($input: UpdateAccountInput!) { updateAccount(input: $input) { account { disabled } } }',
        { input: { id, disabled: true } },
      );
      expect(updated.errors).toBeUndefined();
      expect((await viewerOf(onA)).kind).toBe('anonymous');
      const took = await within(3 * POLL_MS, async () => (await viewerOf(onB)).kind === 'anonymous');
      expect(took).toBeLessThanOrEqual(3 * POLL_MS);
    });

    it('a session logged out on one replica ends on the other', async () => {
      const { onA, onB } = await newAccount();
      const out = await onB.gql<{ logOut: { kind: string } }>('mutation { logOut { kind } }');
      expect(out.data?.logOut.kind).toBe('anonymous');
      // B made the change: B refuses at once; A hears of it through the generation
      expect((await viewerOf(createClient(b.url, { session: onA.session() ?? '' }))).kind).toBe('anonymous');
      await within(3 * POLL_MS, async () => (await viewerOf(onA)).kind === 'anonymous');
    });

    it('a role change and a domain handed over reach the other replica', async () => {
      const { id, onB } = await newAccount('domainadmin');
      const domain = await admin.gql<{ createDomain: { domain: { id: string } } }>(
        'mutation($input: CreateDomainInput!) { createDomain(input: $input) { domain { id } } }',
        { input: { name: `d${counter}.cache.example` } },
      );
      const domainId = domain.data?.createDomain.domain.id;
      expect(domainId).toBeTruthy();
      const set = await admin.gql(
        'mutation($input: SetDomainAdminsInput!) { setDomainAdmins(input: $input) { domain { id } } }',
        { input: { domainId, accountIds: [id] } },
      );
      expect(set.errors).toBeUndefined();
      await within(3 * POLL_MS, async () =>
        (await viewerOf(onB)).domains.includes(`d${counter}.cache.example`),
      );
      const demoted = await admin.gql(
        'mutation($input: UpdateAccountInput!) { updateAccount(input: $input) { account { role } } }',
        { input: { id, role: 'user' } },
      );
      expect(demoted.errors).toBeUndefined();
      await within(3 * POLL_MS, async () => {
        const viewer = await viewerOf(onB);
        return viewer.role === 'user' && viewer.domains.length === 0;
      });
    });

    it('a revoked API token stops working on both replicas', async () => {
      const made = await admin.gql<{ createApiToken: { secret: string; token: { id: number } } }>(
        'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret token { id } } }',
        { input: { name: `script ${counter}` } },
      );
      const secret = made.data?.createApiToken.secret ?? '';
      const onA = createClient(a.url, { token: secret });
      const onB = createClient(b.url, { token: secret });
      expect((await viewerOf(onA)).email).toBe(ADMIN.email);
      expect((await viewerOf(onB)).email).toBe(ADMIN.email);
      const revoked = await admin.gql('mutation($id: Int!) { revokeApiToken(id: $id) { id } }', {
        id: made.data?.createApiToken.token.id,
      });
      expect(revoked.errors).toBeUndefined();
      expect((await viewerOf(onA)).kind).toBe('anonymous');
      await within(3 * POLL_MS, async () => (await viewerOf(onB)).kind === 'anonymous');
    });

    it('an edit made straight in the database is not seen while kept (the console did not make it)', async () => {
      const { email, onA } = await newAccount();
      await a.stores.console.connection.db.execute(
        sql`update console_accounts set role = 'superadmin' where email = ${email}`,
      );
      // several polls later, the generation has not moved: A goes on with what it kept
      await new Promise((resolve) => setTimeout(resolve, 2 * POLL_MS));
      expect((await viewerOf(onA)).role).toBe('user');
    });
  });
}

await describeWith(['postgresql'], 'the access cache, bounds', () => {
  let database: Awaited<ReturnType<typeof openRealDatabase>>;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    database = await openRealDatabase('pg');
    await database.prepare();
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await database?.dispose();
  });

  async function start(env: Record<string, string>): Promise<Client> {
    const app = await startTestApp({ ...database.env, JOBS: 'false', ...env });
    apps.push(app);
    await createSuperadmin(app.stores.console, ADMIN, { onlyIfNoAccounts: true });
    const client = await logInAs(app.url, ADMIN.email, ADMIN.password);
    // the first signed-in request starts the replica's polling; the one after its first poll is kept
    expect((await viewerOf(client)).kind).toBe('account');
    await warmUp();
    expect((await viewerOf(client)).kind).toBe('account');
    return client;
  }

  it('keeps nothing past the session itself', async () => {
    // sessions of 3.6 s, kept up to 300 s
    const client = await start({ ACCESS_CACHE_SECONDS: '300', SESSION_TTL_HOURS: '0.001' });
    const took = await within(5000, async () => (await viewerOf(client)).kind === 'anonymous');
    expect(took).toBeGreaterThan(1000);
  });

  it('an edit made straight in the database holds after ACCESS_CACHE_SECONDS', async () => {
    const client = await start({ ACCESS_CACHE_SECONDS: '2' });
    const [app] = apps.slice(-1);
    await app?.stores.console.connection.db.execute(
      sql`update console_accounts set role = 'domainadmin' where email = ${ADMIN.email}`,
    );
    expect((await viewerOf(client)).role).toBe('superadmin');
    const took = await within(3000, async () => (await viewerOf(client)).role === 'domainadmin');
    expect(took).toBeLessThanOrEqual(3000);
    await app?.stores.console.connection.db.execute(
      sql`update console_accounts set role = 'superadmin' where email = ${ADMIN.email}`,
    );
  });

  it('with ACCESS_CACHE_SECONDS=0 keeps nothing: an edit in the database holds at once', async () => {
    const client = await start({ ACCESS_CACHE_SECONDS: '0' });
    const [app] = apps.slice(-1);
    await app?.stores.console.connection.db.execute(
      sql`update console_accounts set display_name = 'x', disabled = true where email = ${ADMIN.email}`,
    );
    expect((await viewerOf(client)).kind).toBe('anonymous');
  });
});
