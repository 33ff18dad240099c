import fs from 'node:fs';

/** The console's version, from package.json. */
export const VERSION: string = JSON.parse(
  fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;
