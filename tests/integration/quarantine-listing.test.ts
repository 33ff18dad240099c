import { createAmavisTables } from '../../server/db/amavis-tables.ts';
import { openDatabase } from '../../server/db/database.ts';
import { createTempDatabase } from '../support/databases.ts';
import { quarantineListingSuite } from '../support/quarantine-listing.shared.ts';
import { describeWith } from '../support/services.ts';

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `quarantine listing on ${service}`, () => {
    quarantineListingSuite(async () => {
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
    });
  });
}
