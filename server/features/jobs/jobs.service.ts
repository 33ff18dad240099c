// Running a background job once, wherever the run comes from (the scheduler's worker, "run now", the
// CLI): one replica at a time (a lease per job in the database), every run recorded in console_job_runs
// with its outcome and counts, and a run that finds the previous one still going recorded as skipped.
import { and, asc, desc, eq, gt, inArray, lt, type SQL } from 'drizzle-orm';
import { type Actor, actorLabel, isAdmin, isSuperadmin } from '../../access/actor.ts';
import { ForbiddenError } from '../../access/forbidden-error.ts';
import { recordAudit } from '../../audit/audit-log.ts';
import { changedRows } from '../../db/database.ts';
import { holderName, withLease } from '../../db/leases.ts';
import {
  decodeCursor,
  encodeCursor,
  type Page,
  type PageArgs,
  pageOf,
  pageRequest,
} from '../../db/paging.ts';
import type { ConsoleStore, Stores } from '../../db/stores.ts';
import type { Logger } from '../../log.ts';
import type { Mailer } from '../../mail/mailer.ts';
import { type CleanupOptions, type CleanupSummary, runCleanup } from '../cleanup/cleanup.service.ts';
import { pruneActionTokens } from '../digests/action-tokens.service.ts';
import { runDigests } from '../digests/digests.service.ts';
import { runReminders } from '../reminders/reminders.service.ts';
import { getSettings, type Settings } from '../settings/settings.service.ts';
import { nextRun } from './job-schedule.ts';

export const JOB_NAMES = ['cleanup', 'reminders', 'digests'] as const;
export type JobName = (typeof JOB_NAMES)[number];
export const JOB_ORIGINS = ['schedule', 'manual', 'cli'] as const;
export type JobOrigin = (typeof JOB_ORIGINS)[number];
export const JOB_OUTCOMES = ['running', 'success', 'failure', 'skipped'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

export function isJobName(name: string): name is JobName {
  return (JOB_NAMES as readonly string[]).includes(name);
}

export const JOB_DESCRIPTIONS: Record<JobName, string> = {
  cleanup:
    'Removes old and finished quarantined mail, log-only rows and unused addresses in batches; expires ' +
    'stale release requests; prunes used or expired digest links and old quarantine events.',
  reminders: 'Mails each admin the release requests waiting for their decision.',
  digests: 'Mails each person who asked for one the mail quarantined for them since their last digest.',
};

/** The setting that holds each job's schedule. */
export const SCHEDULE_SETTING = {
  cleanup: 'cleanupSchedule',
  reminders: 'remindersSchedule',
  digests: 'digestsSchedule',
} as const satisfies Record<JobName, keyof Settings>;

/** A lease outlives a stalled holder by at most this; the holder renews it every third of it. */
export const JOB_LEASE_TTL_MS = 60_000;

/** Quarantine events are kept this many days (clients resume from them after a reconnect). */
const EVENT_RETENTION_DAYS = 7;
/** Digest links are deleted this long after they expired or were used. */
const TOKEN_RETENTION_MS = 24 * 3600_000;

export interface JobDeps {
  stores: Stores;
  mailer: Mailer;
  publicUrl: string | null;
  log: Logger;
}

export interface RunRequest {
  job: JobName;
  origin: JobOrigin;
  /** Who asked (manual runs: the admin; CLI: the operator's user). */
  startedBy?: string | null;
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Cleanup only: its batch size, log retention and progress callback. */
  cleanup?: Pick<CleanupOptions, 'batchSize' | 'logRetentionDays' | 'onProgress'>;
}

export type JobRunRow = ConsoleStore['t']['jobRunsTable']['$inferSelect'];

function leaseName(job: JobName): string {
  return `job:${job}`;
}

async function runOf(store: ConsoleStore, job: JobName, holder: string): Promise<JobRunRow> {
  const t = store.t.jobRunsTable;
  const [row] = await store.connection.db
    .select()
    .from(t)
    .where(and(eq(t.job, job), eq(t.holder, holder)))
    .orderBy(desc(t.id))
    .limit(1);
  if (!row) throw new Error(`the run of ${job} by ${holder} was not recorded`);
  return row;
}

/** Records a run that did not happen because the previous one (here or on another replica) still runs. */
export async function recordSkippedRun(
  store: ConsoleStore,
  request: Pick<RunRequest, 'job' | 'origin' | 'startedBy' | 'dryRun'>,
  reason: string,
  holder = holderName(),
): Promise<JobRunRow> {
  const now = new Date();
  await store.connection.db.insert(store.t.jobRunsTable).values({
    job: request.job,
    origin: request.origin,
    startedBy: request.startedBy?.slice(0, 320) ?? null,
    holder,
    dryRun: request.dryRun ?? false,
    startedAt: now,
    finishedAt: now,
    outcome: 'skipped',
    counts: null,
    error: reason,
  });
  return runOf(store, request.job, holder);
}

function anySignal(signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
}

type Performed = { counts: Record<string, unknown>; error: string | null };

async function perform(deps: JobDeps, request: RunRequest, signal: AbortSignal): Promise<Performed> {
  const dryRun = request.dryRun ?? false;
  if (request.job === 'reminders') {
    const summary = await runReminders(deps, { dryRun, signal });
    return {
      counts: { ...summary },
      error: summary.failed > 0 ? `${summary.failed} reminder(s) not sent` : null,
    };
  }
  if (request.job === 'digests') {
    const summary = await runDigests(deps, { dryRun, signal });
    return {
      counts: { ...summary },
      error: summary.failed > 0 ? `${summary.failed} digest(s) not sent` : null,
    };
  }
  const summary: CleanupSummary = await runCleanup(deps.stores, { ...request.cleanup, dryRun, signal });
  const now = Date.now();
  const actionTokens = await pruneActionTokens(
    deps.stores.console,
    new Date(now - TOKEN_RETENTION_MS),
    dryRun,
  );
  const quarantineEvents = await pruneEvents(
    deps.stores.console,
    new Date(now - EVENT_RETENTION_DAYS * 24 * 3600_000),
    dryRun,
  );
  const error = summary.interrupted
    ? 'interrupted'
    : summary.complete
      ? null
      : summary.failures.map((f) => `${f.step}: ${f.message}`).join('; ') || 'incomplete';
  return { counts: { ...summary, actionTokens, quarantineEvents }, error };
}

async function pruneEvents(store: ConsoleStore, before: Date, dryRun: boolean): Promise<number> {
  const t = store.t.quarantineEventsTable;
  if (dryRun) {
    const rows = await store.connection.db.select({ id: t.id }).from(t).where(lt(t.at, before));
    return rows.length;
  }
  return changedRows(await store.connection.db.delete(t).where(lt(t.at, before)));
}

/**
 * Runs a job once under its lease and records the run. Returns the finished run (outcome success or
 * failure), or a skipped run when another holder has the lease. Never throws for the job's own failures.
 */
export async function runJob(deps: JobDeps, request: RunRequest): Promise<JobRunRow> {
  const store = deps.stores.console;
  // one holder name per run, so two runs in one process never share a lease
  const holder = holderName();
  const t = store.t.jobRunsTable;
  const result = await withLease(store, leaseName(request.job), holder, JOB_LEASE_TTL_MS, async (lease) => {
    // holding the lease, no other run of this job is alive: one still 'running' lost its replica
    await store.connection.db
      .update(t)
      .set({
        outcome: 'failure',
        finishedAt: new Date(),
        error: 'its replica stopped before the run finished',
      })
      .where(and(eq(t.job, request.job), eq(t.outcome, 'running')));
    await store.connection.db.insert(t).values({
      job: request.job,
      origin: request.origin,
      startedBy: request.startedBy?.slice(0, 320) ?? null,
      holder,
      dryRun: request.dryRun ?? false,
      startedAt: new Date(),
      outcome: 'running',
    });
    const run = await runOf(store, request.job, holder);
    let performed: Performed;
    try {
      performed = await perform(deps, request, anySignal([lease.signal, request.signal]));
    } catch (error) {
      deps.log.error({ err: error, job: request.job }, 'job failed');
      performed = { counts: {}, error: error instanceof Error ? error.message : String(error) };
    }
    await store.connection.db
      .update(t)
      .set({
        finishedAt: new Date(),
        outcome: performed.error ? 'failure' : 'success',
        counts: performed.counts,
        error: performed.error?.slice(0, 4000) ?? null,
      })
      .where(eq(t.id, run.id));
    return runOf(store, request.job, holder);
  });
  if (result.acquired) {
    deps.log.info(
      {
        job: request.job,
        origin: request.origin,
        outcome: result.value.outcome,
        counts: result.value.counts,
      },
      'job run finished',
    );
    return result.value;
  }
  deps.log.warn(
    { job: request.job, origin: request.origin },
    'job skipped: the previous run still holds its lease',
  );
  return recordSkippedRun(
    store,
    request,
    'skipped: the previous run (here or on another replica) is still going',
  );
}

// ---------------------------------------------------------------------------------------------------
// Reading runs and jobs

/**
 * Who sees runs: superadmins everything; domain admins the run records too (jobs are global, their
 * counts name no mail), but not their error text, which may quote addresses of other domains.
 */
export function canSeeRuns(actor: Actor): boolean {
  return isAdmin(actor);
}

export function visibleRunError(actor: Actor, run: JobRunRow): string | null {
  if (isSuperadmin(actor) || run.outcome === 'skipped' || run.error === null) return run.error;
  return 'failed (details for superadmins)';
}

export async function listJobRuns(
  store: ConsoleStore,
  actor: Actor,
  filter: { job?: JobName | null; outcome?: JobOutcome | null },
  args: PageArgs,
): Promise<Page<JobRunRow>> {
  if (!canSeeRuns(actor)) throw new ForbiddenError('job runs are for admins');
  const t = store.t.jobRunsTable;
  const request = pageRequest(args, (cursor) => decodeCursor(cursor, ['int'] as const)[0]);
  const { cursor, backwards } = request;
  const conditions: (SQL | undefined)[] = [
    filter.job ? eq(t.job, filter.job) : undefined,
    filter.outcome ? eq(t.outcome, filter.outcome) : undefined,
  ];
  if (cursor !== undefined) conditions.push(backwards ? gt(t.id, cursor) : lt(t.id, cursor));
  const rows = await store.connection.db
    .select()
    .from(t)
    .where(and(...conditions))
    .orderBy(backwards ? asc(t.id) : desc(t.id))
    .limit(request.limit + 1);
  return pageOf(rows, request);
}

export function encodeRunCursor(run: JobRunRow): string {
  return encodeCursor([run.id]);
}

export async function findJobRuns(
  store: ConsoleStore,
  actor: Actor,
  ids: readonly number[],
): Promise<(JobRunRow | null)[]> {
  if (!canSeeRuns(actor) || ids.length === 0) return ids.map(() => null);
  const t = store.t.jobRunsTable;
  const rows = await store.connection.db
    .select()
    .from(t)
    .where(inArray(t.id, [...ids]));
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}

export interface JobInfo {
  name: JobName;
  description: string;
  schedule: string;
  /** When the schedule fires next (whether this replica runs it or another). */
  nextRunAt: Date | null;
  lastRun: JobRunRow | null;
}

export async function listJobs(store: ConsoleStore, actor: Actor, now = new Date()): Promise<JobInfo[]> {
  if (!canSeeRuns(actor)) throw new ForbiddenError('jobs are for admins');
  const settings = await getSettings(store);
  const t = store.t.jobRunsTable;
  const jobs: JobInfo[] = [];
  for (const name of JOB_NAMES) {
    const [lastRun] = await store.connection.db
      .select()
      .from(t)
      .where(eq(t.job, name))
      .orderBy(desc(t.id))
      .limit(1);
    const schedule = settings[SCHEDULE_SETTING[name]];
    jobs.push({
      name,
      description: JOB_DESCRIPTIONS[name],
      schedule,
      nextRunAt: nextRun(schedule, now),
      lastRun: lastRun ?? null,
    });
  }
  return jobs;
}

/**
 * "Run now" (superadmins): starts the job in this process and returns its run record as soon as it
 * exists: running, or skipped when the previous run still holds the lease. The run goes on after.
 */
export async function startJobNow(
  deps: JobDeps,
  actor: Actor,
  job: JobName,
  dryRun: boolean,
  ip?: string | null,
): Promise<JobRunRow> {
  const store = deps.stores.console;
  if (!isSuperadmin(actor)) {
    await recordAudit(store, { actor, action: 'job.run', outcome: 'denied', target: job, ip });
    throw new ForbiddenError('only superadmins run jobs');
  }
  const startedBy = actorLabel(actor);
  await recordAudit(store, {
    actor,
    action: 'job.run',
    outcome: 'success',
    target: job,
    detail: { dryRun },
    ip,
  });
  const finished = runJob(deps, { job, origin: 'manual', startedBy, dryRun });
  finished.catch((error: unknown) => deps.log.error({ err: error, job }, 'manual job run failed'));
  // the run row appears once the lease is taken; the finished run if it was quick or skipped
  const t = store.t.jobRunsTable;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const settled = await Promise.race([finished, new Promise<null>((r) => setTimeout(() => r(null), 50))]);
    if (settled) return settled;
    const [row] = await store.connection.db
      .select()
      .from(t)
      .where(and(eq(t.job, job), eq(t.origin, 'manual'), eq(t.outcome, 'running')))
      .orderBy(desc(t.id))
      .limit(1);
    if (row && row.startedBy === startedBy) return row;
  }
  return finished;
}
