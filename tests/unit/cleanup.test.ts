import { describe } from 'vitest';
import { cleanupSuite } from '../support/cleanup.shared.ts';
import { openEmbeddedDatabase } from '../support/databases.ts';

describe('the cleanup job, on embedded PGlite', () => {
  cleanupSuite(openEmbeddedDatabase);
});
