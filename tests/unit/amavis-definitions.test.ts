// The PostgreSQL and MySQL definitions of amavisd's tables must agree key for key, so that one query
// written against them runs on both databases.
import { type MySqlTable, getTableConfig as mysqlConfig } from 'drizzle-orm/mysql-core';
import { type PgTable, getTableConfig as pgConfig } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import * as mysqlTables from '../../server/db/amavis-mysql.schema.ts';
import * as pgTables from '../../server/db/amavis-pg.schema.ts';
import { AMAVIS_TABLE_NAMES } from '../../server/db/amavis-tables.ts';

type TableKey = keyof typeof pgTables;
const tableKeys = Object.keys(pgTables).sort() as TableKey[];

describe('amavis table definitions', () => {
  it('define the same tables in both dialects, named as amavisd names them', () => {
    expect(Object.keys(mysqlTables).sort()).toEqual(tableKeys);
    expect(tableKeys.map((key) => pgConfig(pgTables[key] as PgTable).name).sort()).toEqual(
      [...AMAVIS_TABLE_NAMES].sort(),
    );
  });

  for (const key of tableKeys) {
    it(`${key}: same property keys, column names, nullability and primary key`, () => {
      const pg = pgTables[key] as unknown as Record<string, { name: string; notNull: boolean }>;
      const my = mysqlTables[key] as unknown as Record<string, { name: string; notNull: boolean }>;
      const pgCfg = pgConfig(pgTables[key] as PgTable);
      const myCfg = mysqlConfig(mysqlTables[key] as MySqlTable);
      expect(myCfg.name).toBe(pgCfg.name);
      const shape = (table: Record<string, { name: string; notNull: boolean }>, names: string[]) =>
        Object.fromEntries(
          Object.entries(table)
            .filter(([, column]) => names.includes(column?.name))
            .map(([prop, column]) => [prop, { name: column.name, notNull: column.notNull }]),
        );
      const pgNames = pgCfg.columns.map((c) => c.name);
      const myNames = myCfg.columns.map((c) => c.name);
      expect(new Set(myNames)).toEqual(new Set(pgNames));
      expect(shape(my, myNames)).toEqual(shape(pg, pgNames));
      const primaryKey = (
        columns: { name: string; primary: boolean }[],
        composite: { columns: { name: string }[] }[],
      ) =>
        composite.length > 0
          ? composite[0]?.columns.map((c) => c.name)
          : columns.filter((c) => c.primary).map((c) => c.name);
      expect(primaryKey(myCfg.columns, myCfg.primaryKeys)).toEqual(
        primaryKey(pgCfg.columns, pgCfg.primaryKeys),
      );
    });
  }
});
