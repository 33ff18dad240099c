import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { quarantineListingSuite } from '../support/quarantine-listing.shared.ts';

describe('quarantine listing on embedded PGlite', () => {
  quarantineListingSuite(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-pglite-'));
    return {
      env: { DATA_DIR: dir, DEMO_DATA: 'false' },
      dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  });
});
