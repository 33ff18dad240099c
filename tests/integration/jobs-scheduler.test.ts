// The scheduler for real: Bree starts a job's TypeScript worker thread on its cron schedule, the worker
// runs it with its own database connections and the run is recorded with origin schedule; on the
// embedded database the worker hands the run back to the server process. A schedule fires once a
// minute at best, so this file takes about a minute.
import { and, eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { openStores, type Stores } from '../../server/db/stores.ts';
import { startScheduler } from '../../server/features/jobs/scheduler.ts';
import { createLogger } from '../../server/log.ts';
import { sleep } from '../support/amavis-lab.ts';
import { openEmbeddedDatabase, openRealDatabase } from '../support/databases.ts';
import { startConsole } from '../support/run-console.ts';
import { describeWith } from '../support/services.ts';

const EVERY_MINUTE = '* * * * *';
const NEVER_SOON = '0 0 1 1 *';

async function setSchedules(stores: Stores): Promise<void> {
  const t = stores.console.t.settingsTable;
  await stores.console.connection.db.insert(t).values([
    { key: 'digestsSchedule', value: { v: EVERY_MINUTE }, updatedAt: new Date() },
    { key: 'remindersSchedule', value: { v: NEVER_SOON }, updatedAt: new Date() },
    { key: 'cleanupSchedule', value: { v: NEVER_SOON }, updatedAt: new Date() },
  ]);
}

async function scheduledRuns(stores: Stores) {
  const t = stores.console.t.jobRunsTable;
  return stores.console.connection.db
    .select()
    .from(t)
    .where(and(eq(t.origin, 'schedule'), eq(t.job, 'digests')));
}

async function waitForRun(stores: Stores, timeoutMs = 75_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const done = (await scheduledRuns(stores)).filter((r) => r.outcome !== 'running');
    if (done.length > 0) return done;
    await sleep(500);
  }
  throw new Error('no scheduled run within the time');
}

await describeWith(['postgresql'], 'the job scheduler in a console process, on postgresql', () => {
  it('runs a job in a worker thread on its schedule and records the run', async () => {
    const database = await openRealDatabase('pg');
    await database.prepare();
    const log = createLogger('silent');
    const stores = await openStores(loadConfig({ LOG_LEVEL: 'silent', ...database.env }), log);
    let running: Awaited<ReturnType<typeof startConsole>> | undefined;
    try {
      await setSchedules(stores);
      running = await startConsole({ ...database.env, PORT: '0', JOBS: 'on', LOG_LEVEL: 'info' });
      expect(running.logs()).toMatch(/job scheduler started/);
      const [run] = await waitForRun(stores);
      expect(run).toMatchObject({ job: 'digests', origin: 'schedule', outcome: 'success', dryRun: false });
      expect(run?.holder).toContain(`:${running.child.pid}:`);
      // the worker records its run, then exits; the server logs the exit a moment later
      for (let i = 0; i < 100 && !/job worker finished/.test(running.logs()); i++) await sleep(100);
      expect(running.logs()).toMatch(/job worker finished/);
    } finally {
      const stopped = await running?.stop();
      expect(stopped?.code).toBe(0);
      await stores.close();
      await database.dispose();
    }
  }, 120_000);
});

await describeWith([], 'the job scheduler on the embedded database', () => {
  it('hands the run from the worker back to the server process, which records it', async () => {
    const database = await openEmbeddedDatabase();
    const config = loadConfig({ LOG_LEVEL: 'silent', ...database.env });
    const log = createLogger('silent');
    const stores = await openStores(config, log);
    try {
      await setSchedules(stores);
      const scheduler = await startScheduler({ config, stores, log });
      try {
        expect(scheduler.schedules()).toEqual({
          cleanup: NEVER_SOON,
          reminders: NEVER_SOON,
          digests: EVERY_MINUTE,
        });
        const [run] = await waitForRun(stores);
        expect(run).toMatchObject({ job: 'digests', origin: 'schedule', outcome: 'success' });
        expect(run?.holder).toContain(`:${process.pid}:`);
      } finally {
        await scheduler.stop();
      }
    } finally {
      await stores.close();
      await database.dispose();
    }
  }, 120_000);
});
