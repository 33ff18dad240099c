// The console's own tables: typed handles and the migrations applied at start.
import { fileURLToPath } from 'node:url';
import { migrate as migrateMysql } from 'drizzle-orm/mysql2/migrator';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { Dialect } from '../config.ts';
import * as mysqlTables from './console-mysql.schema.ts';
import * as pgTables from './console-pg.schema.ts';
import type { Connection } from './database.ts';

export type ConsoleTables = typeof pgTables;

export function consoleTables(dialect: Dialect): ConsoleTables {
  return dialect === 'pg' ? pgTables : (mysqlTables as unknown as ConsoleTables);
}

const MIGRATIONS_TABLE = 'console_migrations';

export async function migrateConsoleTables(connection: Connection): Promise<void> {
  const folder = (dialect: string) => fileURLToPath(new URL(`../../drizzle/${dialect}`, import.meta.url));
  // biome-ignore lint/suspicious/noExplicitAny: each migrator wants its own driver's database type
  const db = connection.db as any;
  if (connection.dialect === 'mysql') {
    await migrateMysql(db, { migrationsFolder: folder('mysql'), migrationsTable: MIGRATIONS_TABLE });
    return;
  }
  const options = {
    migrationsFolder: folder('pg'),
    migrationsTable: MIGRATIONS_TABLE,
    migrationsSchema: 'public',
  };
  await (connection.embedded ? migratePglite(db, options) : migratePostgres(db, options));
}
