import { openRealDatabase } from '../support/databases.ts';
import { quarantineListingSuite } from '../support/quarantine-listing.shared.ts';
import { describeWith } from '../support/services.ts';

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `quarantine listing on ${service}`, () => {
    quarantineListingSuite(() => openRealDatabase(dialect));
  });
  await describeWith([service], `quarantine listing on ${service}, with the listing accelerator`, () => {
    quarantineListingSuite(() => openRealDatabase(dialect), { accelerated: true });
  });
}
