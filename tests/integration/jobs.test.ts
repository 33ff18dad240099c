import { openRealDatabase } from '../support/databases.ts';
import { jobsSuite } from '../support/jobs.shared.ts';
import { describeWith } from '../support/services.ts';

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `background jobs, run records and one-click actions, on ${service}`, () => {
    jobsSuite(() => openRealDatabase(dialect), { processes: true });
  });
}
