// Live quarantine end to end with the real amavisd on each database: a GTUBE mail amavisd quarantines
// reaches the subscribed clients that may list it (the recipient, the domain admin, a superadmin) and no
// other; a gap in detection (its connections ended from the server side, or the console stopped and
// started again) loses nothing and repeats nothing; and with Redis, two replicas share the events and the
// detection (a release on one reaches a client on the other; killing the detecting replica hands the
// detection over).
//
// A real database restart is not done here: the databases serve every engineer on this machine. Ending
// the detector's connections from the server side is what a restart does to the console.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { amavisTables } from '../../server/db/amavis-tables.ts';
import { openDatabase } from '../../server/db/database.ts';
import type { AmavisStore } from '../../server/db/stores.ts';
import { createLiveTrigger, dropLiveTrigger } from '../../server/events/amavis-notify.ts';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { type LabInstance, lab, quarantineGtube, waitFor } from '../support/amavis-lab.ts';
import { createTempDatabase, type TempDatabase } from '../support/databases.ts';
import { addAccount } from '../support/factories.ts';
import { type Client, logInAs } from '../support/graphql-client.ts';
import { LAB_ROOT, updateSettingsAs } from '../support/lab-console.ts';
import {
  type LiveEvent,
  latestCursor,
  type Subscription,
  sleep,
  subscribeEvents,
} from '../support/live-client.ts';
import { killDetectorConnections, listenerConnected, waitForLeader } from '../support/live-lab.ts';
import { messageId, RELEASE } from '../support/release.shared.ts';
import { type Running, startConsole } from '../support/run-console.ts';
import { describeWith, REDIS_URL } from '../support/services.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const PASSWORD = 'live-lab-password-1';

for (const [instance, dialect, service] of [
  ['PG', 'pg', 'postgresql'],
  ['MY', 'mysql', 'mariadb'],
] as const satisfies readonly [LabInstance, string, string][]) {
  const amavisUrl = lab[dialect === 'pg' ? 'AMAVIS_LAB_PG_URL' : 'AMAVIS_LAB_MYSQL_URL'] ?? '';
  const tag = instance.toLowerCase();
  const userAddress = `live-user-${tag}@example.test`;
  const otherAddress = `live-other-${tag}@example.test`;
  const mine = (mailId: string) => (e: LiveEvent) => e.kind === 'quarantined' && e.entry?.mailId === mailId;
  const count = (sub: Subscription<LiveEvent>, mailId: string) => sub.received.filter(mine(mailId)).length;

  /** The trigger (PostgreSQL) while a suite runs: the lab's tables are shared, so it goes again after. */
  const withTrigger = async (action: 'create' | 'drop') => {
    if (dialect !== 'pg') return;
    const connection = await openDatabase({ kind: 'url', dialect, url: amavisUrl, display: 'lab' }, 'lab');
    try {
      await (action === 'create' ? createLiveTrigger(connection) : dropLiveTrigger(connection));
    } finally {
      await connection.close();
    }
  };

  await describeWith(['amavisd', service], `live quarantine events with amavisd-new on ${service}`, () => {
    let consoleDb: TempDatabase;
    let env: Record<string, string>;
    let app: TestApp;
    /** The lab's amavis tables, apart from the console (which the restart test stops). */
    let labStore: AmavisStore;
    let root: Client;
    let user: Client;
    let domainAdmin: Client;
    let other: Client;
    const subs: Subscription<LiveEvent>[] = [];
    const watch = (url: string, client: Client, since: string | null) => {
      const sub = subscribeEvents(url, { session: client.session() }, since);
      subs.push(sub);
      return sub;
    };
    const gtube = (label: string) =>
      quarantineGtube(instance, labStore, { recipients: [userAddress], label });

    beforeAll(async () => {
      await withTrigger('create');
      const connection = await openDatabase({ kind: 'url', dialect, url: amavisUrl, display: 'lab' }, 'lab');
      labStore = { connection, t: amavisTables(dialect) };
      consoleDb = await createTempDatabase(dialect);
      env = { AMAVIS_DATABASE_URL: amavisUrl, DATABASE_URL: consoleDb.url, LIVE_POLL_INTERVAL_MS: '500' };
      app = await startTestApp(env);
      await createSuperadmin(app.stores.console, LAB_ROOT, { onlyIfNoAccounts: false });
      await addAccount(app.stores.console, { email: userAddress, role: 'user', password: PASSWORD });
      await addAccount(app.stores.console, { email: otherAddress, role: 'user', password: PASSWORD });
      await addAccount(app.stores.console, {
        email: `live-admin-${tag}@admin.test`,
        role: 'domainadmin',
        password: PASSWORD,
        addresses: [],
        domains: ['example.test'],
      });
      root = await logInAs(app.url, LAB_ROOT.email, LAB_ROOT.password);
      user = await logInAs(app.url, userAddress, PASSWORD);
      other = await logInAs(app.url, otherAddress, PASSWORD);
      domainAdmin = await logInAs(app.url, `live-admin-${tag}@admin.test`, PASSWORD);
      app.app.live.start();
      await waitForLeader(app.app.live);
    });

    afterAll(async () => {
      for (const sub of subs) await sub.close().catch(() => {});
      await app?.close();
      await labStore?.connection.close();
      await consoleDb?.drop();
      await withTrigger('drop');
    });

    it(`detects amavisd's writes by ${dialect === 'pg' ? 'LISTEN/NOTIFY' : 'polling'}`, () => {
      expect(app.app.live.status()).toMatchObject({
        leader: true,
        mode: dialect === 'pg' ? 'listen' : 'poll',
      });
    });

    it('a GTUBE mail reaches the recipient, the domain admin and a superadmin, and not another user', async () => {
      const since = await latestCursor(app.stores.console);
      const [u, d, r, o] = [user, domainAdmin, root, other].map((c) => watch(app.url, c, since));
      const q = await gtube('live fan-out');
      const seen = Date.now();
      for (const sub of [u, d, r]) {
        const event = await sub?.waitFor(mine(q.mailId));
        expect(event).toMatchObject({ recipient: userAddress, statusCode: null });
        expect(event?.entry?.subject).toContain(q.tag);
      }
      const latencyMs = Date.now() - seen;
      await sleep(1500);
      for (const sub of [u, d, r]) expect(sub && count(sub, q.mailId)).toBe(1);
      expect(o?.received.filter((e) => e.entry?.mailId === q.mailId || e.recipient === userAddress)).toEqual(
        [],
      );
      // the row was in the database when quarantineGtube returned; the event follows within a poll
      expect(latencyMs).toBeLessThan(dialect === 'pg' ? 2000 : 3000);
    });

    it("a gap in the detector's connections loses nothing and repeats nothing", async () => {
      const sub = watch(app.url, root, await latestCursor(app.stores.console));
      const before = await app.app.live.detectorConnections();
      expect(await killDetectorConnections(app.app.live, dialect)).toBeGreaterThan(0);
      const during = [await gtube('live gap 1'), await gtube('live gap 2')];
      for (const q of during) await sub.waitFor(mine(q.mailId), 30_000);
      if (dialect === 'pg') {
        const name = before?.listenApplicationName ?? '';
        await waitFor('the LISTEN connection back', async () =>
          (await listenerConnected(name)) ? true : null,
        );
        // notifications flow again (not only the slow safety poll)
        const after = await gtube('live after the gap');
        await sub.waitFor(mine(after.mailId), 5000);
        during.push(after);
      }
      await sleep(1500);
      for (const q of during) expect(count(sub, q.mailId)).toBe(1);
    }, 90_000);

    it('a console stopped and started again: a client resuming with since gets what it missed, once', async () => {
      const first = watch(app.url, user, await latestCursor(app.stores.console));
      const q0 = await gtube('live before stop');
      const last = await first.waitFor(mine(q0.mailId));
      await first.close();
      await app.close();
      const missed = await gtube('live while stopped');
      app = await startTestApp(env);
      app.app.live.start();
      const again = watch(app.url, user, last.cursor);
      await again.waitFor(mine(missed.mailId), 30_000);
      const q2 = await gtube('live after restart');
      await again.waitFor(mine(q2.mailId));
      await sleep(1500);
      expect(count(again, q0.mailId)).toBe(0);
      expect(count(again, missed.mailId)).toBe(1);
      expect(count(again, q2.mailId)).toBe(1);
    }, 90_000);
  });

  await describeWith(
    ['amavisd', service, 'redis'],
    `two console replicas sharing live events through Redis, with amavisd-new on ${service}`,
    () => {
      let consoleDb: TempDatabase;
      let replicaB: Running;
      let appA: TestApp;
      const subs: Subscription<LiveEvent>[] = [];
      const [pdpHost, pdpPort] = (lab[`AMAVIS_LAB_${instance}_PDP`] ?? '').split(':');

      beforeAll(async () => {
        await withTrigger('create');
        consoleDb = await createTempDatabase(dialect);
        const env = {
          AMAVIS_DATABASE_URL: amavisUrl,
          DATABASE_URL: consoleDb.url,
          LIVE_POLL_INTERVAL_MS: '500',
          REDIS_URL,
        };
        // B runs as its own process and starts first, so it detects; A (in this process) only listens
        replicaB = await startConsole({ ...env, PORT: '0', HOST: '127.0.0.1' });
        await waitFor('replica B detecting', async () =>
          replicaB.logs().includes('live events: this replica detects') ? true : null,
        );
        appA = await startTestApp(env);
        await createSuperadmin(appA.stores.console, LAB_ROOT, { onlyIfNoAccounts: false });
        await addAccount(appA.stores.console, { email: userAddress, role: 'user', password: PASSWORD });
      });

      afterAll(async () => {
        for (const sub of subs) await sub.close().catch(() => {});
        await replicaB?.stop('SIGKILL').catch(() => {});
        await appA?.close();
        await consoleDb?.drop();
        await withTrigger('drop');
      });

      it('a client on replica A sees a release made on replica B, then A takes over when B dies', async () => {
        const rootOnB = await logInAs(replicaB.url, LAB_ROOT.email, LAB_ROOT.password);
        await updateSettingsAs(rootOnB, {
          amPdpMode: 'inet',
          amPdpHost: pdpHost,
          amPdpPort: Number(pdpPort),
        });
        const userOnA = await logInAs(appA.url, userAddress, PASSWORD);
        const sub = subscribeEvents(
          appA.url,
          { session: userOnA.session() },
          await latestCursor(appA.stores.console),
        );
        subs.push(sub);
        const q = await quarantineGtube(instance, appA.stores.amavis, {
          recipients: [userAddress],
          label: 'live replicas',
        });
        await sub.waitFor(mine(q.mailId));
        expect(appA.app.live.status()).toMatchObject({ leader: false, bus: 'redis' });

        const released = await rootOnB.gql<{ releaseMessages: { results: { outcome: string }[] } }>(RELEASE, {
          input: { ids: [messageId(q.mailId)] },
        });
        expect(released.data?.releaseMessages.results[0]?.outcome).toBe('released');
        const event = await sub.waitFor((e) => e.kind === 'released' && e.entry?.mailId === q.mailId);
        expect(event).toMatchObject({ statusCode: 'R', entry: { status: { code: 'R' } } });

        // B dies without giving up its lease: A takes over once it runs out (15 s) and catches up
        await replicaB.stop('SIGKILL');
        const afterDeath = await quarantineGtube(instance, appA.stores.amavis, {
          recipients: [userAddress],
          label: 'live takeover',
        });
        await sub.waitFor(mine(afterDeath.mailId), 40_000);
        expect(appA.app.live.status().leader).toBe(true);
        await sleep(1500);
        expect(count(sub, afterDeath.mailId)).toBe(1);
        expect(sub.received.filter((e) => e.kind === 'released')).toHaveLength(1);
      }, 90_000);
    },
  );
}
