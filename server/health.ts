import type { Connection } from './db/database.ts';
import type { Stores } from './db/stores.ts';
import { VERSION } from './version.ts';

export interface DatabaseHealth {
  reachable: boolean;
  dialect: 'postgresql' | 'mysql';
  embedded: boolean;
  error?: string;
}

export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  databases: { amavis: DatabaseHealth; console: DatabaseHealth };
}

const PING_TIMEOUT_MS = 2000;

async function probe(connection: Connection): Promise<DatabaseHealth> {
  const base = {
    dialect: connection.dialect === 'pg' ? 'postgresql' : 'mysql',
    embedded: connection.embedded,
  } as const;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      connection.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), PING_TIMEOUT_MS);
      }),
    ]);
    return { ...base, reachable: true };
  } catch (error) {
    // Only a short reason: driver messages can name hosts, never credentials, but keep it terse anyway.
    const reason = error instanceof Error ? ((error as { code?: string }).code ?? error.message) : 'failed';
    return { ...base, reachable: false, error: String(reason).split('\n')[0] };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(stores: Stores): Promise<Health> {
  const [amavis, separateConsole] = await Promise.all([
    probe(stores.amavis.connection),
    stores.console.connection === stores.amavis.connection ? null : probe(stores.console.connection),
  ]);
  const consoleHealth = separateConsole ?? amavis;
  return {
    status: amavis.reachable && consoleHealth.reachable ? 'ok' : 'degraded',
    version: VERSION,
    databases: { amavis, console: consoleHealth },
  };
}
