// npm run bench:generate -- [--dialect postgresql|mariadb] [--url URL] [--messages N] [--seed S] [--no-accounts]
// Fills amavisd's tables with N messages (default 1,000,000) shaped like a real mail server, through the
// bulk paths, and seeds console accounts matching the addresses. Without --url it creates a throwaway
// database on the test server (tests/support/databases.ts), with amavisd's tables, prints its URL and
// keeps it. Progress goes to stderr; the last stdout line is a JSON summary.
import { parseArgs } from 'node:util';
import { createAmavisTables } from '../server/db/amavis-tables.ts';
import { openDatabase } from '../server/db/database.ts';
import { createTempDatabase } from '../tests/support/databases.ts';
import { generateAmavisData, seedBenchAccounts } from './generate-data.ts';

const { values: options } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'postgresql' },
    url: { type: 'string' },
    messages: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    'no-accounts': { type: 'boolean', default: false },
  },
});
if (!['postgresql', 'mariadb'].includes(options.dialect)) throw new Error('--dialect: postgresql or mariadb');
const dialect = options.dialect === 'postgresql' ? 'pg' : 'mysql';
const messages = Number(options.messages);
const seed = Number(options.seed);
if (!Number.isInteger(messages) || messages < 1) throw new Error('--messages: a positive integer');

let url = options.url;
if (!url) {
  const temp = await createTempDatabase(dialect);
  url = temp.url;
  const connection = await openDatabase({ kind: 'url', dialect, url, display: temp.name }, 'amavis');
  await createAmavisTables(connection);
  await connection.close();
  process.stderr.write(`created database ${temp.name} (kept): ${url}\n`);
}

let last = 0;
const summary = await generateAmavisData(
  { dialect, url },
  {
    messages,
    seed,
    onProgress: (done) => {
      if (done - last >= 50_000 || done === messages) {
        last = done;
        process.stderr.write(`  ${done.toLocaleString('en')} / ${messages.toLocaleString('en')} messages\n`);
      }
    },
  },
);
const accounts = options['no-accounts'] ? null : await seedBenchAccounts({ dialect, url }, { seed });
process.stdout.write(`${JSON.stringify({ dialect: options.dialect, url, ...summary, accounts })}\n`);
