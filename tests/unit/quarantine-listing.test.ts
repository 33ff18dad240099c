import { describe } from 'vitest';
import { openEmbeddedDatabase } from '../support/databases.ts';
import { quarantineListingSuite } from '../support/quarantine-listing.shared.ts';

describe('quarantine listing on embedded PGlite', () => {
  quarantineListingSuite(openEmbeddedDatabase);
});

describe('quarantine listing on embedded PGlite, with the listing accelerator', () => {
  quarantineListingSuite(openEmbeddedDatabase, { accelerated: true });
});
