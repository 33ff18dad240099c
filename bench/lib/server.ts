// The console under test: a real `node server/main.ts` process on the bench database, its memory read from
// /proc, and a GraphQL client that logs in the way a browser does.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { MAIN, NODE_FLAGS } from '../../tests/support/run-console.ts';

export interface ConsoleProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startConsole(databaseUrl: string): Promise<ConsoleProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', LOG_LEVEL: 'info', DEMO_DATA: 'false' };
  for (const key of ['DATABASE_URL', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'HOST', 'DATA_DIR']) delete env[key];
  env.AMAVIS_DATABASE_URL = databaseUrl;
  // as `npm start` runs it: with the module hooks that keep drizzle-orm's start-up garbage away, and
  // V8's heap kept small (its young generation capped, its old one collected sooner)
  const child = spawn(process.execPath, [...NODE_FLAGS, MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // An orphaned console whose stdout pipe is gone spins writing logs: never leave one behind.
  const orphan = () => child.kill('SIGKILL');
  process.once('exit', orphan);
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.includes('amavis-console listening'));
      if (line) {
        child.stdout?.off('data', onData);
        // keep draining, or a chatty server blocks on a full pipe
        child.stdout?.resume();
        resolve((JSON.parse(line) as { url: string }).url.replace(/\/$/, ''));
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the console exited with ${code}: ${out}${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    pid: child.pid ?? 0,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      process.off('exit', orphan);
    },
  };
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]);
    return Number.isFinite(kb) ? kb : null;
  } catch {
    return null;
  }
}

const mb = (kb: number | null) => (kb === null ? null : Math.round(kb / 102.4) / 10);

export function rssMb(pid: number): number | null {
  return mb(statusKb(pid, 'VmRSS'));
}

export function peakRssMb(pid: number): number | null {
  return mb(statusKb(pid, 'VmHWM'));
}

/** Samples VmRSS every `everyMs` while `run` runs: the RSS before, and the highest seen. */
export async function sampleRss<T>(
  pid: number,
  run: () => Promise<T>,
  everyMs = 5,
): Promise<{ result: T; beforeMb: number; peakMb: number; addedMb: number }> {
  const before = statusKb(pid, 'VmRSS') ?? 0;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, statusKb(pid, 'VmRSS') ?? 0);
  }, everyMs);
  try {
    const result = await run();
    peak = Math.max(peak, statusKb(pid, 'VmRSS') ?? 0);
    return {
      result,
      beforeMb: mb(before) ?? 0,
      peakMb: mb(peak) ?? 0,
      addedMb: Math.round((peak - before) / 102.4) / 10,
    };
  } finally {
    clearInterval(timer);
  }
}

export interface GraphQLClient {
  /** Throws on GraphQL errors. */
  query<T>(document: string, variables?: Record<string, unknown>): Promise<T>;
  /** A GET with the same credentials, body read to the end; returns its size. */
  download(path: string): Promise<number>;
}

/**
 * One HTTP/1.1 request on one of the client's kept-alive connections; resolves with the status and the body.
 * node:http rather than fetch: with fetch the bench process spent 1.0 ms of CPU per request for a page
 * of 50 entries (27 KB) and 0.45 ms for `{ __typename }`, here 0.75 and 0.24 ms (CPU profiles, 2,000
 * requests each), on the same two cores as the console. That is the instrument's cost, not the console's.
 */
function request(
  agent: http.Agent,
  url: URL,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body: string | null,
  sink?: (chunk: Buffer) => void,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(url, { method, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => (sink ? sink(chunk) : chunks.push(chunk)));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body ?? undefined);
  });
}

function client(baseUrl: string, cookie: string | null): GraphQLClient {
  // connections kept alive and reused: one for a caller that waits for each answer, as many as the
  // concurrent callers of the load case need
  const agent = new http.Agent({ keepAlive: true });
  const endpoint = new URL(`${baseUrl}/graphql`);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (cookie) headers.cookie = cookie;
  return {
    query: async <T>(document: string, variables: Record<string, unknown> = {}) => {
      const response = await request(
        agent,
        endpoint,
        'POST',
        headers,
        JSON.stringify({ query: document, variables }),
      );
      const body = JSON.parse(response.body.toString('utf8')) as { data?: T; errors?: unknown[] };
      if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
      return body.data as T;
    },
    download: async (path) => {
      let bytes = 0;
      const response = await request(
        agent,
        new URL(`${baseUrl}${path}`),
        'GET',
        cookie ? { cookie } : {},
        null,
        (chunk) => {
          bytes += chunk.byteLength;
        },
      );
      if (response.status !== 200) throw new Error(`GET ${path}: ${response.status}`);
      return bytes;
    },
  };
}

export function anonymousClient(baseUrl: string): GraphQLClient {
  return client(baseUrl, null);
}

export async function logIn(baseUrl: string, email: string, password: string): Promise<GraphQLClient> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation($input: LogInInput!) { logIn(input: $input) { __typename } }',
      variables: { input: { email, password } },
    }),
  });
  const cookie = response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0] ?? '')
    .find((c) => c.startsWith('ac_session=') && c.length > 'ac_session='.length);
  if (!cookie) throw new Error(`logging in as ${email} failed: ${await response.text()}`);
  return client(baseUrl, cookie);
}
