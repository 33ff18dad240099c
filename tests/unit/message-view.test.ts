import { describe } from 'vitest';
import { openEmbeddedDatabase } from '../support/databases.ts';
import { messageViewSuite } from '../support/message-view.shared.ts';

describe('opening a message, on embedded PGlite', () => {
  messageViewSuite(openEmbeddedDatabase);
});
