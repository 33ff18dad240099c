import { accessMatrixSuite } from '../support/access-matrix.shared.ts';
import { openRealDatabase } from '../support/databases.ts';
import { describeWith } from '../support/services.ts';

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `access matrix on ${service}`, () => {
    accessMatrixSuite(() => openRealDatabase(dialect));
  });
}
