// What every Bree worker does: open its own databases and mailer (a worker thread shares no memory with
// the server), run the job once under its lease, post the run's outcome to the parent, close. The
// embedded database (PGlite) belongs to the server process alone, so there the worker hands the run back
// to the parent instead.
import { parentPort } from 'node:worker_threads';
import { loadConfig } from '../server/config.ts';
import { openStores } from '../server/db/stores.ts';
import { type JobName, runJob } from '../server/features/jobs/jobs.service.ts';
import { createLogger } from '../server/log.ts';
import { createMailer } from '../server/mail/mailer.ts';

/** Messages a job worker posts to the scheduler (besides Bree's 'done'). */
export type WorkerReport =
  | { kind: 'delegate'; job: JobName }
  | { kind: 'run'; job: JobName; runId: number; outcome: string; error: string | null }
  | { kind: 'error'; job: JobName; message: string };

function post(report: WorkerReport | 'done'): void {
  parentPort?.postMessage(report);
}

export async function runJobWorker(job: JobName): Promise<void> {
  const config = loadConfig();
  if (config.amavisDatabase.kind === 'embedded' || config.consoleDatabase.kind === 'embedded') {
    post({ kind: 'delegate', job });
    post('done');
    return;
  }
  const log = createLogger(config.logLevel).child({ job, worker: true });
  const controller = new AbortController();
  parentPort?.on('message', (message) => {
    if (message === 'cancel') controller.abort();
  });
  try {
    const stores = await openStores(config, log);
    const mailer = createMailer(config.smtpUrl, log);
    try {
      const run = await runJob(
        { stores, mailer, publicUrl: config.publicUrl, log },
        { job, origin: 'schedule', signal: controller.signal },
      );
      post({ kind: 'run', job, runId: run.id, outcome: run.outcome, error: run.error });
    } finally {
      mailer.close();
      await stores.close();
    }
  } catch (error) {
    post({ kind: 'error', job, message: error instanceof Error ? error.message : String(error) });
  }
  post('done');
}
