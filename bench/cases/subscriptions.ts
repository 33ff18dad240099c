// Live events (issue 7): how long from amavisd's commit to a subscribed client's event, and whether one
// console keeps up with 1,000 WebSocket subscribers during a burst of 500 new messages, within 300 MB RSS.
//
// The case runs its own console process on a throwaway database of the bench's dialect (its own lease and
// event log, so the detector is known to be this console's), with superadmins, a domain admin
// and a user subscribed over graphql-ws. Messages are written the way amavisd writes them (msgs, msgrcpt,
// then quarantine chunk 1 last), each committed before its clock starts. On PostgreSQL it runs twice:
// with the NOTIFY trigger (LISTEN) and without it (polling every LIVE_POLL_INTERVAL_MS, 2 s).
// BENCH_LIVE_SUBSCRIBERS and BENCH_LIVE_BURST shrink it for a quick look.

import { amavisTables, createAmavisTables } from '../../server/db/amavis-tables.ts';
import { consoleTables } from '../../server/db/console-tables.ts';
import { openDatabase } from '../../server/db/database.ts';
import { createLiveTrigger } from '../../server/events/amavis-notify.ts';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { createTempDatabase } from '../../tests/support/databases.ts';
import { addAccount, addMessage } from '../../tests/support/factories.ts';
import { type LiveEvent, type Subscription, subscribe } from '../../tests/support/live-client.ts';
import { type ConsoleProcess, sampleRss, startConsole } from '../lib/server.ts';
import { summarise } from '../lib/stats.ts';
import type { BenchCase, CaseResult } from './types.ts';

const SUBSCRIBERS = Number(process.env.BENCH_LIVE_SUBSCRIBERS ?? 1000);
const BURST = Number(process.env.BENCH_LIVE_BURST ?? 500);
const SINGLES = 20;
/** The console's LIVE_POLL_INTERVAL_MS (the bench does not set it: the default). */
const POLL_MS = Number(process.env.LIVE_POLL_INTERVAL_MS ?? 2000);
const PASSWORD = 'bench-live-password-1';
const DOMAIN = 'bench-live.test';
const USER = `user@${DOMAIN}`;
const NEIGHBOUR = `neighbour@${DOMAIN}`;
const STRANGER = 'stranger@elsewhere.test';

interface Arrival {
  mailId: string;
  at: number;
}

type Role = 'superadmin' | 'domainadmin' | 'user';

async function sessionCookie(url: string, email: string): Promise<string> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation($input: LogInInput!) { logIn(input: $input) { __typename } }',
      variables: { input: { email, password: PASSWORD } },
    }),
  });
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('ac_session='));
  if (!cookie) throw new Error(`logging in as ${email} failed`);
  return (cookie.split(';')[0] ?? '').slice('ac_session='.length);
}

function sees(role: Role, recipient: string): boolean {
  if (role === 'superadmin') return true;
  if (role === 'domainadmin') return recipient.endsWith(`@${DOMAIN}`);
  return recipient === USER;
}

async function runMode(dialect: 'pg' | 'mysql', mode: 'listen' | 'poll'): Promise<CaseResult> {
  const amavisDb = await createTempDatabase(dialect);
  const subs: { role: Role; sub: Subscription<Arrival> }[] = [];
  const connection = await openDatabase(
    { kind: 'url', dialect, url: amavisDb.url, display: 'bench-live' },
    'bench-live',
  );
  let server: ConsoleProcess | null = null;
  try {
    await createAmavisTables(connection);
    if (mode === 'listen') await createLiveTrigger(connection);
    const store = { connection, t: amavisTables(dialect) };
    // as the bench runs its console (npm start's module hooks), its tables in the same database
    server = await startConsole(amavisDb.url);
    const consoleStore = { connection, t: consoleTables(dialect) };
    await createSuperadmin(
      consoleStore,
      { email: 'root@bench-live.test', password: PASSWORD },
      {
        onlyIfNoAccounts: false,
      },
    );
    await addAccount(consoleStore, { email: USER, role: 'user', password: PASSWORD });
    await addAccount(consoleStore, {
      email: `admin@${DOMAIN}`,
      role: 'domainadmin',
      password: PASSWORD,
      addresses: [],
      domains: [DOMAIN],
    });
    const url = server.url;
    const sessions: Record<Role, string> = {
      superadmin: await sessionCookie(url, 'root@bench-live.test'),
      domainadmin: await sessionCookie(url, `admin@${DOMAIN}`),
      user: await sessionCookie(url, USER),
    };
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const role: Role = i % 10 < 4 ? 'superadmin' : i % 10 < 7 ? 'domainadmin' : 'user';
      const sub = subscribe<Arrival>(
        url,
        { session: sessions[role] },
        // since 0: the log is empty when they subscribe, so none misses what arrives while it sets up
        'subscription { quarantineEvents(since: "0") { kind entry { mailId } } }',
        {},
        (data) => {
          const at = performance.now();
          return (data.quarantineEvents as LiveEvent[]).map((e) => ({ mailId: e.entry?.mailId ?? '', at }));
        },
      );
      subs.push({ role, sub });
      // the server resolves each connection's session: do not open a thousand at once
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const now = () => Math.floor(Date.now() / 1000);
    const quarantine = (recipient: string) =>
      addMessage(store, { timeNum: now(), recipients: [{ email: recipient }] });
    // every subscriber sees the warm-up, so once all have it every subscription is in place
    const warm = await quarantine(USER);
    await Promise.all(subs.map(({ sub }) => sub.waitFor((a) => a.mailId === warm, 120_000)));

    // single messages, one at a time: commit -> event at a superadmin, a domain admin and the user
    const single: number[] = [];
    const probes = [
      subs.find((s) => s.role === 'superadmin'),
      subs.find((s) => s.role === 'domainadmin'),
      subs.find((s) => s.role === 'user'),
    ];
    for (let i = 0; i < SINGLES; i++) {
      const mailId = await quarantine(USER);
      const committed = performance.now();
      for (const probe of probes) {
        const arrival = await probe?.sub.waitFor((a) => a.mailId === mailId, 30_000);
        if (arrival) single.push(Math.max(0, arrival.at - committed));
      }
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 300));
    }

    // the burst: as fast as one connection can write them, a third each to the user, a neighbour in the
    // domain, and a stranger outside it
    const recipients = [USER, NEIGHBOUR, STRANGER];
    const committedAt = new Map<string, { at: number; recipient: string }>();
    const measured = await sampleRss(
      server.child.pid ?? 0,
      async () => {
        const started = performance.now();
        for (let i = 0; i < BURST; i++) {
          const recipient = recipients[i % 3] as string;
          const mailId = await quarantine(recipient);
          committedAt.set(mailId, { at: performance.now(), recipient });
        }
        const written = performance.now() - started;
        const deadline = Date.now() + 120_000;
        const expected = (role: Role) =>
          [...committedAt.values()].filter((c) => sees(role, c.recipient)).length;
        const want = {
          superadmin: expected('superadmin'),
          domainadmin: expected('domainadmin'),
          user: expected('user'),
        };
        for (;;) {
          const done = subs.every(
            ({ role, sub }) => sub.received.filter((a) => committedAt.has(a.mailId)).length >= want[role],
          );
          if (done || Date.now() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return { writtenMs: Math.round(written), want, deliveredMs: Math.round(performance.now() - started) };
      },
      20,
    );
    let missing = 0;
    let extra = 0;
    let duplicates = 0;
    const burstLatency: number[] = [];
    for (const { role, sub } of subs) {
      const got = sub.received.filter((a) => committedAt.has(a.mailId));
      const unique = new Set(got.map((a) => a.mailId));
      duplicates += got.length - unique.size;
      extra += [...unique].filter((m) => !sees(role, committedAt.get(m)?.recipient ?? '')).length;
      missing +=
        measured.result.want[role] -
        [...unique].filter((m) => sees(role, committedAt.get(m)?.recipient ?? '')).length;
      for (const a of got) burstLatency.push(Math.max(0, a.at - (committedAt.get(a.mailId)?.at ?? a.at)));
    }
    const singleTiming = summarise(single);
    const limit = mode === 'listen' ? 250 : POLL_MS + 250;
    return {
      mode,
      subscribers: SUBSCRIBERS,
      burst: BURST,
      singleLatencyMs: singleTiming,
      singleP95WithinTarget: singleTiming.p95 <= limit,
      targetP95Ms: limit,
      burstWriteMs: measured.result.writtenMs,
      burstDeliveredMs: measured.result.deliveredMs,
      burstLatencyMs: summarise(burstLatency),
      expectedPerRole: measured.result.want,
      missing,
      extra,
      duplicates,
      everyoneGotEverything: missing === 0 && extra === 0 && duplicates === 0,
      rssBeforeMb: measured.beforeMb,
      rssPeakMb: measured.peakMb,
      rssWithinTarget: measured.peakMb < 300,
    };
  } finally {
    await Promise.all(subs.map(({ sub }) => sub.close().catch(() => {})));
    await server?.stop().catch(() => {});
    await connection.close();
    await amavisDb.drop();
  }
}

export const subscriptionsCase: BenchCase = {
  name: 'subscriptions',
  run: async (context): Promise<CaseResult> => {
    const modes: ('listen' | 'poll')[] = context.dialect === 'pg' ? ['listen', 'poll'] : ['poll'];
    const results: CaseResult[] = [];
    for (const mode of modes) results.push(await runMode(context.dialect, mode));
    return { modes: results };
  },
};
