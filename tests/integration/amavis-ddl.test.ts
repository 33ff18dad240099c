// amavisd's own documentation is the source of truth for its tables: create them from the installed
// README.sql-pg / README.sql-mysql, read the catalog back, and compare with our drizzle definitions.
import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { type MySqlTable, getTableConfig as mysqlConfig } from 'drizzle-orm/mysql-core';
import { type PgTable, getTableConfig as pgConfig } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Dialect } from '../../server/config.ts';
import * as mysqlTables from '../../server/db/amavis-mysql.schema.ts';
import * as pgTables from '../../server/db/amavis-pg.schema.ts';
import { splitSqlStatements } from '../../server/db/amavis-tables.ts';
import { type Connection, executeStatements, openDatabase } from '../../server/db/database.ts';
import { createTempDatabase, type TempDatabase } from '../support/databases.ts';
import { describeDefinition, describeLiveTable } from '../support/introspect.ts';
import { AMAVIS_DOC_DIR, describeWith } from '../support/services.ts';

/** Cuts the schema out of amavisd's README the way an operator would copy it. */
function ddlFromDocs(dialect: Dialect): string {
  const text = gunzipSync(
    fs.readFileSync(`${AMAVIS_DOC_DIR}/README.sql-${dialect === 'pg' ? 'pg' : 'mysql'}.gz`),
  ).toString('utf8');
  const lines = text.split('\n');
  const [start, end] =
    dialect === 'pg'
      ? [
          lines.indexOf('CREATE TABLE policy ('),
          lines.findIndex((l) => l.startsWith('GRANT select,insert,update,delete ON quarantine')),
        ]
      : [lines.indexOf('-- local users'), lines.indexOf('-- Example data follows:') - 1];
  if (start < 0 || end < 0) throw new Error(`cannot find the schema in README.sql-${dialect}`);
  // GRANTs name a role `amavis` that a test database need not have; they grant, they don't define.
  return `${lines
    .slice(start, end + 1)
    .filter((l) => !l.startsWith('GRANT '))
    .join('\n')}\n`;
}

for (const [dialect, service, tables] of [
  ['pg', 'postgresql', pgTables],
  ['mysql', 'mariadb', mysqlTables],
] as const) {
  await describeWith(
    ['amavisDocs', service],
    `amavis tables on ${service} match amavisd's documentation`,
    () => {
      let temp: TempDatabase;
      let connection: Connection;

      beforeAll(async () => {
        temp = await createTempDatabase(dialect);
        connection = await openDatabase({ kind: 'url', dialect, url: temp.url, display: temp.name }, 'test');
        await executeStatements(connection, splitSqlStatements(ddlFromDocs(dialect)));
      });

      afterAll(async () => {
        await connection?.close();
        await temp?.drop();
      });

      it("the committed DDL is the documentation's, so embedded and test databases match it", () => {
        const committed = fs.readFileSync(
          new URL(`../../server/db/amavis-ddl/${dialect}.sql`, import.meta.url),
          'utf8',
        );
        expect(splitSqlStatements(committed)).toEqual(splitSqlStatements(ddlFromDocs(dialect)));
      });

      for (const [key, table] of Object.entries(tables)) {
        it(`${key} matches column for column, key for key`, async () => {
          const name =
            dialect === 'pg' ? pgConfig(table as PgTable).name : mysqlConfig(table as MySqlTable).name;
          const live = await describeLiveTable(connection, name);
          expect(describeDefinition(dialect, table as PgTable | MySqlTable)).toEqual(live);
        });
      }
    },
  );
}
