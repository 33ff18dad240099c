import { openRealDatabase } from '../support/databases.ts';
import { releaseWorkflowSuite } from '../support/release.shared.ts';
import { describeWith } from '../support/services.ts';

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `release requests, deletion and release rules, on ${service}`, () => {
    releaseWorkflowSuite(() => openRealDatabase(dialect));
  });
}
