import { MAX_PAGE_SIZE } from '../../db/paging.ts';
import { builder } from '../../graphql/builder.ts';
import { toConnection } from '../../graphql/connection.ts';
import {
  encodeRunCursor,
  findJobRuns,
  type JobInfo,
  type JobName,
  type JobOrigin,
  type JobOutcome,
  type JobRunRow,
  listJobRuns,
  listJobs,
  startJobNow,
  visibleRunError,
} from './jobs.service.ts';

const JobNameEnum = builder.enumType('JobName', {
  description: 'A background job.',
  values: {
    cleanup: {
      value: 'cleanup',
      description: 'Purges old quarantined mail, log rows, unused addresses and links.',
    },
    reminders: { value: 'reminders', description: 'Reminds admins of pending release requests.' },
    digests: { value: 'digests', description: 'Sends the quarantine digests that are due.' },
  } as const satisfies Record<JobName, unknown>,
});

const JobOriginEnum = builder.enumType('JobOrigin', {
  description: 'What started a job run.',
  values: {
    schedule: { value: 'schedule', description: 'The scheduler, on the schedule of the job.' },
    manual: { value: 'manual', description: 'A superadmin, with runJob ("run now").' },
    cli: { value: 'cli', description: 'The command line (node server/cli.ts job …), e.g. from cron.' },
  } as const satisfies Record<JobOrigin, unknown>,
});

const JobOutcomeEnum = builder.enumType('JobOutcome', {
  description: 'How a job run ended.',
  values: {
    running: {
      value: 'running',
      description: 'Still running (or its replica died; its lease then runs out).',
    },
    success: { value: 'success', description: 'Done, every step ran.' },
    failure: { value: 'failure', description: 'Something failed; see error. Done steps stay done.' },
    skipped: {
      value: 'skipped',
      description: 'Not run: the previous run (on this or another replica) was still going.',
    },
  } as const satisfies Record<JobOutcome, unknown>,
});

const JobRunRef = builder.loadableNode('JobRun', {
  description: 'One run of a background job, with what it did.',
  id: {
    description: 'Global ID of this run.',
    resolve: (run: JobRunRow) => String(run.id),
  },
  load: async (ids: string[], context) => {
    const numbers = ids.map((id) => (/^[1-9]\d{0,15}$/.test(id) ? Number(id) : null));
    const found = await findJobRuns(
      context.stores.console,
      context.actor,
      numbers.filter((n) => n !== null),
    );
    const byId = new Map(found.filter((r) => r !== null).map((r) => [r.id, r]));
    return numbers.map((n) => (n === null ? null : (byId.get(n) ?? null))) as JobRunRow[];
  },
  fields: (t) => ({
    job: t.field({ type: JobNameEnum, description: 'Which job.', resolve: (run) => run.job as JobName }),
    origin: t.field({
      type: JobOriginEnum,
      description: 'What started it.',
      resolve: (run) => run.origin as JobOrigin,
    }),
    startedBy: t.exposeString('startedBy', {
      nullable: true,
      description: 'Who started it (manual and command-line runs); null for scheduled runs.',
    }),
    holder: t.exposeString('holder', { description: 'The replica that ran it (host:pid:random).' }),
    dryRun: t.exposeBoolean('dryRun', { description: 'Whether it only counted what it would do.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When it started.' }),
    finishedAt: t.expose('finishedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it ended; null while running.',
    }),
    outcome: t.field({
      type: JobOutcomeEnum,
      description: 'How it ended.',
      resolve: (run) => run.outcome as JobOutcome,
    }),
    counts: t.string({
      nullable: true,
      description:
        'What it did, as JSON text: rows removed per table (cleanup), mails sent (reminders, digests)…; ' +
        'null while running or when skipped.',
      resolve: (run) => {
        if (run.counts === null || run.counts === undefined) return null;
        return typeof run.counts === 'string' ? run.counts : JSON.stringify(run.counts);
      },
    }),
    error: t.string({
      nullable: true,
      description: 'Why it failed or was skipped; the details of failures are for superadmins.',
      resolve: (run, _args, context) => visibleRunError(context.actor, run),
    }),
  }),
});

const JobRef = builder.objectRef<JobInfo>('Job').implement({
  description: 'A background job, its schedule and its last run.',
  fields: (t) => ({
    name: t.field({ type: JobNameEnum, description: 'The job.', resolve: (job) => job.name }),
    description: t.exposeString('description', { description: 'What it does.' }),
    schedule: t.exposeString('schedule', {
      description: 'When it runs: a cron expression in the local time of the server (a setting).',
    }),
    nextRunAt: t.expose('nextRunAt', {
      type: 'DateTime',
      nullable: true,
      description:
        'When the schedule fires next. Replicas started with JOBS=off do not run it; one that runs the ' +
        'scheduler does.',
    }),
    lastRun: t.field({
      type: JobRunRef,
      nullable: true,
      description: 'Its latest run; null if it never ran.',
      resolve: (job) => job.lastRun,
    }),
  }),
});

builder.queryField('jobs', (t) =>
  t.field({
    type: [JobRef],
    description: 'The background jobs with their schedules and last runs (admins).',
    authScopes: { admin: true },
    resolve: (_root, _args, context) => listJobs(context.stores.console, context.actor),
  }),
);

builder.queryField('jobRuns', (t) =>
  t.connection(
    {
      type: JobRunRef,
      description:
        'Runs of the background jobs, newest first (admins: superadmins with error details, domain admins ' +
        `without). Pages hold up to ${MAX_PAGE_SIZE} runs (50 by default).`,
      args: {
        job: t.arg({ type: JobNameEnum, required: false, description: 'Only runs of this job.' }),
        outcome: t.arg({
          type: JobOutcomeEnum,
          required: false,
          description: 'Only runs with this outcome.',
        }),
      },
      authScopes: { admin: true },
      resolve: async (_root, args, context) => {
        const page = await listJobRuns(
          context.stores.console,
          context.actor,
          { job: args.job ?? null, outcome: args.outcome ?? null },
          args,
        );
        return toConnection(page, encodeRunCursor);
      },
    },
    { description: 'A page of job runs.' },
    { description: 'One job run and its cursor.' },
  ),
);

const RunJobInput = builder.inputType('RunJobInput', {
  description: 'Which job to run now.',
  fields: (t) => ({
    job: t.field({ type: JobNameEnum, description: 'The job.' }),
    dryRun: t.boolean({
      required: false,
      defaultValue: false,
      description:
        'Only count what it would do (cleanup: rows; reminders and digests: mails), change nothing.',
    }),
  }),
});

builder.mutationField('runJob', (t) =>
  t.field({
    type: JobRunRef,
    description:
      'Runs a job now in this replica ("run now", superadmins). Returns its run as soon as it started ' +
      '(outcome running), or skipped when its previous run is still going; read jobRuns for the end.',
    authScopes: { $all: { superadmin: true, write: true } },
    args: { input: t.arg({ type: RunJobInput, description: 'The job.' }) },
    resolve: (_root, { input }, context) =>
      startJobNow(
        {
          stores: context.stores,
          mailer: context.mailer,
          publicUrl: context.config.publicUrl,
          log: context.log,
        },
        context.actor,
        input.job,
        input.dryRun ?? false,
        context.client.ip,
      ),
  }),
);
