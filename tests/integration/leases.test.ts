import { openEmbeddedDatabase, openRealDatabase } from '../support/databases.ts';
import { leaseSuite } from '../support/leases.shared.ts';
import { describeWith } from '../support/services.ts';

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `leases, on ${service}`, () => {
    leaseSuite(() => openRealDatabase(dialect));
  });
}

await describeWith([], 'leases, on the embedded database', () => {
  leaseSuite(openEmbeddedDatabase);
});
