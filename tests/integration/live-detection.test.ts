// Detecting what amavisd quarantined without the trigger (polling), and reading the event log in order,
// on each real database: nothing missed (rows committed late, hundreds in one second, rows amavisd is
// still processing) and nothing repeated (again, after a restart). Plus the PostgreSQL trigger installer.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import type { SqlDb } from '../../server/db/database.ts';
import { type AmavisStore, type ConsoleStore, openStores, type Stores } from '../../server/db/stores.ts';
import {
  createLiveTrigger,
  dropLiveTrigger,
  liveTriggerInstalled,
} from '../../server/events/amavis-notify.ts';
import { createQuarantineScanner } from '../../server/events/amavis-scanner.ts';
import { createLogTailer } from '../../server/events/log-tailer.ts';
import { insertEvents, type QuarantineEvent } from '../../server/events/quarantine-events.ts';
import { createLogger } from '../../server/log.ts';
import { openRealDatabase } from '../support/databases.ts';
import { addMessage } from '../support/factories.ts';
import { describeWith } from '../support/services.ts';

const now = () => Math.floor(Date.now() / 1000);

function inTransaction<S extends AmavisStore | ConsoleStore>(store: S, tx: SqlDb): S {
  return { ...store, connection: { ...store.connection, db: tx } };
}

async function quarantinedKeys(stores: Stores): Promise<string[]> {
  const t = stores.console.t.quarantineEventsTable;
  const rows = await stores.console.connection.db.select().from(t);
  return rows.filter((r) => r.kind === 'quarantined').map((r) => `${r.mailId}:${r.rseqnum}`);
}

const event = (mailId: string) => ({
  kind: 'viewed' as const,
  partitionTag: 0,
  mailId,
  rseqnum: 1,
  recipient: 'someone@example.test',
  status: 'V',
  actor: 'test',
});

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `detecting amavisd's writes by polling, on ${service}`, () => {
    let stores: Stores;
    let dispose: () => Promise<void>;

    beforeAll(async () => {
      const db = await openRealDatabase(dialect);
      dispose = db.dispose;
      await db.prepare();
      stores = await openStores(loadConfig({ ...db.env, LOG_LEVEL: 'silent' }), createLogger('silent'));
    });

    afterAll(async () => {
      await stores?.close();
      await dispose?.();
    });

    it('announces an entry once amavisd finished it (content and chunk 1), and only once', async () => {
      const scanner = createQuarantineScanner(stores.amavis, stores.console);
      await scanner.scan();
      const mailId = await addMessage(stores.amavis, {
        timeNum: now(),
        content: null,
        quarantined: false,
        recipients: [
          { email: 'a@example.test', content: 'S' },
          { email: 'b@example.test', content: 'S' },
        ],
      });
      expect(await scanner.scan()).toBe(0);
      const m = stores.amavis.t.msgsTable;
      await stores.amavis.connection.db
        .update(m)
        .set({ content: 'S', quarType: 'Q' })
        .where(eq(m.mailId, mailId));
      // content set, but the quarantine chunk is not there yet
      expect(await scanner.scan()).toBe(0);
      await stores.amavis.connection.db
        .insert(stores.amavis.t.quarantineTable)
        .values({ partitionTag: 0, mailId, chunkInd: 1, mailText: Buffer.from('Subject: x\n\nbody\n') });
      expect(await scanner.scan()).toBe(2);
      expect(await scanner.scan()).toBe(0);
      // a new detector (a restart, another replica taking over) repeats nothing
      expect(await createQuarantineScanner(stores.amavis, stores.console).scan()).toBe(0);
      expect((await quarantinedKeys(stores)).filter((k) => k.startsWith(mailId)).sort()).toEqual([
        `${mailId}:1`,
        `${mailId}:2`,
      ]);
    });

    it('misses nothing and repeats nothing when hundreds of messages share one second', async () => {
      const scanner = createQuarantineScanner(stores.amavis, stores.console);
      await scanner.scan();
      const second = now();
      const add = () =>
        addMessage(stores.amavis, { timeNum: second, recipients: [{ email: 'burst@example.test' }] });
      const first: string[] = [];
      for (let i = 0; i < 150; i++) first.push(await add());
      expect(await scanner.scan()).toBe(150);
      const later: string[] = [];
      for (let i = 0; i < 150; i++) later.push(await add());
      expect(await scanner.scan()).toBe(150);
      expect(await scanner.scan()).toBe(0);
      const keys = await quarantinedKeys(stores);
      for (const mailId of [...first, ...later])
        expect(keys.filter((k) => k === `${mailId}:1`)).toHaveLength(1);
    });

    it('finds a message committed late with an older reception time', async () => {
      const scanner = createQuarantineScanner(stores.amavis, stores.console);
      await scanner.scan();
      await addMessage(stores.amavis, { timeNum: now(), recipients: [{ email: 'early@example.test' }] });
      expect(await scanner.scan()).toBe(1);
      let late = '';
      await stores.amavis.connection.db.transaction(async (tx) => {
        late = await addMessage(inTransaction(stores.amavis, tx as unknown as SqlDb), {
          timeNum: now() - 300,
          recipients: [{ email: 'late@example.test' }],
        });
        // not committed yet: invisible to the detector
        expect(await scanner.scan()).toBe(0);
      });
      expect(await scanner.scan()).toBe(1);
      expect(await scanner.scan()).toBe(0);
      expect((await quarantinedKeys(stores)).filter((k) => k === `${late}:1`)).toHaveLength(1);
    });

    it('publishes log events committed out of id order, each once', async () => {
      const published: QuarantineEvent[] = [];
      const tailer = createLogTailer(stores.console, (events) => published.push(...events), {
        gapTimeoutMs: 10_000,
        replayMs: 0,
      });
      await tailer.tick();
      published.length = 0;
      await stores.console.connection.db.transaction(async (tx) => {
        await insertEvents(inTransaction(stores.console, tx as unknown as SqlDb), [event('slow-commit')]);
        await insertEvents(stores.console, [event('quick-commit')]);
        await tailer.tick();
        expect(published.map((e) => e.mailId)).toEqual(['quick-commit']);
      });
      await tailer.tick();
      await insertEvents(stores.console, [event('after')]);
      await tailer.tick();
      await tailer.tick();
      expect(published.map((e) => e.mailId)).toEqual(['quick-commit', 'slow-commit', 'after']);
      const ids = published.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('gives up on a hole that never fills (a rolled back insert) and goes on', async () => {
      const published: QuarantineEvent[] = [];
      const tailer = createLogTailer(stores.console, (events) => published.push(...events), {
        gapTimeoutMs: 200,
        replayMs: 0,
      });
      await tailer.tick();
      published.length = 0;
      await stores.console.connection.db
        .transaction(async (tx) => {
          await insertEvents(inTransaction(stores.console, tx as unknown as SqlDb), [event('rolled-back')]);
          await insertEvents(stores.console, [event('kept')]);
          throw new Error('roll back');
        })
        .catch(() => {});
      await tailer.tick();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await insertEvents(stores.console, [event('next')]);
      await tailer.tick();
      await tailer.tick();
      expect(published.map((e) => e.mailId)).toEqual(['kept', 'next']);
    });

    if (dialect === 'pg') {
      it('installs and removes the NOTIFY trigger on demand', async () => {
        const connection = stores.amavis.connection;
        expect(await liveTriggerInstalled(connection)).toBe(false);
        await createLiveTrigger(connection);
        await createLiveTrigger(connection);
        expect(await liveTriggerInstalled(connection)).toBe(true);
        await dropLiveTrigger(connection);
        expect(await liveTriggerInstalled(connection)).toBe(false);
      });
    }
  });
}
