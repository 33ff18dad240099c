// /healthz's verdict when a database stops answering (unit test: connections are stand-ins).
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../server/db/database.ts';
import type { Stores } from '../../server/db/stores.ts';
import { checkHealth } from '../../server/health.ts';

function connection(ping: () => Promise<void>, dialect: 'pg' | 'mysql' = 'pg'): Connection {
  return { dialect, embedded: false, display: 'x', ping } as unknown as Connection;
}

function stores(amavis: Connection, consoleDb: Connection): Stores {
  return { amavis: { connection: amavis }, console: { connection: consoleDb } } as unknown as Stores;
}

describe('checkHealth', () => {
  it('is ok when both databases answer', async () => {
    const up = connection(async () => {});
    expect(await checkHealth(stores(up, up))).toMatchObject({
      status: 'ok',
      databases: { amavis: { reachable: true }, console: { reachable: true } },
    });
  });

  it('is degraded, naming the database and the error code, when one does not answer', async () => {
    const refused = connection(async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432 password=secret'), {
        code: 'ECONNREFUSED',
      });
    });
    const health = await checkHealth(
      stores(
        connection(async () => {}, 'mysql'),
        refused,
      ),
    );
    expect(health.status).toBe('degraded');
    expect(health.databases.amavis).toMatchObject({ reachable: true, dialect: 'mysql' });
    expect(health.databases.console).toMatchObject({ reachable: false, error: 'ECONNREFUSED' });
    expect(JSON.stringify(health)).not.toContain('secret');
  });

  it('gives up on a database that hangs, in about two seconds', async () => {
    const hanging = connection(() => new Promise(() => {}));
    const started = Date.now();
    const health = await checkHealth(stores(hanging, hanging));
    expect(health.databases.amavis).toMatchObject({ reachable: false, error: 'timed out' });
    expect(Date.now() - started).toBeLessThan(4000);
  });
});
