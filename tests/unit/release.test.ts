import { describe } from 'vitest';
import { openEmbeddedDatabase } from '../support/databases.ts';
import { releaseWorkflowSuite } from '../support/release.shared.ts';

describe('release requests, deletion and release rules, on embedded PGlite', () => {
  releaseWorkflowSuite(openEmbeddedDatabase);
});
