// server/module-hooks.ts: drizzle-orm loads through its CommonJS build, with the named exports the server
// imports, and far less memory than through its ESM build (Node re-reads its 180 KB exports map per module).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { NODE_FLAGS } from '../support/run-console.ts';

const probe = `
const before = process.memoryUsage().rss;
const orm = await import('drizzle-orm');
const pg = await import('drizzle-orm/pg-core');
const mysql = await import('drizzle-orm/mysql-core');
console.log(JSON.stringify({
  resolved: import.meta.resolve('drizzle-orm/pg-core'),
  exports: [typeof orm.sql, typeof orm.eq, typeof pg.pgTable, typeof mysql.mysqlTable],
  addedMb: (process.memoryUsage().rss - before) / 1e6,
}));`;

async function load(flags: string[]) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...flags, '--input-type=module', '-e', probe],
    { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
  );
  return JSON.parse(stdout) as { resolved: string; exports: string[]; addedMb: number };
}

it('loads drizzle-orm through its CommonJS build, named exports intact, for a fraction of the memory', async () => {
  const hooked = await load(NODE_FLAGS);
  const plain = await load([]);
  expect(hooked.resolved).toMatch(/drizzle-orm\/pg-core\/index\.cjs$/);
  expect(plain.resolved).toMatch(/drizzle-orm\/pg-core\/index\.js$/);
  expect(hooked.exports).toEqual(['function', 'function', 'function', 'function']);
  expect(hooked.addedMb).toBeLessThan(plain.addedMb / 2);
}, 30_000);

it('npm start runs the server with the same Node flags the tests and benchmarks use', async () => {
  const root = new URL('../..', import.meta.url);
  const pkg = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as {
    scripts: { start: string };
  };
  const relative = NODE_FLAGS.map((flag) => flag.replace(fileURLToPath(root), './'));
  expect(pkg.scripts.start).toContain(`node ${relative.join(' ')} server/main.ts`);
});
