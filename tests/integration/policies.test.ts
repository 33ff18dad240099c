import { describe } from 'vitest';
import { openEmbeddedDatabase, openRealDatabase } from '../support/databases.ts';
import { policiesSuite } from '../support/policies.shared.ts';
import { describeWith } from '../support/services.ts';

describe('policies and sender lists on embedded PGlite', () => {
  policiesSuite(openEmbeddedDatabase);
});

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `policies and sender lists on ${service}`, () => {
    policiesSuite(() => openRealDatabase(dialect));
  });
}
