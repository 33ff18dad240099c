// amavisd's tables: which definitions to query with, and how to create them where the console may
// (the embedded database, tests, and the explicit `npm run amavis:create-tables` command).
import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import type { Dialect } from '../config.ts';
import * as mysqlTables from './amavis-mysql.schema.ts';
import * as pgTables from './amavis-pg.schema.ts';
import { type Connection, executeStatements } from './database.ts';

export type AmavisTables = typeof pgTables;

export const AMAVIS_TABLE_NAMES = [
  'policy',
  'users',
  'mailaddr',
  'wblist',
  'maddr',
  'msgs',
  'msgrcpt',
  'quarantine',
] as const;

export function amavisTables(dialect: Dialect): AmavisTables {
  // See SqlDb in database.ts for why the MySQL tables can stand in for the PostgreSQL ones.
  return dialect === 'pg' ? pgTables : (mysqlTables as unknown as AmavisTables);
}

/** The statements of amavisd's README.sql-pg / README.sql-mysql, as committed in amavis-ddl/. */
export function amavisDdlStatements(dialect: Dialect): string[] {
  const file = new URL(`./amavis-ddl/${dialect === 'pg' ? 'pg' : 'mysql'}.sql`, import.meta.url);
  return splitSqlStatements(fs.readFileSync(file, 'utf8'));
}

/** Splits a DDL script at semicolons that end a statement, after dropping `--` comments. */
export function splitSqlStatements(script: string): string[] {
  const withoutComments = script
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n');
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The amavis tables missing from the connection's current schema/database. */
export async function missingAmavisTables(connection: Connection): Promise<string[]> {
  const rows = await connection.rows<{ name: string }>(
    connection.dialect === 'pg'
      ? sql`select table_name as name from information_schema.tables where table_schema = current_schema()`
      : sql`select table_name as name from information_schema.tables where table_schema = database()`,
  );
  const present = new Set(rows.map((r) => r.name.toLowerCase()));
  return AMAVIS_TABLE_NAMES.filter((name) => !present.has(name));
}

/** Creates amavisd's tables exactly as its documentation does. Refuses to touch a partial set. */
export async function createAmavisTables(connection: Connection): Promise<'created' | 'present'> {
  const missing = await missingAmavisTables(connection);
  if (missing.length === 0) return 'present';
  if (missing.length !== AMAVIS_TABLE_NAMES.length) {
    throw new Error(`some amavis tables exist and some do not (missing: ${missing.join(', ')}); fix by hand`);
  }
  await executeStatements(connection, amavisDdlStatements(connection.dialect));
  return 'created';
}
