// Throwaway databases on the real servers: each test file gets its own, dropped afterwards.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import type { Dialect } from '../../server/config.ts';
import { createAmavisTables } from '../../server/db/amavis-tables.ts';
import { openDatabase } from '../../server/db/database.ts';
import { MYSQL_ADMIN_URL, PG_ADMIN_URL } from './services.ts';

export interface TempDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTempDatabase(dialect: Dialect): Promise<TempDatabase> {
  const name = `ac_test_${randomBytes(5).toString('hex')}`;
  if (dialect === 'pg') {
    const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name} encoding 'UTF8' template template0`);
    await admin.end();
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      name,
      drop: async () => {
        const again = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
        await again.unsafe(`drop database if exists ${name} with (force)`);
        await again.end();
      },
    };
  }
  const admin = await mysql.createConnection(MYSQL_ADMIN_URL);
  await admin.query(`create database ${name} character set utf8mb4 collate utf8mb4_general_ci`);
  await admin.end();
  const url = new URL(MYSQL_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const again = await mysql.createConnection(MYSQL_ADMIN_URL);
      await again.query(`drop database if exists ${name}`);
      await again.end();
    },
  };
}

/** A fresh real database with amavisd's tables, as an operator would have it, for a suite. */
export async function openRealDatabase(dialect: Dialect): Promise<{
  env: Record<string, string>;
  prepare: () => Promise<void>;
  dispose: () => Promise<void>;
}> {
  const temp = await createTempDatabase(dialect);
  return {
    env: { AMAVIS_DATABASE_URL: temp.url },
    prepare: async () => {
      const connection = await openDatabase(
        { kind: 'url', dialect, url: temp.url, display: temp.name },
        'test',
      );
      await createAmavisTables(connection);
      await connection.close();
    },
    dispose: () => temp.drop(),
  };
}

/** A fresh embedded PGlite data folder for a suite (the fast tier). */
export async function openEmbeddedDatabase(): Promise<{
  env: Record<string, string>;
  dispose: () => Promise<void>;
}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-pglite-'));
  return {
    env: { DATA_DIR: dir, DEMO_DATA: 'false' },
    dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
