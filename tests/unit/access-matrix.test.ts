import { describe } from 'vitest';
import { accessMatrixSuite } from '../support/access-matrix.shared.ts';
import { openEmbeddedDatabase } from '../support/databases.ts';

describe('access matrix on embedded PGlite', () => {
  accessMatrixSuite(openEmbeddedDatabase);
});
