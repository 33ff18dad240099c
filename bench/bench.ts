// npm run bench [-- --dialect postgresql|mariadb|pglite] [--messages N] [--requests N] [--cases a,b]
// Starts a real console process on a fresh database filled by the demo generator, measures GraphQL cases
// over HTTP, runs the same query as raw SQL in the same run (the lower bound), and prints one JSON line
// per case. Medians and ratios matter; single numbers on a shared 2-core machine do not.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import type { DatabaseTarget, Dialect } from '../server/config.ts';
import { amavisTables, createAmavisTables } from '../server/db/amavis-tables.ts';
import { openDatabase } from '../server/db/database.ts';
import { seedDemoData } from '../server/demo/demo-data.ts';
import { createTempDatabase, type TempDatabase } from '../tests/support/databases.ts';

const { values: options } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'postgresql' },
    messages: { type: 'string', default: '2000' },
    requests: { type: 'string', default: '200' },
    cases: { type: 'string', default: 'floor,list-first-page,list-deep-page' },
  },
});
const dialectName = options.dialect;
if (!['postgresql', 'mariadb', 'pglite'].includes(dialectName))
  throw new Error('--dialect: postgresql, mariadb or pglite');
const messages = Number(options.messages);
const requests = Number(options.requests);
const cases = new Set(options.cases.split(','));
const PAGE = 50;
const DEEP_PAGES = 10;

const LIST_SQL = (keyset: boolean, param: (n: number) => string) => `
  select m.partition_tag, m.mail_id, r.rseqnum, m.time_num, rcpt.email as recipient, sender.email as sender,
         m.from_addr, m.subject, m.size, r.content, r.rs, r.bspam_level
  from msgs m
  join msgrcpt r on r.partition_tag = m.partition_tag and r.mail_id = m.mail_id
  join maddr rcpt on rcpt.id = r.rid
  left join maddr sender on sender.id = m.sid
  where m.content is not null and r.rs <> 'D'
    and exists (select 1 from quarantine q where q.partition_tag = m.partition_tag and q.mail_id = m.mail_id and q.chunk_ind = 1)
    ${keyset ? `and (m.time_num, m.partition_tag, m.mail_id, r.rseqnum) < (${param(1)}, ${param(2)}, ${param(3)}, ${param(4)})` : ''}
  order by m.time_num desc, m.partition_tag desc, m.mail_id desc, r.rseqnum desc
  limit ${PAGE + 1}`;

const LIST_QUERY = `query($after: String) { quarantine(first: ${PAGE}, after: $after) {
  edges { cursor node { id mailId recipient envelopeSender fromHeader subject receivedAt size score
    content { code kind label } status { code kind label } } }
  pageInfo { hasNextPage endCursor } } }`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function measure(
  run: () => Promise<void>,
): Promise<{ p50: number; p95: number; p99: number; rps: number }> {
  for (let i = 0; i < Math.min(20, requests); i++) await run();
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  const total = performance.now() - start;
  times.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    p50: round(percentile(times, 50)),
    p95: round(percentile(times, 95)),
    p99: round(percentile(times, 99)),
    rps: round((requests / total) * 1000),
  };
}

function peakRssMb(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return Math.round(kb / 102.4) / 10;
  } catch {
    return null;
  }
}

async function main() {
  const dialect: Dialect = dialectName === 'mariadb' ? 'mysql' : 'pg';
  let temp: TempDatabase | undefined;
  let dataDir: string | undefined;
  let target: DatabaseTarget;
  if (dialectName === 'pglite') {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-bench-'));
    target = { kind: 'embedded', dir: path.join(dataDir, 'pglite') };
  } else {
    temp = await createTempDatabase(dialect);
    target = { kind: 'url', dialect, url: temp.url, display: temp.name };
  }
  const connection = await openDatabase(target, 'amavis');
  await createAmavisTables(connection);
  const seedStart = performance.now();
  const summary = await seedDemoData({ connection, t: amavisTables(dialect) }, { messages });
  const seedMs = Math.round(performance.now() - seedStart);
  await connection.close();

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'info',
    DEMO_DATA: 'false',
    ADMIN_EMAIL: 'bench@console.test',
    ADMIN_PASSWORD: 'bench-password-1',
  };
  if (temp) env.AMAVIS_DATABASE_URL = temp.url;
  if (dataDir) env.DATA_DIR = dataDir;
  const server = spawn(process.execPath, [new URL('../server/main.ts', import.meta.url).pathname], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.includes('amavis-console listening'));
      if (line) resolve((JSON.parse(line) as { url: string }).url.replace(/\/$/, ''));
    });
    server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });

  // A superadmin's session: the listing cases measure the unrestricted (largest) view.
  const login = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation($input: LogInInput!) { logIn(input: $input) { __typename } }',
      variables: { input: { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD } },
    }),
  });
  const cookie = login.headers.getSetCookie()[0]?.split(';')[0];
  if (!cookie) throw new Error(`bench login failed: ${await login.text()}`);

  const graphql = async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data as {
      quarantine: { edges: { cursor: string; node: { mailId: string } }[]; pageInfo: { endCursor: string } };
    };
  };

  // The raw SQL lower bound needs its own connection, which PGlite (one process) cannot offer.
  let raw: ((keyset: unknown[] | null) => Promise<void>) | null = null;
  let closeRaw = async () => {};
  if (temp && dialect === 'pg') {
    const sql = postgres(temp.url, { max: 1 });
    raw = async (keyset) => {
      await sql.unsafe(
        LIST_SQL(keyset !== null, (n) => `$${n}`),
        (keyset ?? []) as never[],
      );
    };
    closeRaw = () => sql.end();
  } else if (temp) {
    const conn = await mysql.createConnection(temp.url);
    raw = async (keyset) => {
      await conn.query(
        LIST_SQL(keyset !== null, () => '?'),
        keyset ?? [],
      );
    };
    closeRaw = () => conn.end();
  }

  let deepCursor: string | null = null;
  let deepKeyset: unknown[] | null = null;
  for (let page = 0; page < DEEP_PAGES; page++) {
    const data = await graphql(LIST_QUERY, { after: deepCursor });
    deepCursor = data.quarantine.pageInfo.endCursor;
  }
  if (deepCursor) {
    const [timeNum, partitionTag, mailId, rseqnum] = JSON.parse(
      Buffer.from(deepCursor, 'base64url').toString(),
    );
    deepKeyset = [timeNum, partitionTag, Buffer.from(mailId, 'latin1'), rseqnum];
  }

  const base = {
    dialect: dialectName,
    messages,
    quarantined: summary.quarantined,
    recipients: summary.recipients,
    requests,
  };
  console.log(JSON.stringify({ case: 'seed', ...base, ms: seedMs }));
  const report = async (
    name: string,
    viaGraphQL: () => Promise<void>,
    viaSql: (() => Promise<void>) | null,
  ) => {
    if (!cases.has(name)) return;
    const api = await measure(viaGraphQL);
    const lower = viaSql ? await measure(viaSql) : null;
    console.log(
      JSON.stringify({
        case: name,
        ...base,
        ...api,
        rssPeakMb: peakRssMb(server.pid ?? 0),
        rawSql: lower,
        ratioP50: lower ? Math.round((api.p50 / lower.p50) * 100) / 100 : null,
      }),
    );
  };
  await report(
    'floor',
    async () => {
      await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ __typename }"}',
      }).then((r) => r.text());
    },
    null,
  );
  await report('list-first-page', async () => void (await graphql(LIST_QUERY)), raw && (() => raw(null)));
  await report(
    'list-deep-page',
    async () => void (await graphql(LIST_QUERY, { after: deepCursor })),
    raw && (() => raw(deepKeyset)),
  );

  await closeRaw();
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  await temp?.drop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}

await main();
