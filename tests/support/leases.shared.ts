// Leases on each database: one holder at a time, renewal, expiry and take-over, and a race of many
// would-be holders in which exactly one wins.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { acquireLease, releaseLease, renewLease, withLease } from '../../server/db/leases.ts';
import { openStores, type Stores } from '../../server/db/stores.ts';
import { createLogger } from '../../server/log.ts';
import { sleep } from './amavis-lab.ts';

export interface LeaseDatabase {
  env: Record<string, string>;
  prepare?: () => Promise<void>;
  dispose: () => Promise<void>;
}

export function leaseSuite(open: () => Promise<LeaseDatabase>): void {
  let database: LeaseDatabase;
  let stores: Stores;
  let n = 0;
  const fresh = () => `test-lease-${++n}`;

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    stores = await openStores(loadConfig({ LOG_LEVEL: 'silent', ...database.env }), createLogger('silent'));
  });
  afterAll(async () => {
    await stores?.close();
    await database?.dispose();
  });

  it('gives a free lease to the first holder only, and again to it (a renewal)', async () => {
    const name = fresh();
    expect(await acquireLease(stores.console, name, 'a', 10_000)).toBe(true);
    expect(await acquireLease(stores.console, name, 'b', 10_000)).toBe(false);
    expect(await acquireLease(stores.console, name, 'a', 10_000)).toBe(true);
    expect(await renewLease(stores.console, name, 'b', 10_000)).toBe(false);
    expect(await renewLease(stores.console, name, 'a', 10_000)).toBe(true);
  });

  it('hands a lease that ran out to another holder, and the old holder can no longer renew it', async () => {
    const name = fresh();
    // long enough that a slow query on a busy CI machine cannot let it run out before the second call
    expect(await acquireLease(stores.console, name, 'a', 1000)).toBe(true);
    expect(await acquireLease(stores.console, name, 'b', 10_000)).toBe(false);
    await sleep(1300);
    expect(await acquireLease(stores.console, name, 'b', 10_000)).toBe(true);
    expect(await renewLease(stores.console, name, 'a', 10_000)).toBe(false);
    const [row] = await stores.console.connection.rows<{ holder: string }>(
      sql`select holder from console_leases where name = ${name}`,
    );
    expect(row?.holder).toBe('b');
  });

  it('is free at once after its holder releases it; a release by another holder changes nothing', async () => {
    const name = fresh();
    expect(await acquireLease(stores.console, name, 'a', 60_000)).toBe(true);
    await releaseLease(stores.console, name, 'b');
    expect(await acquireLease(stores.console, name, 'b', 60_000)).toBe(false);
    await releaseLease(stores.console, name, 'a');
    expect(await acquireLease(stores.console, name, 'b', 60_000)).toBe(true);
  });

  it('lets exactly one of many concurrent holders win, for a new lease and for one that ran out', async () => {
    for (const expired of [false, true]) {
      const name = fresh();
      if (expired) {
        await acquireLease(stores.console, name, 'old', 50);
        await sleep(200);
      }
      const holders = Array.from({ length: 12 }, (_, i) => `h${i}`);
      const won = await Promise.all(holders.map((h) => acquireLease(stores.console, name, h, 60_000)));
      expect(won.filter(Boolean)).toHaveLength(1);
    }
  });

  it('withLease runs the work once while holding the lease, renews it, and frees it afterwards', async () => {
    const name = fresh();
    let runs = 0;
    const outcome = await withLease(stores.console, name, 'a', 1000, async () => {
      runs++;
      // longer than the lease's time to live: only renewals keep others out
      await sleep(2200);
      expect(await acquireLease(stores.console, name, 'b', 60_000)).toBe(false);
      const nested = await withLease(stores.console, name, 'c', 1000, async () => runs++);
      expect(nested.acquired).toBe(false);
      return 'done';
    });
    expect(outcome).toEqual({ acquired: true, value: 'done' });
    expect(runs).toBe(1);
    expect(await acquireLease(stores.console, name, 'b', 60_000)).toBe(true);
  });
}
