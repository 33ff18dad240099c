// The scheduler: Bree runs each job's worker (jobs/*.job.ts, a worker thread) on the job's schedule
// (settings, cron). The lease in runJob keeps replicas from running a job twice; Bree itself refuses to
// start a job whose worker is still running here, which is recorded as a skipped run too. Schedules
// changed in the settings are picked up within a minute.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Bree from 'bree';
import type { Config } from '../../config.ts';
import type { Stores } from '../../db/stores.ts';
import type { Logger } from '../../log.ts';
import { createMailer } from '../../mail/mailer.ts';
import { StartupError } from '../../startup-error.ts';
import { getSettings } from '../settings/settings.service.ts';
import {
  isJobName,
  JOB_NAMES,
  type JobName,
  recordSkippedRun,
  runJob,
  SCHEDULE_SETTING,
} from './jobs.service.ts';

const JOBS_DIR = fileURLToPath(new URL('../../../jobs/', import.meta.url));
const RESCHEDULE_CHECK_MS = 60_000;

export interface Scheduler {
  /** The schedule each job runs on in this process. */
  schedules(): Record<JobName, string>;
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  config: Config;
  stores: Stores;
  log: Logger;
}

/** Bree logs through this: its "already running" warning is an overlap, which is recorded. */
export function breeLogger(log: Logger, onOverlap: (job: JobName) => void) {
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  return {
    info: (...args: unknown[]) => log.debug({ scheduler: 'bree' }, text(args)),
    warn: (...args: unknown[]) => {
      const message = text(args);
      const overlap = /Job "([^"]+)" is already running/.exec(message);
      if (overlap?.[1] && isJobName(overlap[1])) onOverlap(overlap[1]);
      else log.warn({ scheduler: 'bree' }, message);
    },
    error: (...args: unknown[]) => log.error({ scheduler: 'bree' }, text(args)),
  };
}

export async function startScheduler({ config, stores, log }: SchedulerOptions): Promise<Scheduler> {
  const mailer = createMailer(config.smtpUrl, log);
  const deps = { stores, mailer, publicUrl: config.publicUrl, log };
  const settings = await getSettings(stores.console);
  const current = Object.fromEntries(
    JOB_NAMES.map((name) => [name, settings[SCHEDULE_SETTING[name]]]),
  ) as Record<JobName, string>;
  const delegated = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    delegated.add(work);
    void work.finally(() => delegated.delete(work));
  };
  const onOverlap = (job: JobName) => {
    log.warn({ job }, 'job skipped: its previous run is still going');
    track(
      recordSkippedRun(
        stores.console,
        { job, origin: 'schedule' },
        'skipped: the previous run in this process is still going',
      ).catch((error: unknown) => log.error({ err: error, job }, 'could not record a skipped run')),
    );
  };
  const definition = (name: JobName) => ({
    name,
    path: path.join(JOBS_DIR, `${name}.job.ts`),
    cron: current[name],
  });
  let bree: Bree;
  try {
    bree = new Bree({
      root: JOBS_DIR,
      // Node 24 runs TypeScript workers as they are
      defaultExtension: 'ts',
      acceptedExtensions: ['.ts', '.js'],
      logger: breeLogger(log, onOverlap),
      jobs: JOB_NAMES.map(definition),
      workerMessageHandler: ({ name, message }) => {
        const report = message as
          | { kind?: string; job?: string; outcome?: string; message?: string }
          | 'done';
        if (report === 'done' || typeof report !== 'object' || report === null) return;
        if (report.kind === 'delegate' && isJobName(name)) {
          // embedded database: only this process may open it
          track(
            runJob(deps, { job: name, origin: 'schedule' }).catch((error: unknown) =>
              log.error({ err: error, job: name }, 'job failed'),
            ),
          );
        } else if (report.kind === 'error') {
          log.error({ job: name, err: report.message }, 'job worker failed');
        } else if (report.kind === 'run') {
          log.info({ job: name, outcome: report.outcome }, 'job worker finished');
        }
      },
      errorHandler: (error, data) => log.error({ err: error, job: data.name }, 'job worker error'),
    });
    await bree.start();
  } catch (error) {
    mailer.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new StartupError(`cannot start the job scheduler: ${reason} (JOBS=off starts without it)`);
  }
  log.info({ schedules: current }, 'job scheduler started');

  // picks up schedules changed in the settings; a running job is rescheduled once it is done
  const timer = setInterval(() => {
    void getSettings(stores.console)
      .then(async (latest) => {
        for (const name of JOB_NAMES) {
          const wanted = latest[SCHEDULE_SETTING[name]];
          if (wanted === current[name] || bree.workers.has(name)) continue;
          await bree.remove(name);
          current[name] = wanted;
          await bree.add(definition(name));
          await bree.start(name);
          log.info({ job: name, schedule: wanted }, 'job rescheduled');
        }
      })
      .catch((error: unknown) => log.error({ err: error }, 'could not reschedule jobs'));
  }, RESCHEDULE_CHECK_MS);
  timer.unref();

  return {
    schedules: () => ({ ...current }),
    stop: async () => {
      clearInterval(timer);
      await bree.stop();
      await Promise.allSettled([...delegated]);
      mailer.close();
    },
  };
}
