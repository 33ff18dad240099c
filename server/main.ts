// Entry point: config -> databases -> app -> listen, and a clean stop on SIGTERM/SIGINT.
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';
import { openStores } from './db/stores.ts';
import { seedDemoAccounts } from './demo/demo-accounts.ts';
import { seedDemoData } from './demo/demo-data.ts';
import { createSuperadmin } from './features/auth/auth.service.ts';
import { startScheduler } from './features/jobs/scheduler.ts';
import { createLogger } from './log.ts';
import { StartupError } from './startup-error.ts';
import { VERSION } from './version.ts';

function fail(message: string): never {
  process.stderr.write(`amavis-console: cannot start: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const stores = await openStores(config, log);
  try {
    if (stores.amavisCreated && config.demoData) {
      const summary = await seedDemoData(stores.amavis);
      log.info(summary, 'loaded the demo quarantine into the embedded database');
      const logins = await seedDemoAccounts(stores.console);
      process.stdout.write(
        `\nDemo logins (public demo passwords, see README.md):\n${logins
          .map((l) => `  ${l.email.padEnd(24)} ${l.password.padEnd(26)} ${l.role}: ${l.sees}`)
          .join('\n')}\n\n`,
      );
    }
    if (config.admin) {
      const created = await createSuperadmin(stores.console, config.admin, { onlyIfNoAccounts: true });
      if (created === 'created')
        log.info({ email: config.admin.email }, 'created the first superadmin from ADMIN_EMAIL');
    }
    const app = await createApp({ config, stores, log });
    const address = await app.listen(config.port, config.host);
    // detection runs whether or not anyone is subscribed, so clients that come back can resume
    app.live.start();
    // JOBS=off: replicas (and tests) that must not run background jobs; the lease keeps the others to one
    const scheduler = config.jobs ? await startScheduler({ config, stores, log }) : null;
    if (!scheduler) log.info('job scheduler off (JOBS=off)');
    log.info(
      {
        version: VERSION,
        url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/`,
        amavisDatabase: stores.amavis.connection.display,
        consoleDatabase: stores.console.connection.display,
      },
      'amavis-console listening',
    );

    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      void (scheduler?.stop() ?? Promise.resolve())
        .then(() => app.close())
        .then(() => stores.close())
        .then(() => {
          log.info('stopped');
          process.exit(0);
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  } catch (error) {
    await stores.close().catch(() => {});
    throw error;
  }
}

main().catch((error: unknown) => {
  if (error instanceof StartupError || (error instanceof Error && error.name === 'ConfigError'))
    fail(error.message);
  process.stderr.write(`amavis-console: cannot start: unexpected error: ${String(error)}\n`);
  process.exit(1);
});
