import { describe } from 'vitest';
import { openEmbeddedDatabase } from '../support/databases.ts';
import { visibilitySuite } from '../support/quarantine-visibility.shared.ts';

describe('who sees which recipient, on embedded PGlite', () => {
  visibilitySuite(openEmbeddedDatabase);
});

describe('who sees which recipient, on embedded PGlite with the listing accelerator', () => {
  visibilitySuite(openEmbeddedDatabase, { accelerated: true });
});
