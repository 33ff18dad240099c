// Deadlocks on the real servers: the database rolls one transaction back, and retryingTransaction runs
// it again instead of letting the caller see "Unexpected error" (concurrent sender-list writes on
// MariaDB did, before). Two transactions lock two rows in opposite orders, so one of them must lose.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Connection,
  isLockConflict,
  openDatabase,
  retryingTransaction,
} from '../../server/db/database.ts';
import { createTempDatabase, type TempDatabase } from '../support/databases.ts';
import { describeWith } from '../support/services.ts';

type Tx = Parameters<Parameters<Connection['db']['transaction']>[0]>[0];

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `lock conflicts on ${service}`, () => {
    let temp: TempDatabase;
    let connection: Connection;

    beforeAll(async () => {
      temp = await createTempDatabase(dialect);
      connection = await openDatabase({ kind: 'url', dialect, url: temp.url, display: temp.name }, 'test');
      await connection.db.execute(sql`create table counters (id integer primary key, n integer not null)`);
    });
    afterAll(async () => {
      await connection?.close();
      await temp?.drop();
    });

    const reset = () => connection.db.execute(sql`update counters set n = 0`);
    const counts = async () =>
      (await connection.rows<{ id: number; n: number }>(sql`select id, n from counters order by id`)).map(
        (r) => [Number(r.id), Number(r.n)],
      );

    /** Two transactions that each bump row `first` then row `second`, both holding `first` before either goes on. */
    function crossedPair(run: (work: (tx: Tx) => Promise<void>) => Promise<void>) {
      let attempts = 0;
      let arrived = 0;
      let open: () => void = () => {};
      const bothLocked = new Promise<void>((resolve) => {
        open = resolve;
      });
      const bump = (first: number, second: number) =>
        run(async (tx) => {
          attempts++;
          await tx.execute(sql`update counters set n = n + 1 where id = ${first}`);
          if (++arrived === 2) open();
          await bothLocked;
          await tx.execute(sql`update counters set n = n + 1 where id = ${second}`);
        });
      return { done: Promise.allSettled([bump(1, 2), bump(2, 1)]), attempts: () => attempts };
    }

    it('a plain transaction loses the deadlock with an error the helper recognises', async () => {
      await connection.db.execute(sql`delete from counters`);
      await connection.db.execute(sql`insert into counters (id, n) values (1, 0), (2, 0)`);
      const pair = crossedPair((work) => connection.db.transaction(work));
      const results = await pair.done;
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed).toHaveLength(1);
      expect(isLockConflict((failed[0] as PromiseRejectedResult).reason)).toBe(true);
      // the loser was rolled back whole: only the winner's two bumps are there
      expect(await counts()).toEqual([
        [1, 1],
        [2, 1],
      ]);
    });

    it('retryingTransaction runs the loser again, and both changes land', async () => {
      await reset();
      const pair = crossedPair((work) => retryingTransaction(connection, work));
      const results = await pair.done;
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(pair.attempts()).toBe(3);
      expect(await counts()).toEqual([
        [1, 2],
        [2, 2],
      ]);
    });

    it('other errors are not retried', async () => {
      let attempts = 0;
      await expect(
        retryingTransaction(connection, async (tx) => {
          attempts++;
          await tx.execute(sql`insert into counters (id, n) values (1, 0)`);
        }),
      ).rejects.toSatisfy((error) => !isLockConflict(error));
      expect(attempts).toBe(1);
    });
  });
}
