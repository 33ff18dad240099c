import { describe } from 'vitest';
import { accountsSuite } from '../support/accounts.shared.ts';
import { openEmbeddedDatabase, openRealDatabase } from '../support/databases.ts';
import { describeWith } from '../support/services.ts';

describe('accounts and domains on embedded PGlite', () => {
  accountsSuite(openEmbeddedDatabase);
});

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `accounts and domains on ${service}`, () => {
    accountsSuite(() => openRealDatabase(dialect));
  });
}
