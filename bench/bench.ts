// npm run bench [-- --dialect postgresql|mariadb] [--size N | --url URL] [--cases a,b] [--requests N]
//   [--setup accelerated|indexes|plain] [--modoboa-runs N] [--modoboa-timeout SECONDS] [--message-runs N]
//   [--insert-messages N] [--load-seconds N] [--release-pairs N] [--allow-cleanup] [--cleanup-batch N] [--domain D] [--user EMAIL] [--explain]
//   [--keep] [--no-save] [--out FILE]
//
// Measures the console the way issue 4 asks: a real `node server/main.ts` on a database of amavisd-shaped
// data, each case over HTTP and, where it applies, the same work as the console's SQL in this process, as
// the best hand-written SQL, and as modoboa-amavis's query shape. Prints one JSON line per case and saves
// the run (with a description of the machine) under bench/results/.
//
// Data: --url reuses a database filled by `npm run bench:generate` (amavisd's tables plus the bench
// accounts); without it, a throwaway database with --size messages is generated and dropped afterwards
// (--keep keeps it). --setup says which of the optional structures (npm run amavis:create-indexes) the
// database gets before measuring: all of them with the listing accelerator (accelerated, the default), the
// indexes only, or none (plain); it creates or drops them in the database, --url included.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { loadAccountActor } from '../server/access/resolve-actor.ts';
import { dropAccelerator } from '../server/amavis/listing-accelerator.ts';
import { createListingIndexes, dropListingIndexes } from '../server/amavis/listing-indexes.ts';
import { amavisTables, createAmavisTables } from '../server/db/amavis-tables.ts';
import { consoleTables } from '../server/db/console-tables.ts';
import { type Connection, openDatabase } from '../server/db/database.ts';
import type { Viewer } from '../server/features/quarantine/quarantine.service.ts';
import { getSettings } from '../server/features/settings/settings.service.ts';
import { createTempDatabase, type TempDatabase } from '../tests/support/databases.ts';
import { CASES } from './cases/index.ts';
import { viewSizes } from './cases/listing.ts';
import type { BenchContext, CapturedQuery, Setup } from './cases/types.ts';
import { BENCH_PASSWORD, BENCH_SUPERADMIN, generateAmavisData, seedBenchAccounts } from './generate-data.ts';
import { describeMachine } from './lib/machine.ts';
import { openRawSql } from './lib/raw-sql.ts';
import { anonymousClient, type GraphQLClient, logIn, peakRssMb, rssMb, startConsole } from './lib/server.ts';

const { values: options } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'postgresql' },
    size: { type: 'string', default: '20000' },
    url: { type: 'string' },
    cases: { type: 'string' },
    requests: { type: 'string' },
    setup: { type: 'string', default: 'accelerated' },
    'modoboa-runs': { type: 'string', default: '3' },
    'modoboa-timeout': { type: 'string', default: '30' },
    'message-runs': { type: 'string', default: '3' },
    'insert-messages': { type: 'string' },
    'load-seconds': { type: 'string', default: '30' },
    'release-pairs': { type: 'string', default: '200' },
    'allow-cleanup': { type: 'boolean', default: false },
    'cleanup-batch': { type: 'string' },
    domain: { type: 'string' },
    user: { type: 'string' },
    explain: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'no-save': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

function fail(message: string): never {
  process.stderr.write(`npm run bench: ${message}\n`);
  process.exit(2);
}

const dialectName = options.dialect;
if (dialectName !== 'postgresql' && dialectName !== 'mariadb') fail('--dialect: postgresql or mariadb');
const dialect: 'pg' | 'mysql' = dialectName === 'postgresql' ? 'pg' : 'mysql';
const setup = options.setup as Setup;
if (!['accelerated', 'indexes', 'plain'].includes(setup)) fail('--setup: accelerated, indexes or plain');
const size = Number(options.size);
if (!options.url && (!Number.isInteger(size) || size < 1000)) fail('--size: an integer of at least 1000');
const wanted = options.cases ? new Set(options.cases.split(',')) : null;
if (wanted) {
  const unknown = [...wanted].filter((name) => !CASES.some((c) => c.name === name));
  if (unknown.length > 0)
    fail(`unknown case(s) ${unknown.join(', ')}; cases: ${CASES.map((c) => c.name).join(', ')}`);
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const num = async (connection: Connection, query: ReturnType<typeof sql>) =>
  Number(Object.values((await connection.rows(query))[0] ?? {})[0] ?? 0);

/** amavisd's tables filled, the bench accounts there: a throwaway database unless --url. */
async function prepareData(): Promise<{ url: string; temp: TempDatabase | null; generated: unknown }> {
  if (options.url) return { url: options.url, temp: null, generated: null };
  const temp = await createTempDatabase(dialect);
  const connection = await openDatabase(
    { kind: 'url', dialect, url: temp.url, display: temp.name },
    'amavis',
  );
  await createAmavisTables(connection);
  await connection.close();
  log(`generating ${size.toLocaleString('en')} messages in ${temp.name}…`);
  const generated = await generateAmavisData({ dialect, url: temp.url }, { messages: size });
  await seedBenchAccounts({ dialect, url: temp.url });
  return { url: temp.url, temp, generated };
}

async function prepareStructures(connection: Connection): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  if (setup === 'accelerated') await createListingIndexes(connection);
  if (setup === 'indexes') {
    await dropAccelerator(connection);
    await createListingIndexes(connection, { accelerator: false });
  }
  if (setup === 'plain') await dropListingIndexes(connection);
  const structuresMs = Math.round(performance.now() - t0);
  const t1 = performance.now();
  // what autovacuum does to a table that has settled; index-only scans need the visibility map
  if (dialect === 'pg') await connection.db.execute(sql`vacuum analyze`);
  else await connection.db.execute(sql`analyze table msgs, msgrcpt, maddr, quarantine`);
  return { structuresMs, analyzeMs: Math.round(performance.now() - t1) };
}

/** The domain closest to 1% of all recipients, among those with a domain admin; the busiest user account. */
async function pickViews(connection: Connection): Promise<{ domain: string; user: string }> {
  const domains = await connection.rows<{ domain: string; n: unknown }>(
    sql`select a.domain as domain, count(*) as n from msgrcpt r join maddr a on a.id = r.rid
        group by a.domain`,
  );
  const total = domains.reduce((sum, d) => sum + Number(d.n), 0);
  const administered = new Set(
    (await connection.rows<{ name: string }>(sql`select name from console_domains`)).map((d) => d.name),
  );
  const candidates = domains
    .map((d) => ({ domain: String(d.domain).split('.').reverse().join('.'), share: Number(d.n) / total }))
    .filter((d) => administered.has(d.domain))
    .sort((a, b) => Math.abs(a.share - 0.01) - Math.abs(b.share - 0.01) || a.domain.localeCompare(b.domain));
  const users = await connection.rows<{ email: unknown; n: unknown }>(
    connection.dialect === 'pg'
      ? sql`select a.email as email, count(*) as n from msgrcpt r join maddr a on a.id = r.rid
            where a.email in (select convert_to(c.email, 'UTF8') from console_accounts c where c.role = 'user')
            group by a.email order by count(*) desc, a.email limit 1`
      : sql`select a.email as email, count(*) as n from msgrcpt r join maddr a on a.id = r.rid
            where a.email in (select cast(c.email as binary) from console_accounts c where c.role = 'user')
            group by a.email order by count(*) desc, a.email limit 1`,
  );
  const domain = options.domain ?? candidates[0]?.domain;
  const userRow = users[0];
  const user =
    options.user ?? (userRow ? Buffer.from(userRow.email as Uint8Array).toString('utf8') : undefined);
  if (!domain || !user) fail('no bench accounts in this database: fill it with npm run bench:generate');
  return { domain, user };
}

function resultsFile(started: Date, messages: number): string {
  if (options.out) return path.resolve(options.out);
  const stamp = started.toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  return new URL(`./results/${dialectName}-${messages}-${setup}-${stamp}.json`, import.meta.url).pathname;
}

async function main() {
  const started = new Date();
  const runStart = performance.now();
  const data = await prepareData();
  const generatedMs = Math.round(performance.now() - runStart);
  const target = { kind: 'url' as const, dialect, url: data.url, display: 'bench' };
  const connection = await openDatabase(target, 'amavis');
  const captured: CapturedQuery[] = [];
  // the bench's own eyes on the SQL the service runs in this process (drizzle's session logger)
  (connection.db as unknown as { session: { logger: unknown } }).session.logger = {
    logQuery: (query: string, params: unknown[]) => captured.push({ sql: query, params }),
  };
  let server: Awaited<ReturnType<typeof startConsole>> | null = null;
  const raw = await openRawSql(dialect, data.url);
  try {
    const messages = await num(connection, sql`select count(*) from msgs`);
    if (messages === 0) fail(`no messages in ${data.url}: fill it with npm run bench:generate`);
    const hasAdmin = await num(
      connection,
      sql`select count(*) from console_accounts where email = ${BENCH_SUPERADMIN.email}`,
    ).catch(() => 0);
    if (hasAdmin === 0) fail(`no bench accounts in ${data.url}: fill it with npm run bench:generate`);
    log(`setup ${setup}…`);
    const prepared = await prepareStructures(connection);
    const picks = await pickViews(connection);
    const dataset = {
      messages,
      recipients: await num(connection, sql`select count(*) from msgrcpt`),
      quarantinedMessages: await num(connection, sql`select count(*) from quarantine where chunk_ind = 1`),
    };
    server = await startConsole(data.url);
    const requests = Number(options.requests ?? (messages > 100_000 ? 300 : 100));
    const consoleStore = { connection, t: consoleTables(dialect) };
    const clients = new Map<string, Promise<GraphQLClient>>();
    const viewers = new Map<string, Promise<Viewer>>();
    const domainAdmin = `domainadmin@${picks.domain}`;
    const context: BenchContext = {
      dialect,
      setup,
      options: {
        requests,
        warmup: Math.min(10, requests),
        modoboaRuns: Number(options['modoboa-runs']),
        modoboaTimeoutMs: Number(options['modoboa-timeout']) * 1000,
        messageRuns: Number(options['message-runs']),
        insertMessages: Number(options['insert-messages'] ?? (messages > 100_000 ? 500 : 100)),
        explain: options.explain,
        loadSeconds: Number(options['load-seconds']),
        releasePairs: Number(options['release-pairs']),
        allowCleanup: Boolean(data.temp) || options['allow-cleanup'],
        ...(options['cleanup-batch'] ? { cleanupBatch: Number(options['cleanup-batch']) } : {}),
      },
      console: server,
      anonymous: anonymousClient(server.url),
      client: (email) => {
        const url = server?.url ?? '';
        if (!clients.has(email)) clients.set(email, logIn(url, email, BENCH_PASSWORD));
        return clients.get(email) as Promise<GraphQLClient>;
      },
      viewer: (email) => {
        if (!viewers.has(email)) {
          viewers.set(
            email,
            (async () => {
              const id = await num(connection, sql`select id from console_accounts where email = ${email}`);
              const actor = await loadAccountActor(consoleStore, id, { access: 'full', via: 'session' });
              if (!actor) throw new Error(`no account ${email}`);
              return { actor, settings: await getSettings(consoleStore) };
            })(),
          );
        }
        return viewers.get(email) as Promise<Viewer>;
      },
      store: { connection, t: amavisTables(dialect) },
      consoleStore,
      captured,
      raw,
      accounts: {
        superadmin: BENCH_SUPERADMIN.email,
        domainAdmin,
        user: picks.user,
        password: BENCH_PASSWORD,
      },
      domain: picks.domain,
      floorP95: null,
    };
    // the database's own cache: with MariaDB's default 128 MB buffer pool (O_DIRECT) 1 M messages read from disk
    const [cache] = await raw.query(
      dialect === 'pg'
        ? "select current_setting('shared_buffers') as size"
        : "select concat(round(@@innodb_buffer_pool_size / 1048576), 'MB') as size",
    );
    const machine = { ...describeMachine(await raw.version()), databaseCache: String(cache?.size ?? '') };
    const common = { dialect: dialectName, messages, setup };
    const header = {
      case: 'run',
      ...common,
      dataset,
      views: { domain: picks.domain, domainAdmin, user: picks.user, ...(await viewSizes(context)) },
      requests: context.options.requests,
      modoboaRuns: context.options.modoboaRuns,
      generatedMs: data.generated ? generatedMs : null,
      ...prepared,
      machine,
      started: started.toISOString(),
    };
    console.log(JSON.stringify(header));
    const lines: Record<string, unknown>[] = [];
    for (const benchCase of CASES) {
      if (wanted && !wanted.has(benchCase.name)) continue;
      log(`${benchCase.name}…`);
      const t0 = performance.now();
      const result = await benchCase.run(context);
      const line = {
        case: benchCase.name,
        ...common,
        ...result,
        rssMb: rssMb(server.pid),
        rssPeakMb: peakRssMb(server.pid),
        caseMs: Math.round(performance.now() - t0),
      };
      lines.push(line);
      console.log(JSON.stringify(line));
    }
    const summary = {
      case: 'summary',
      ...common,
      meets: Object.fromEntries(
        lines.filter((l) => 'meets' in l).map((l) => [String(l.case), Boolean(l.meets)]),
      ),
      totalMs: Math.round(performance.now() - runStart),
    };
    console.log(JSON.stringify(summary));
    if (!options['no-save']) {
      const file = resultsFile(started, messages);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${JSON.stringify({ ...header, cases: lines, summary }, null, 2)}\n`);
      log(`saved ${path.relative(process.cwd(), file)}`);
    }
  } finally {
    await server?.stop();
    await raw.close();
    await connection.close();
    if (data.temp) {
      if (options.keep) log(`kept ${data.temp.name}: --url ${data.temp.url}`);
      else await data.temp.drop();
    }
  }
}

// Ctrl-C or a kill: end through 'exit', which takes the console process down too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

await main();
