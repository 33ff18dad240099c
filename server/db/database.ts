// Opens the databases (PostgreSQL through postgres.js, MySQL/MariaDB through mysql2, or embedded PGlite)
// and hides their differences behind one small interface.
import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import { drizzle as drizzleMysql } from 'drizzle-orm/mysql2';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import type { DatabaseTarget, Dialect } from '../config.ts';
import { StartupError } from '../startup-error.ts';

/**
 * The query-builder surface services use. MySQL handles are typed as PostgreSQL ones: the tables of
 * both dialects have the same keys and value types, and select/insert/update/delete build the same way,
 * so one query serves both. Dialect-only features (RETURNING, upserts, raw SQL) go through
 * `connection.dialect` switches in this folder or in a service, and every query is tested on all three
 * databases.
 */
export type SqlDb = PostgresJsDatabase;

export interface Connection {
  dialect: Dialect;
  /** 'embedded' or the URL without its password. */
  display: string;
  embedded: boolean;
  db: SqlDb;
  /** Runs raw SQL and returns its rows, whatever the driver's result shape. */
  rows<T = Record<string, unknown>>(query: SQL): Promise<T[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    if (code === 'ECONNREFUSED') return 'connection refused';
    if (code === 'ENOTFOUND') return 'host not found';
    if (code === 'ETIMEDOUT' || code === 'CONNECT_TIMEOUT') return 'connection timed out';
    return error.message.split('\n')[0] ?? String(error);
  }
  return String(error);
}

async function openPostgres(url: string, display: string): Promise<Connection> {
  const client = postgres(url, {
    max: 10,
    connect_timeout: 5,
    onnotice: () => {},
  });
  const db = drizzlePostgres(client) as unknown as SqlDb;
  return {
    dialect: 'pg',
    display,
    embedded: false,
    db,
    rows: async <T>(query: SQL) => (await db.execute(query)) as unknown as T[],
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

async function openMysql(url: string, display: string): Promise<Connection> {
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: 10,
    connectTimeout: 5000,
    // time_num and ids are unsigned ints; DECIMAL/BIGINT come back as numbers while they fit
    supportBigNumbers: true,
    timezone: 'Z',
    charset: 'utf8mb4',
    // mysql2 otherwise captures a stack trace for every statement to append to its errors: 2.4% of
    // the console's CPU on a listing page (CPU profile). Failed statements still carry the driver's
    // code and message, which is what the error log reports (graphql/errors.ts errorCauses).
    trace: false,
  });
  const db = drizzleMysql(pool) as unknown as SqlDb;
  return {
    dialect: 'mysql',
    display,
    embedded: false,
    db,
    rows: async <T>(query: SQL) => {
      const [rows] = (await db.execute(query)) as unknown as [T[]];
      return rows;
    },
    ping: async () => {
      await pool.query('select 1');
    },
    close: () => pool.end(),
  };
}

async function openEmbedded(dir: string): Promise<Connection> {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    throw new StartupError(`data folder ${dir} is not writable (${describeError(error)}); set DATA_DIR`);
  }
  let client: PGlite;
  try {
    client = await PGlite.create(dir);
  } catch (error) {
    throw new StartupError(`cannot open the embedded database in ${dir}: ${describeError(error)}`);
  }
  const db = drizzlePglite(client) as unknown as SqlDb;
  return {
    dialect: 'pg',
    display: 'embedded',
    embedded: true,
    db,
    rows: async <T>(query: SQL) => ((await db.execute(query)) as unknown as { rows: T[] }).rows,
    ping: async () => {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}

/** Opens and checks one database; unreachable servers become a StartupError naming the database. */
export async function openDatabase(target: DatabaseTarget, role: string): Promise<Connection> {
  if (target.kind === 'embedded') return openEmbedded(target.dir);
  const connection =
    target.dialect === 'pg'
      ? await openPostgres(target.url, target.display)
      : await openMysql(target.url, target.display);
  try {
    await connection.ping();
  } catch (error) {
    await connection.close().catch(() => {});
    throw new StartupError(`cannot reach the ${role} database at ${target.display}: ${describeError(error)}`);
  }
  return connection;
}

/** Runs `statements` one by one; amavis's DDL files hold several. */
export async function executeStatements(connection: Connection, statements: string[]): Promise<void> {
  for (const statement of statements) await connection.db.execute(sql.raw(statement));
}

/** How many rows an update or delete changed, whichever driver ran it. */
export function changedRows(result: unknown): number {
  const header = Array.isArray(result) && !('count' in result) ? result[0] : result;
  if (header && typeof header === 'object') {
    const { affectedRows, count } = header as { affectedRows?: unknown; count?: unknown };
    if (typeof affectedRows === 'number') return affectedRows;
    if (typeof count === 'number') return count;
  }
  return 0;
}

/**
 * Whether a failed statement lost a lock race the database resolved by rolling the transaction back:
 * InnoDB's deadlock (1213) and PostgreSQL's deadlock and serialization failures (40P01, 40001). Such a
 * transaction changed nothing and may simply run again; drizzle keeps the driver's error as `cause`.
 */
export function isLockConflict(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const { code, errno } = e as { code?: unknown; errno?: unknown };
    if (code === 'ER_LOCK_DEADLOCK' || errno === 1213 || code === '40P01' || code === '40001') return true;
  }
  return false;
}

const LOCK_CONFLICT_TRIES = 4;

/**
 * A transaction that runs again (up to four times, after a short random pause) when the database rolled
 * it back to break a deadlock: concurrent writers of amavisd's lookup tables (two lists taking the same
 * new sender, a domain renamed while its list changes) otherwise see a random "Unexpected error". `work`
 * must only touch the database, since it may run more than once.
 */
export async function retryingTransaction<T>(
  connection: Connection,
  work: (tx: Parameters<Parameters<SqlDb['transaction']>[0]>[0]) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connection.db.transaction(work);
    } catch (error) {
      if (attempt >= LOCK_CONFLICT_TRIES || !isLockConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}
