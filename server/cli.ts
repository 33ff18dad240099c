// Operator commands: `node server/cli.ts <command>` (npm scripts wrap them; see README.md).

import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  createIndexStatement,
  createListingIndexes,
  dropIndexStatement,
  dropListingIndexes,
  LISTING_INDEXES,
} from './amavis/listing-indexes.ts';
import { loadConfig } from './config.ts';
import { createAmavisTables } from './db/amavis-tables.ts';
import { openDatabase } from './db/database.ts';
import { openStores } from './db/stores.ts';
import {
  createLiveTrigger,
  dropLiveTrigger,
  liveTriggerCreateStatements,
  liveTriggerDropStatements,
} from './events/amavis-notify.ts';
import { createSuperadmin } from './features/auth/auth.service.ts';
import type { CleanupProgress } from './features/cleanup/cleanup.service.ts';
import { isJobName, JOB_NAMES, runJob } from './features/jobs/jobs.service.ts';
import { InputError } from './input-error.ts';
import { createLogger } from './log.ts';
import { createMailer } from './mail/mailer.ts';
import { StartupError } from './startup-error.ts';

const commands: Record<string, { help: string; run: () => Promise<string> }> = {
  'create-superadmin': {
    help: 'Creates a superadmin: --email ADDRESS, password from the ADMIN_PASSWORD environment variable.',
    run: async () => {
      const { values } = parseArgs({ args: process.argv.slice(3), options: { email: { type: 'string' } } });
      const password = process.env.ADMIN_PASSWORD;
      if (!values.email || !password)
        throw new InputError('pass --email and set ADMIN_PASSWORD (never on the command line)');
      const config = loadConfig({ ...process.env, ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined });
      const stores = await openStores(config, createLogger('warn'));
      try {
        await createSuperadmin(
          stores.console,
          { email: values.email, password },
          { onlyIfNoAccounts: false },
        );
        return `created the superadmin ${values.email.trim().toLowerCase()}`;
      } finally {
        await stores.close();
      }
    },
  },
  'create-amavis-tables': {
    help: "Creates amavisd's tables (as its README.sql-pg / README.sql-mysql does) in AMAVIS_DATABASE_URL.",
    run: async () => {
      const config = loadConfig();
      const connection = await openDatabase(config.amavisDatabase, 'amavis');
      try {
        const result = await createAmavisTables(connection);
        return result === 'created'
          ? `created the amavis tables in ${connection.display}`
          : `the amavis tables already exist in ${connection.display}; nothing changed`;
      } finally {
        await connection.close();
      }
    },
  },
  'create-indexes': {
    help:
      "Adds the optional indexes the quarantine listing uses to amavisd's tables in AMAVIS_DATABASE_URL " +
      '(online, idempotent); --drop removes them again, --print only shows the SQL.',
    run: async () => {
      const { values } = parseArgs({
        args: process.argv.slice(3),
        options: { drop: { type: 'boolean' }, print: { type: 'boolean' } },
      });
      const config = loadConfig();
      const dialect = config.amavisDatabase.kind === 'url' ? config.amavisDatabase.dialect : 'pg';
      if (values.print) {
        const embedded = config.amavisDatabase.kind === 'embedded';
        return LISTING_INDEXES[dialect]
          .map((index) =>
            values.drop
              ? `${dropIndexStatement(dialect, index, embedded)};`
              : `-- ${index.purpose}\n${createIndexStatement(dialect, index, embedded)};`,
          )
          .join('\n');
      }
      const connection = await openDatabase(config.amavisDatabase, 'amavis');
      try {
        const result = values.drop
          ? await dropListingIndexes(connection)
          : await createListingIndexes(connection);
        const verb = values.drop ? 'dropped' : 'created';
        const lines = [
          ...result.changed.map((index) => `${verb} ${index}`),
          ...result.unchanged.map((index) => `${index} was already ${values.drop ? 'absent' : 'there'}`),
        ];
        return `${lines.join('\n')}\n(${connection.display})`;
      } finally {
        await connection.close();
      }
    },
  },
  'create-live-trigger': {
    help:
      "PostgreSQL only: adds the trigger on amavisd's msgs and quarantine tables in AMAVIS_DATABASE_URL that " +
      'NOTIFYs the console of newly quarantined mail (idempotent); --drop removes it, --print only shows the SQL.',
    run: async () => {
      const { values } = parseArgs({
        args: process.argv.slice(3),
        options: { drop: { type: 'boolean' }, print: { type: 'boolean' } },
      });
      if (values.print) {
        const statements = values.drop ? liveTriggerDropStatements() : liveTriggerCreateStatements();
        return statements.map((statement) => `${statement};`).join('\n');
      }
      const config = loadConfig();
      if (config.amavisDatabase.kind === 'url' && config.amavisDatabase.dialect !== 'pg') {
        throw new InputError('the live trigger is for PostgreSQL; on MySQL/MariaDB the console polls');
      }
      const connection = await openDatabase(config.amavisDatabase, 'amavis');
      try {
        if (values.drop) {
          await dropLiveTrigger(connection);
          return `dropped the live events trigger (${connection.display})`;
        }
        await createLiveTrigger(connection);
        return `created the live events trigger (${connection.display}); running consoles switch to it within a minute`;
      } finally {
        await connection.close();
      }
    },
  },
  job: {
    help:
      `Runs a background job once, for cron: job ${JOB_NAMES.join('|')} [--dry-run]; cleanup also takes ` +
      '[--batch-size N] [--log-retention-days N]. One replica at a time: a run that finds the job running ' +
      'elsewhere is recorded as skipped (exit 0). Progress goes to stderr, what the run did to stdout as one ' +
      'JSON line (with "run": its record); exits 1 if the job failed, 130 if interrupted.',
    run: async () => {
      const [job, ...args] = process.argv.slice(3);
      if (!job || !isJobName(job)) {
        throw new InputError(`unknown job "${job ?? ''}"; jobs: ${JOB_NAMES.join(', ')}`);
      }
      const { values } = parseArgs({
        args,
        options: {
          'dry-run': { type: 'boolean' },
          'batch-size': { type: 'string' },
          'log-retention-days': { type: 'string' },
        },
      });
      const whole = (value: string | undefined, flag: string) => {
        if (value === undefined) return undefined;
        if (job !== 'cleanup') throw new InputError(`${flag} is for the cleanup job`);
        if (!/^\d+$/.test(value)) throw new InputError(`${flag} takes a whole number`);
        return Number(value);
      };
      const batchSize = whole(values['batch-size'], '--batch-size');
      const logRetentionDays = whole(values['log-retention-days'], '--log-retention-days');
      const config = loadConfig();
      // stdout carries only the summary
      const log = createLogger('warn', process.stderr);
      const stores = await openStores(config, log);
      const mailer = createMailer(config.smtpUrl, log);
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const dryRun = values['dry-run'] ?? false;
      const report = (p: CleanupProgress) => {
        const t = p.tables;
        process.stderr.write(
          `cleanup${dryRun ? ' (dry run)' : ''} ${p.step}: batch ${p.batch}, so far msgs ${t.msgs}, ` +
            `msgrcpt ${t.msgrcpt}, quarantine ${t.quarantine}, maddr ${t.maddr} (${p.elapsedMs} ms)\n`,
        );
      };
      try {
        const run = await runJob(
          { stores, mailer, publicUrl: config.publicUrl, log },
          {
            job,
            origin: 'cli',
            startedBy: `cli (${os.userInfo().username}@${os.hostname()})`,
            dryRun,
            signal: controller.signal,
            cleanup: {
              ...(batchSize !== undefined ? { batchSize } : {}),
              ...(logRetentionDays !== undefined ? { logRetentionDays } : {}),
              onProgress: report,
            },
          },
        );
        const counts = (typeof run.counts === 'string' ? JSON.parse(run.counts) : run.counts) as Record<
          string,
          unknown
        > | null;
        for (const failure of (counts?.failures as { step: string; message: string }[] | undefined) ?? []) {
          process.stderr.write(`cleanup: ${failure.step} failed: ${failure.message}\n`);
        }
        if (run.outcome === 'skipped') process.stderr.write(`${job}: ${run.error ?? 'skipped'}\n`);
        if (run.outcome === 'failure') {
          process.stderr.write(`${job}: failed: ${run.error ?? 'unknown error'}\n`);
          process.exitCode = controller.signal.aborted ? 130 : 1;
        }
        return JSON.stringify({
          ...counts,
          run: { id: run.id, job: run.job, origin: run.origin, outcome: run.outcome, error: run.error },
        });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        mailer.close();
        await stores.close();
      }
    },
  },
};

const name = process.argv[2] ?? '';
const command = commands[name];
if (!command) {
  process.stderr.write(
    `usage: node server/cli.ts <command>\n${Object.entries(commands)
      .map(([key, c]) => `  ${key}  ${c.help}`)
      .join('\n')}\n`,
  );
  process.exit(2);
}
command
  .run()
  .then((message) => process.stdout.write(`${message}\n`))
  .catch((error: unknown) => {
    const known =
      error instanceof StartupError ||
      error instanceof InputError ||
      (error instanceof Error && error.name === 'ConfigError');
    process.stderr.write(`amavis-console: ${name}: ${known ? (error as Error).message : String(error)}\n`);
    process.exit(1);
  });
