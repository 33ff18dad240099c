import { addInstallerForeignKeys, cleanupSuite } from '../support/cleanup.shared.ts';
import { openRealDatabase } from '../support/databases.ts';
import { describeWith } from '../support/services.ts';

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `the cleanup job, on ${service}`, () => {
    cleanupSuite(() => openRealDatabase(dialect));
  });
}

await describeWith(['mariadb'], "the cleanup job, on mariadb with modoboa's installer foreign keys", () => {
  cleanupSuite(
    async () => {
      const database = await openRealDatabase('mysql');
      return {
        ...database,
        prepare: async () => {
          await database.prepare();
          await addInstallerForeignKeys(database.env);
        },
      };
    },
    { foreignKeys: true },
  );
});
