// The cleanup job on the bench data (issue "Background jobs"): runCleanup with the default retention
// (14 days; the generator spreads 30 days, so about half the messages are due), while amavisd's inserts are
// replayed next to it the way amavisd writes (amavisd-inserts.ts) at INSERT_RATE messages a second, a busy
// server's pace (1.7 M a day; flat out, the replay alone would take a core of these two). Reported:
// rows removed per second, the batch times, and how long those concurrent inserts took during the purge
// against the same inserts just before it (the bar: p99 ≤ 200 ms). It deletes half the data, so it runs
// last, and only on a database the bench generated (or with --allow-cleanup).
import { runCleanup } from '../../server/features/cleanup/cleanup.service.ts';
import { ratio, summarise } from '../lib/stats.ts';
import { createReplay, removeReplayed, replayOne } from './amavisd-inserts.ts';
import type { BenchCase, CaseResult } from './types.ts';

const INSERT_WAIT_P99_MS = 200;
const BASELINE_INSERTS = 100;
const INSERT_RATE = 20;

export const cleanupCase: BenchCase = {
  name: 'cleanup',
  run: async (context): Promise<CaseResult> => {
    if (!context.options.allowCleanup) {
      return {
        skipped: 'deletes the expired half of the data: only on generated data or with --allow-cleanup',
      };
    }
    const replay = await createReplay(context.store.connection);
    const stores = {
      amavis: context.store,
      console: context.consoleStore,
      amavisCreated: false,
      close: async () => {},
    };
    try {
      const before: number[] = [];
      for (let i = 0; i < BASELINE_INSERTS; i++) before.push(await replayOne(replay));

      const during: number[] = [];
      const batches: number[] = [];
      let lastBatchAt = performance.now();
      let purging = true;
      const inserting = (async () => {
        const started = performance.now();
        for (let n = 0; purging; n++) {
          // on schedule, without catching up: a slow insert is what is measured, not made up for
          const due = started + (n * 1000) / INSERT_RATE - performance.now();
          if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
          else n = Math.floor(((performance.now() - started) * INSERT_RATE) / 1000);
          if (purging) during.push(await replayOne(replay));
        }
      })();
      const t0 = performance.now();
      let summary: Awaited<ReturnType<typeof runCleanup>>;
      try {
        summary = await runCleanup(stores, {
          ...(context.options.cleanupBatch ? { batchSize: context.options.cleanupBatch } : {}),
          onProgress: () => {
            const now = performance.now();
            batches.push(now - lastBatchAt);
            lastBatchAt = now;
          },
        });
      } finally {
        purging = false;
        await inserting;
      }
      const seconds = (performance.now() - t0) / 1000;
      const rows = Object.values(summary.tables).reduce((sum, n) => sum + n, 0);
      const insertsBefore = summarise(before);
      const insertsDuring = summarise(during);
      return {
        complete: summary.complete,
        expiredMessages: summary.categories.expired.messages,
        logOnlyMessages: summary.categories.logOnly.messages,
        markedMessages: summary.categories.marked.messages,
        tables: summary.tables,
        seconds: Math.round(seconds * 10) / 10,
        rowsPerSecond: Math.round(rows / seconds),
        messagesPerSecond: Math.round(
          (summary.categories.expired.messages +
            summary.categories.logOnly.messages +
            summary.categories.marked.messages) /
            seconds,
        ),
        batch: summarise(batches),
        insertsBefore,
        insertsDuring,
        insertRate: INSERT_RATE,
        batchSize: summary.batchSize,
        insertWaitMaxMs: Math.round(Math.max(0, ...during) * 10) / 10,
        insertRatioP99: ratio(insertsDuring.p99, insertsBefore.p99),
        meets: summary.complete && insertsDuring.p99 <= INSERT_WAIT_P99_MS,
      };
    } finally {
      await removeReplayed(replay);
    }
  },
};
