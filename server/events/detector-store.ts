// The detector's own connection to the amavis database: one connection, named, apart from the pool the
// requests use, so a slow scan never waits behind them (nor they behind it) and an operator can tell it
// apart. Both drivers reconnect on the next query after the connection dies.
import { randomBytes } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import { drizzle as drizzleMysql } from 'drizzle-orm/mysql2';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import type { DatabaseTarget } from '../config.ts';
import { amavisTables } from '../db/amavis-tables.ts';
import type { SqlDb } from '../db/database.ts';
import type { AmavisStore } from '../db/stores.ts';

export interface DetectorStore {
  store: AmavisStore;
  /** The server-side id of the connection (PostgreSQL backend pid, MariaDB thread id), for tests. */
  connectionId(): Promise<number>;
  close(): Promise<void>;
}

/** A single-connection store for `target`, or the shared one for the embedded database. */
export function openDetectorStore(target: DatabaseTarget, shared: AmavisStore): DetectorStore {
  if (target.kind === 'embedded') {
    return { store: shared, connectionId: async () => 0, close: async () => {} };
  }
  const label = `amavis-console-detector-${randomBytes(4).toString('hex')}`;
  if (target.dialect === 'pg') {
    const client = postgres(target.url, {
      max: 1,
      connect_timeout: 5,
      onnotice: () => {},
      connection: { application_name: label },
    });
    const db = drizzlePostgres(client) as unknown as SqlDb;
    const rows = async <T>(query: SQL) => (await db.execute(query)) as unknown as T[];
    return {
      store: {
        t: amavisTables('pg'),
        connection: {
          dialect: 'pg',
          display: target.display,
          embedded: false,
          db,
          rows,
          ping: async () => {
            await client`select 1`;
          },
          close: () => client.end({ timeout: 2 }),
        },
      },
      connectionId: async () =>
        Number((await rows<{ pid: unknown }>(sql`select pg_backend_pid() as pid`))[0]?.pid),
      close: () => client.end({ timeout: 2 }),
    };
  }
  const pool = mysql.createPool({
    uri: target.url,
    connectionLimit: 1,
    connectTimeout: 5000,
    supportBigNumbers: true,
    timezone: 'Z',
    charset: 'utf8mb4',
  });
  const db = drizzleMysql(pool) as unknown as SqlDb;
  const rows = async <T>(query: SQL) => {
    const [result] = (await db.execute(query)) as unknown as [T[]];
    return result;
  };
  return {
    store: {
      t: amavisTables('mysql'),
      connection: {
        dialect: 'mysql',
        display: target.display,
        embedded: false,
        db,
        rows,
        ping: async () => {
          await pool.query('select 1');
        },
        close: () => pool.end(),
      },
    },
    connectionId: async () => Number((await rows<{ id: unknown }>(sql`select connection_id() as id`))[0]?.id),
    close: () => pool.end(),
  };
}
