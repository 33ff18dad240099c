// Restarting the database server while clients are subscribed (issue 7's "Done when"): the events
// resume, and every message amavisd quarantined around the restart reaches every subscriber who may see
// it exactly once, including one written the moment the server is back, before the console has
// reconnected. The server stays away longer than an idle subscription waits before it looks its rights up
// again (SESSION_CHECK_MS), so that lookup meets the outage too. A client that reconnects on its own and
// resumes with since loses nothing and gets nothing twice either. Runs on private server instances (tests/support/private-database.ts): the shared
// ones are never restarted. On PostgreSQL with the NOTIFY trigger (LISTEN) and without it (polling).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialect } from '../../server/config.ts';
import { amavisTables, createAmavisTables } from '../../server/db/amavis-tables.ts';
import { type Connection, openDatabase } from '../../server/db/database.ts';
import { createLiveTrigger } from '../../server/events/amavis-notify.ts';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { SESSION_CHECK_MS } from '../../server/features/live/live.service.ts';
import { addAccount, addMessage } from '../support/factories.ts';
import { type Client, logInAs } from '../support/graphql-client.ts';
import { type LiveEvent, type Subscription, sleep, subscribeEvents } from '../support/live-client.ts';
import {
  createPrivateDatabase,
  type PrivateServer,
  privateServerBinaries,
  startPrivateServer,
} from '../support/private-database.ts';
import { IN_CI } from '../support/services.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const ROOT = { email: 'root@restart.test', password: 'restart-root-password-1' };
const ALICE = { email: 'alice@restart.test', password: 'alice-restart-1' };
const BOB = 'bob@elsewhere.test';
const now = () => Math.floor(Date.now() / 1000);

/** describeWith for the private servers: skipped with a reason outside CI, a failure under CI=true. */
function describePrivate(dialect: Dialect, name: string, body: () => void): void {
  const found = privateServerBinaries(dialect);
  if (found.ok) describe(name, body);
  else if (IN_CI)
    describe(name, () => {
      throw new Error(`CI=true but ${found.reason} is not installed`);
    });
  else describe.skip(`${name} (skipped: ${found.reason} not installed)`, body);
}

const cases = [
  { dialect: 'pg', trigger: true, name: 'PostgreSQL with the NOTIFY trigger' },
  { dialect: 'pg', trigger: false, name: 'PostgreSQL, polling' },
  { dialect: 'mysql', trigger: false, name: 'MariaDB, polling' },
] as const;

for (const { dialect, trigger, name } of cases) {
  describePrivate(dialect, `restarting the database under live subscribers: ${name}`, () => {
    let server: PrivateServer;
    let url: string;
    let app: TestApp;
    let root: Client;
    let alice: Client;
    const open: Subscription<LiveEvent>[] = [];
    /** mailId -> recipient of every message this test quarantined. */
    const written = new Map<string, string>();

    // A writer of its own, as amavisd is: a fresh connection per phase, since the server's restart cuts it.
    let writer: Connection | null = null;
    const quarantine = async (recipient: string) => {
      writer ??= await openDatabase({ kind: 'url', dialect, url, display: 'writer' }, 'writer');
      const mailId = await addMessage(
        { connection: writer, t: amavisTables(dialect) },
        { timeNum: now(), subject: `for ${recipient}`, recipients: [{ email: recipient }] },
      );
      written.set(mailId, recipient);
      return mailId;
    };
    const dropWriter = async () => {
      await writer?.close().catch(() => {});
      writer = null;
    };
    const watch = (client: Client, since: string | null) => {
      const sub = subscribeEvents(app.url, { session: client.session() }, since);
      open.push(sub);
      return sub;
    };
    const got = (sub: Subscription<LiveEvent>) =>
      sub.received.filter((e) => e.kind === 'quarantined').map((e) => e.entry?.mailId ?? `?${e.entryId}`);
    const expectedFor = (who: 'root' | 'alice', after = new Set<string>()) =>
      [...written]
        .filter(([mailId, recipient]) => !after.has(mailId) && (who === 'root' || recipient === ALICE.email))
        .map(([mailId]) => mailId);
    /** Waits until `sub` has every message in `want` (or the time is up); then checks exactly-once. */
    const receivesExactly = async (sub: Subscription<LiveEvent>, want: string[], ms = 25_000) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && !want.every((m) => got(sub).includes(m))) {
        if (sub.errors.length > 0 || sub.completed) break;
        await sleep(100);
      }
      expect(sub.errors).toEqual([]);
      expect(sub.completed).toBe(false);
      expect([...got(sub)].sort()).toEqual([...want].sort());
    };

    beforeAll(async () => {
      server = await startPrivateServer(dialect);
      url = await createPrivateDatabase(server, 'amavis');
      const setup = await openDatabase({ kind: 'url', dialect, url, display: 'setup' }, 'setup');
      await createAmavisTables(setup);
      if (trigger) await createLiveTrigger(setup);
      await setup.close();
      app = await startTestApp({ AMAVIS_DATABASE_URL: url, LIVE_POLL_INTERVAL_MS: '200' });
      await createSuperadmin(app.stores.console, ROOT, { onlyIfNoAccounts: false });
      await addAccount(app.stores.console, { email: ALICE.email, role: 'user', password: ALICE.password });
      root = await logInAs(app.url, ROOT.email, ROOT.password);
      alice = await logInAs(app.url, ALICE.email, ALICE.password);
    }, 60_000);

    afterAll(async () => {
      for (const sub of open) await sub.close().catch(() => {});
      await dropWriter();
      await app?.close().catch(() => {});
      await server?.destroy();
    }, 30_000);

    it('delivers every message quarantined around the restart to every subscriber exactly once', async () => {
      app.app.live.start();
      // the detector is up (and in the expected mode) before anyone subscribes
      for (let i = 0; i < 100 && !app.app.live.status().leader; i++) await sleep(100);
      expect(app.app.live.status()).toMatchObject({ leader: true, mode: trigger ? 'listen' : 'poll' });
      // subscribed from the empty log's start: every quarantined message is theirs to receive
      const rootSub = watch(root, '0');
      const aliceSub = watch(alice, '0');
      // a second tab of alice's that goes away during the restart and resumes with since
      const aliceTab = watch(alice, '0');

      const before = [await quarantine(ALICE.email), await quarantine(BOB), await quarantine(ALICE.email)];
      await receivesExactly(rootSub, before);
      await receivesExactly(aliceTab, expectedFor('alice'));
      const lastSeen = aliceTab.received[aliceTab.received.length - 1]?.cursor ?? '';
      expect(lastSeen).toMatch(/^\d+$/);
      await aliceTab.close();

      await dropWriter();
      await server.stop();
      // The subscribers stay connected to the console while its database is away, longer than an idle
      // subscription waits before it looks its rights up again.
      await sleep(SESSION_CHECK_MS + 1000);
      await server.start();
      // at once, before the console's pools, its detector or its LISTEN connection have reconnected; it
      // arrives alone (well before the trigger mode's safety poll), so the detector found it on its own
      const atOnce = await quarantine(ALICE.email);
      await rootSub.waitFor((e) => e.entry?.mailId === atOnce, 15_000);
      for (let i = 0; i < 4; i++) await quarantine(i % 2 === 0 ? ALICE.email : BOB);

      await receivesExactly(rootSub, expectedFor('root'));
      await receivesExactly(aliceSub, expectedFor('alice'));
      expect(got(aliceSub)).toContain(atOnce);

      // alice's other tab reconnects and resumes after the last event it saw
      const resumed = watch(alice, lastSeen);
      const sawBefore = new Set(before);
      await receivesExactly(resumed, expectedFor('alice', sawBefore));
      // and keeps going live after the replay, still once each
      const last = await quarantine(ALICE.email);
      await receivesExactly(resumed, expectedFor('alice', sawBefore));
      await receivesExactly(aliceSub, expectedFor('alice'));
      await receivesExactly(rootSub, expectedFor('root'));
      expect(got(resumed)).toContain(last);
      // a few more polls: nothing arrives twice late
      await sleep(1000);
      for (const [sub, who] of [
        [rootSub, 'root'],
        [aliceSub, 'alice'],
      ] as const) {
        expect([...got(sub)].sort()).toEqual([...expectedFor(who)].sort());
      }
      expect([...got(resumed)].sort()).toEqual([...expectedFor('alice', sawBefore)].sort());
    }, 90_000);
  });
}
