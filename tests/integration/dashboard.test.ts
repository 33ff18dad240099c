import { dashboardSuite } from '../support/dashboard.shared.ts';
import { openEmbeddedDatabase, openRealDatabase } from '../support/databases.ts';
import { describeWith } from '../support/services.ts';

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `dashboard statistics, on ${service}`, () => {
    dashboardSuite(() => openRealDatabase(dialect));
  });
}

await describeWith([], 'dashboard statistics, on embedded PGlite', () => {
  dashboardSuite(openEmbeddedDatabase);
});
