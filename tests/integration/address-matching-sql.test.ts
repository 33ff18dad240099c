// Access-control SQL on real rows: PGlite always (the fast tier), PostgreSQL and MariaDB when reachable.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { amavisTables, createAmavisTables } from '../../server/db/amavis-tables.ts';
import { openDatabase } from '../../server/db/database.ts';
import { addressMatchingSuite } from '../support/address-matching.shared.ts';
import { createTempDatabase } from '../support/databases.ts';
import { describeWith } from '../support/services.ts';

describe('address matching on PGlite', () => {
  addressMatchingSuite(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'address-matching-'));
    const connection = await openDatabase({ kind: 'embedded', dir }, 'test');
    await createAmavisTables(connection);
    return {
      store: { connection, t: amavisTables(connection.dialect) },
      dispose: async () => {
        await connection.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `address matching on ${service}`, () => {
    addressMatchingSuite(async () => {
      const temp = await createTempDatabase(dialect);
      const connection = await openDatabase(
        { kind: 'url', dialect, url: temp.url, display: temp.name },
        'test',
      );
      await createAmavisTables(connection);
      return {
        store: { connection, t: amavisTables(connection.dialect) },
        dispose: async () => {
          await connection.close();
          await temp.drop();
        },
      };
    });
  });
}
