// Background jobs on each database: run records, skipping a run whose lease is held, jobs and runs over
// GraphQL ("run now"), preferences, a digest sent once by concurrent runs (in one process and in two real
// processes), and the one-click action pages: a GET changes nothing, the POST acts once, a second POST,
// an expired, tampered or unknown link and a cross-site POST are refused with a clear page.
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { acquireLease, releaseLease } from '../../server/db/leases.ts';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { issueActionTokens, type TokenAction } from '../../server/features/digests/action-tokens.service.ts';
import { type JobDeps, type JobRunRow, runJob } from '../../server/features/jobs/jobs.service.ts';
import { createLogger } from '../../server/log.ts';
import { createMailer } from '../../server/mail/mailer.ts';
import { parseMessage } from '../../server/mail/parse-message.ts';
import { addAccount, addMessage } from './factories.ts';
import { type Client, errorCode, logInAs } from './graphql-client.ts';
import { closedPort, recipientStatus, startInbox } from './release.shared.ts';
import { CLI, runToExit } from './run-console.ts';
import { startTestApp, type TestApp } from './test-app.ts';

export interface JobsDatabase {
  env: Record<string, string>;
  prepare?: () => Promise<void>;
  dispose: () => Promise<void>;
}

/** The action links of a digest's text part, by label. */
export function digestLinks(text: string): { label: string; url: string }[] {
  return [
    ...text.matchAll(
      /^ {3}(Release|Request release|Delete|Always allow sender|Always block sender): (\S+)$/gm,
    ),
  ].map((m) => ({ label: m[1] as string, url: m[2] as string }));
}

export async function mailText(raw: Buffer): Promise<{ text: string; html: string; subject: string }> {
  const parsed = await parseMessage(raw);
  return { text: parsed.text ?? '', html: parsed.html ?? '', subject: parsed.subject ?? '' };
}

export async function tokenRow(app: TestApp, url: string) {
  const id = (url.split('/actions/')[1] ?? '').split('.')[0] ?? '';
  const t = app.stores.console.t.actionTokensTable;
  const [row] = await app.stores.console.connection.db.select().from(t).where(eq(t.id, id));
  return row;
}

export async function post(url: string, origin?: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
    body: '',
  });
  return { status: response.status, body: await response.text() };
}

export async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

/** A clear page: HTML with a title, and nothing that looks like a stack trace or SQL. */
export function expectClearPage(body: string, title: RegExp): void {
  expect(body).toMatch(/^<!doctype html>/);
  expect(body).toMatch(title);
  expect(body).not.toMatch(/\bat .+\.ts:\d+|Error:|select |insert /i);
}

const silent = createLogger('silent');

async function enableDigest(app: TestApp, client: Client, accountId: number, lastDigestAt: Date | null) {
  const response = await client.gql<{ updateMyPreferences: { digestEnabled: boolean } }>(
    `mutation($input: UpdateMyPreferencesInput!) { updateMyPreferences(input: $input) { digestEnabled } }`,
    { input: { digestEnabled: true, digestFrequency: 'daily', digestMinute: 0, timeZone: 'UTC' } },
  );
  expect(response.errors).toBeUndefined();
  // due now, with the last digest an hour ago
  const p = app.stores.console.t.userPreferencesTable;
  await app.stores.console.connection.db
    .update(p)
    .set({ nextDigestAt: new Date(Date.now() - 60_000), lastDigestAt })
    .where(eq(p.accountId, accountId));
}

export function jobsSuite(open: () => Promise<JobsDatabase>, options: { processes: boolean }): void {
  let database: JobsDatabase;
  let app: TestApp;
  let inbox: Awaited<ReturnType<typeof startInbox>>;
  let deps: JobDeps;
  let root: Client;
  let dom: Client;
  let alice: Client;
  let aliceId: number;
  let bobId: number;
  let bob: Client;

  const runs = async (job: string): Promise<JobRunRow[]> => {
    const t = app.stores.console.t.jobRunsTable;
    return app.stores.console.connection.db.select().from(t).where(eq(t.job, job)).orderBy(asc(t.id));
  };

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    inbox = await startInbox();
    app = await startTestApp({ ...database.env, SMTP_URL: inbox.url });
    deps = { stores: app.stores, mailer: createMailer(inbox.url, silent), publicUrl: app.url, log: silent };
    await createSuperadmin(
      app.stores.console,
      { email: 'root@admin.test', password: 'jobs-root-pass-1' },
      { onlyIfNoAccounts: false },
    );
    await addAccount(app.stores.console, {
      email: 'dom@jobs.test',
      role: 'domainadmin',
      password: 'jobs-dom-pass-1',
      domains: ['jobs.test'],
    });
    aliceId = await addAccount(app.stores.console, {
      email: 'alice@jobs.test',
      role: 'user',
      password: 'jobs-alice-1',
    });
    bobId = await addAccount(app.stores.console, {
      email: 'bob@jobs.test',
      role: 'user',
      password: 'jobs-bob-pass-1',
    });
    root = await logInAs(app.url, 'root@admin.test', 'jobs-root-pass-1');
    dom = await logInAs(app.url, 'dom@jobs.test', 'jobs-dom-pass-1');
    alice = await logInAs(app.url, 'alice@jobs.test', 'jobs-alice-1');
    bob = await logInAs(app.url, 'bob@jobs.test', 'jobs-bob-pass-1');
  }, 60_000);

  afterAll(async () => {
    deps?.mailer.close();
    await app?.close();
    await inbox?.close();
    await database?.dispose();
  });

  it('records every run with its outcome and counts, and records a run whose lease is held as skipped', async () => {
    const ran = await runJob(deps, { job: 'reminders', origin: 'manual', startedBy: 'a test' });
    expect(ran).toMatchObject({
      job: 'reminders',
      origin: 'manual',
      startedBy: 'a test',
      outcome: 'success',
    });
    expect(ran.finishedAt).toBeInstanceOf(Date);
    expect(ran.counts).toMatchObject({ pending: 0, sent: 0, dryRun: false });
    // another replica is running it
    expect(await acquireLease(app.stores.console, 'job:reminders', 'elsewhere:1:abc', 30_000)).toBe(true);
    try {
      const skipped = await runJob(deps, { job: 'reminders', origin: 'schedule' });
      expect(skipped).toMatchObject({ outcome: 'skipped', origin: 'schedule', counts: null });
      expect(skipped.error).toMatch(/still going/);
    } finally {
      await releaseLease(app.stores.console, 'job:reminders', 'elsewhere:1:abc');
    }
    // a replica that died mid-run left its record running; the next run that gets the lease closes it
    await app.stores.console.connection.db.insert(app.stores.console.t.jobRunsTable).values({
      job: 'reminders',
      origin: 'schedule',
      holder: 'dead:1:abc',
      startedAt: new Date(Date.now() - 3600_000),
      outcome: 'running',
    });
    const after = await runJob(deps, { job: 'reminders', origin: 'cli' });
    expect(after.outcome).toBe('success');
    const all = await runs('reminders');
    expect(all.map((r) => r.outcome)).toEqual(['success', 'skipped', 'failure', 'success']);
    expect(all[2]).toMatchObject({
      holder: 'dead:1:abc',
      error: 'its replica stopped before the run finished',
    });
  });

  it('a failing job is recorded as a failure with its reason, and the lease is free again', async () => {
    // a relay that refuses every connection
    const broken = { ...deps, mailer: createMailer('smtp://127.0.0.1:9', silent) };
    await app.stores.console.connection.db.insert(app.stores.console.t.releaseRequestsTable).values({
      partitionTag: 0,
      mailId: 'FailReminder',
      rseqnum: 1,
      recipient: 'carol@jobs.test',
      recipientDomain: 'jobs.test',
      status: 'pending',
      pendingKey: '0:FailReminder:1',
      requestedBy: 'carol@jobs.test',
      notifyAddress: 'carol@jobs.test',
    });
    const failed = await runJob(broken, { job: 'reminders', origin: 'cli' });
    broken.mailer.close();
    expect(failed.outcome).toBe('failure');
    expect(failed.error).toMatch(/2 reminder\(s\) not sent/);
    expect(failed.counts).toMatchObject({ pending: 1, admins: 2, sent: 0, failed: 2 });
    const leases = app.stores.console.t.leasesTable;
    expect(
      await app.stores.console.connection.db.select().from(leases).where(eq(leases.name, 'job:reminders')),
    ).toEqual([]);
  });

  it('shows jobs and runs to admins (error details to superadmins only) and lets superadmins run a job now', async () => {
    const RUN = `mutation($input: RunJobInput!) { runJob(input: $input) { id job origin dryRun outcome startedBy } }`;
    const started = await root.gql<{
      runJob: { id: string; origin: string; dryRun: boolean; outcome: string; startedBy: string };
    }>(RUN, {
      input: { job: 'cleanup', dryRun: true },
    });
    expect(started.errors).toBeUndefined();
    expect(started.data?.runJob).toMatchObject({
      origin: 'manual',
      dryRun: true,
      startedBy: 'root@admin.test',
    });
    expect(['running', 'success']).toContain(started.data?.runJob.outcome);
    const RUNS = `query($job: JobName) { jobRuns(first: 50, job: $job) { edges { node { id job outcome error counts finishedAt } } } }`;
    type Runs = {
      jobRuns: {
        edges: { node: { id: string; outcome: string; error: string | null; counts: string | null } }[];
      };
    };
    let finished: { outcome: string; counts: string | null } | undefined;
    for (let i = 0; i < 100 && !finished; i++) {
      const list = await root.gql<Runs>(RUNS, { job: 'cleanup' });
      finished = list.data?.jobRuns.edges.find(
        (e) => e.node.id === started.data?.runJob.id && e.node.outcome !== 'running',
      )?.node;
      if (!finished) await new Promise((r) => setTimeout(r, 100));
    }
    expect(finished?.outcome).toBe('success');
    expect(JSON.parse(finished?.counts ?? '{}')).toMatchObject({
      dryRun: true,
      complete: true,
      actionTokens: 0,
    });

    // the failure above: its reason names addresses, so only superadmins read it
    const rootRuns = await root.gql<Runs>(RUNS, { job: 'reminders' });
    const domRuns = await dom.gql<Runs>(RUNS, { job: 'reminders' });
    const failure = (r: typeof rootRuns) =>
      r.data?.jobRuns.edges.find((e) => e.node.outcome === 'failure')?.node;
    expect(failure(rootRuns)?.error).toMatch(/not sent/);
    expect(failure(domRuns)?.error).toBe('failed (details for superadmins)');
    expect(domRuns.data?.jobRuns.edges.map((e) => e.node.id)).toEqual(
      rootRuns.data?.jobRuns.edges.map((e) => e.node.id),
    );
    expect(errorCode(await alice.gql(RUNS, {}))).toBe('FORBIDDEN');
    expect(errorCode(await dom.gql(RUN, { input: { job: 'cleanup' } }))).toBe('FORBIDDEN');

    const jobs = await dom.gql<{
      jobs: {
        name: string;
        schedule: string;
        nextRunAt: string | null;
        lastRun: { outcome: string } | null;
      }[];
    }>('{ jobs { name schedule nextRunAt lastRun { outcome } } }');
    expect(jobs.data?.jobs.map((j) => [j.name, j.schedule])).toEqual([
      ['cleanup', '30 3 * * *'],
      ['reminders', '0 8 * * *'],
      ['digests', '*/5 * * * *'],
    ]);
    for (const job of jobs.data?.jobs ?? [])
      expect(new Date(job.nextRunAt ?? 0).getTime()).toBeGreaterThan(Date.now());
    expect(jobs.data?.jobs[1]?.lastRun?.outcome).toBe('failure');

    // schedules are settings, validated
    const bad = await root.gql(
      'mutation { updateSettings(input: { digestsSchedule: "61 * * * *" }) { digestsSchedule } }',
    );
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
  });

  it('the cleanup job also prunes digest links a day past their expiry or use, and week-old events', async () => {
    const day = 24 * 3600_000;
    const tokens = app.stores.console.t.actionTokensTable;
    const events = app.stores.console.t.quarantineEventsTable;
    const { db } = app.stores.console.connection;
    const token = (id: string, expiresAt: Date, usedAt: Date | null = null) => ({
      id: id.padEnd(22, '0'),
      accountId: aliceId,
      partitionTag: 0,
      mailId: 'PruneTest001',
      rseqnum: 1,
      recipient: 'alice@jobs.test',
      action: 'delete',
      expiresAt,
      usedAt,
    });
    await db
      .insert(tokens)
      .values([
        token('pruneExpired', new Date(Date.now() - 2 * day)),
        token('pruneUsed', new Date(Date.now() + 5 * day), new Date(Date.now() - 2 * day)),
        token('keepFresh', new Date(Date.now() + 5 * day)),
        token('keepJustExpired', new Date(Date.now() - 3600_000)),
      ]);
    const event = (ageDays: number) => ({
      at: new Date(Date.now() - ageDays * day),
      kind: 'quarantined',
      partitionTag: 0,
      mailId: `PruneEv${ageDays}`,
      rseqnum: 1,
      recipient: 'alice@jobs.test',
      recipientDomain: 'jobs.test',
    });
    await db.insert(events).values([event(8), event(1)]);
    const dry = await runJob(deps, { job: 'cleanup', origin: 'cli', dryRun: true });
    expect(dry.counts).toMatchObject({ dryRun: true, actionTokens: 2, quarantineEvents: 1 });
    expect(
      await db.select({ id: tokens.id }).from(tokens).where(eq(tokens.mailId, 'PruneTest001')),
    ).toHaveLength(4);
    const run = await runJob(deps, { job: 'cleanup', origin: 'cli' });
    expect(run.outcome).toBe('success');
    expect(run.counts).toMatchObject({ dryRun: false, actionTokens: 2, quarantineEvents: 1 });
    const left = await db.select({ id: tokens.id }).from(tokens).where(eq(tokens.mailId, 'PruneTest001'));
    expect(left.map((r) => r.id.replace(/0+$/, '')).sort()).toEqual(['keepFresh', 'keepJustExpired']);
    const kept = await db
      .select({ mailId: events.mailId })
      .from(events)
      .where(inArray(events.mailId, ['PruneEv8', 'PruneEv1']));
    expect(kept.map((r) => r.mailId)).toEqual(['PruneEv1']);
  });

  it('validates preferences and schedules the next digest at the chosen time in the chosen zone', async () => {
    const UPDATE = `mutation($input: UpdateMyPreferencesInput!) { updateMyPreferences(input: $input) {
      digestEnabled digestFrequency digestMinute digestWeekday timeZone pageSize language nextDigestAt } }`;
    const badZone = await bob.gql(UPDATE, { input: { timeZone: 'Mars/Olympus_Mons' } });
    expect(errorCode(badZone)).toBe('BAD_USER_INPUT');
    expect(badZone.errors?.[0]?.message).toMatch(/timeZone/);
    expect(errorCode(await bob.gql(UPDATE, { input: { digestFrequency: 'weekly' } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await bob.gql(UPDATE, { input: { digestMinute: 1440 } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await bob.gql(UPDATE, { input: { pageSize: 5 } }))).toBe('BAD_USER_INPUT');
    const ok = await bob.gql<{ updateMyPreferences: { nextDigestAt: string; timeZone: string } }>(UPDATE, {
      input: {
        digestEnabled: true,
        digestFrequency: 'weekly',
        digestWeekday: 2,
        digestMinute: 7 * 60 + 30,
        timeZone: 'America/Sao_Paulo',
        pageSize: 100,
        language: 'pt-BR',
      },
    });
    expect(ok.errors).toBeUndefined();
    const next = new Date(ok.data?.updateMyPreferences.nextDigestAt ?? 0);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime()).toBeLessThanOrEqual(Date.now() + 7 * 24 * 3600_000);
    const local = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/Sao_Paulo',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(next);
    expect(local).toBe('Tue 07:30');
    const read = await bob.gql<{ myPreferences: Record<string, unknown> }>(
      '{ myPreferences { digestEnabled digestFrequency digestWeekday timeZone pageSize language } }',
    );
    expect(read.data?.myPreferences).toEqual({
      digestEnabled: true,
      digestFrequency: 'weekly',
      digestWeekday: 2,
      timeZone: 'America/Sao_Paulo',
      pageSize: 100,
      language: 'pt-BR',
    });
    const off = await bob.gql<{ updateMyPreferences: { nextDigestAt: string | null } }>(UPDATE, {
      input: { digestEnabled: false, timeZone: null },
    });
    expect(off.data?.updateMyPreferences).toMatchObject({ nextDigestAt: null, timeZone: null });
  });

  it('sends a due digest once when two runs start together, with only mail new since the last digest', async () => {
    const now = Math.floor(Date.now() / 1000);
    await addMessage(app.stores.amavis, {
      timeNum: now - 7200,
      subject: 'before the last digest',
      recipients: [{ email: 'alice@jobs.test', content: 'S' }],
    });
    await addMessage(app.stores.amavis, {
      timeNum: now - 600,
      subject: 'new since the last digest',
      recipients: [{ email: 'alice@jobs.test', content: 'S' }],
    });
    await enableDigest(app, alice, aliceId, new Date((now - 3600) * 1000));
    const before = inbox.mails.length;
    const [a, b] = await Promise.all([
      runJob(deps, { job: 'digests', origin: 'schedule' }),
      runJob(deps, { job: 'digests', origin: 'schedule' }),
    ]);
    const sent = [a, b].map((run) => (run.outcome === 'success' ? (run.counts as { sent: number }).sent : 0));
    expect(sent.reduce((x, y) => x + y, 0)).toBe(1);
    const mails = inbox.mails.slice(before).filter((m) => m.to.includes('alice@jobs.test'));
    expect(mails).toHaveLength(1);
    const { text, subject } = await mailText(mails[0]?.raw as Buffer);
    expect(subject).toBe('Quarantine digest: 1 new message');
    expect(text).toContain('new since the last digest');
    expect(text).not.toContain('before the last digest');
    const links = digestLinks(text);
    expect(links.map((l) => l.label)).toEqual([
      'Request release',
      'Delete',
      'Always allow sender',
      'Always block sender',
    ]);
    for (const link of links) expect(link.url.startsWith(`${app.url}/actions/`)).toBe(true);
    // the schedule moved on: nothing is due now
    const again = await runJob(deps, { job: 'digests', origin: 'schedule' });
    expect(again.counts).toMatchObject({ due: 0, sent: 0 });
  });

  it('without PUBLIC_URL, digests and reminders say so instead of carrying broken links', async () => {
    await addMessage(app.stores.amavis, {
      timeNum: Math.floor(Date.now() / 1000) - 60,
      subject: 'no public url',
      recipients: [{ email: 'alice@jobs.test', content: 'S' }],
    });
    const p = app.stores.console.t.userPreferencesTable;
    await app.stores.console.connection.db
      .update(p)
      .set({ nextDigestAt: new Date(Date.now() - 1000), lastDigestAt: new Date(Date.now() - 120_000) })
      .where(eq(p.accountId, aliceId));
    const tokens = app.stores.console.t.actionTokensTable;
    const before = await app.stores.console.connection.db.select({ id: tokens.id }).from(tokens);
    const mailsBefore = inbox.mails.length;
    await app.stores.console.connection.db.insert(app.stores.console.t.releaseRequestsTable).values({
      partitionTag: 0,
      mailId: 'NoUrlRequest',
      rseqnum: 1,
      recipient: 'carol@jobs.test',
      recipientDomain: 'jobs.test',
      status: 'pending',
      pendingKey: '0:NoUrlRequest:1',
      requestedBy: 'carol@jobs.test',
      notifyAddress: 'carol@jobs.test',
    });
    const noUrl = { ...deps, publicUrl: null };
    const digests = await runJob(noUrl, { job: 'digests', origin: 'cli' });
    expect(digests.counts).toMatchObject({ sent: 1, linksIncluded: false });
    const reminders = await runJob(noUrl, { job: 'reminders', origin: 'cli' });
    expect(reminders.counts).toMatchObject({ linksIncluded: false });
    const mails = await Promise.all(inbox.mails.slice(mailsBefore).map((m) => mailText(m.raw)));
    // alice's digest, and a reminder each to root and dom
    expect(mails).toHaveLength(3);
    for (const mail of mails) {
      expect(mail.text).toContain('no public address configured (PUBLIC_URL)');
      expect(mail.text).not.toMatch(/https?:\/\//);
      expect(mail.html).not.toMatch(/href=/);
    }
    expect(await app.stores.console.connection.db.select({ id: tokens.id }).from(tokens)).toHaveLength(
      before.length,
    );
  });

  if (options.processes) {
    it('the CLI names the jobs and refuses options that do not fit', async () => {
      const env = { ...database.env, LOG_LEVEL: 'warn' };
      const unknown = await runToExit(env, 30_000, [CLI, 'job', 'purge']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('unknown job "purge"; jobs: cleanup, reminders, digests');
      const misplaced = await runToExit(env, 30_000, [CLI, 'job', 'digests', '--batch-size', '3']);
      expect(misplaced.code).toBe(1);
      expect(misplaced.stderr).toContain('--batch-size is for the cleanup job');
      const dry = await runToExit(env, 30_000, [CLI, 'job', 'reminders', '--dry-run']);
      expect(dry.code).toBe(0);
      expect(JSON.parse(dry.stdout.trim())).toMatchObject({
        dryRun: true,
        run: { job: 'reminders', origin: 'cli' },
      });
    }, 60_000);

    it('two console processes started at once send the due digest once', async () => {
      await addMessage(app.stores.amavis, {
        timeNum: Math.floor(Date.now() / 1000) - 60,
        subject: 'for the two processes',
        recipients: [{ email: 'bob@jobs.test', content: 'S' }],
      });
      await enableDigest(app, bob, bobId, new Date(Date.now() - 3600_000));
      const before = inbox.mails.length;
      const env = { ...database.env, SMTP_URL: inbox.url, PUBLIC_URL: app.url, LOG_LEVEL: 'warn' };
      const [one, two] = await Promise.all([
        runToExit(env, 60_000, [CLI, 'job', 'digests']),
        runToExit(env, 60_000, [CLI, 'job', 'digests']),
      ]);
      expect([one.code, two.code]).toEqual([0, 0]);
      const reports = [one, two].map(
        (p) => JSON.parse(p.stdout.trim()) as { sent?: number; run: { outcome: string } },
      );
      expect(reports.map((r) => r.run.outcome).every((o) => o === 'success' || o === 'skipped')).toBe(true);
      expect(reports.reduce((n, r) => n + (r.sent ?? 0), 0)).toBe(1);
      const mails = inbox.mails.slice(before).filter((m) => m.to.includes('bob@jobs.test'));
      expect(mails).toHaveLength(1);
      const cli = (await runs('digests')).filter((r) => r.origin === 'cli' && r.startedBy !== null);
      expect(cli).toHaveLength(2);
      for (const run of cli) expect(run.startedBy).toMatch(/^cli \(/);
    }, 90_000);
  }

  it('a GET shows a confirmation and changes nothing; the POST acts once; later POSTs are refused', async () => {
    const mailId = await addMessage(app.stores.amavis, {
      timeNum: Math.floor(Date.now() / 1000) - 30,
      subject: '<script>alert("pwned")</script> & friends',
      sender: 'mallory@evil.test',
      recipients: [{ email: 'alice@jobs.test', content: 'S' }],
    });
    const scope = (action: TokenAction) => ({
      accountId: aliceId,
      action,
      partitionTag: 0,
      mailId,
      rseqnum: 1,
      recipient: 'alice@jobs.test',
    });
    const [request, remove, allow] = (
      await issueActionTokens(app.stores.console, [scope('request'), scope('delete'), scope('allow-sender')])
    ).map((token) => `${app.url}/actions/${token}`) as [string, string, string];

    const shown = await get(request);
    expect(shown.status).toBe(200);
    expectClearPage(shown.body, /Ask an administrator to release this message\?/);
    expect(shown.body).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; friends');
    expect(shown.body).not.toContain('<script>');
    expect(shown.body).toMatch(/<form method="post"/);
    const head = await fetch(request, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await recipientStatus(app, mailId)).toBe('');
    expect((await tokenRow(app, request))?.usedAt).toBeNull();

    const crossSite = await post(request, 'https://evil.example');
    expect(crossSite.status).toBe(403);
    expectClearPage(crossSite.body, /Not allowed from another site/);
    expect((await tokenRow(app, request))?.usedAt).toBeNull();
    expect(await recipientStatus(app, mailId)).toBe('');

    const done = await post(request, app.url);
    expect(done.status).toBe(200);
    expectClearPage(done.body, /Release requested/);
    expect(await recipientStatus(app, mailId)).toBe('p');
    expect((await tokenRow(app, request))?.usedAt).toBeInstanceOf(Date);
    const again = await post(request);
    expect(again.status).toBe(410);
    expectClearPage(again.body, /This link was already used/);
    const requests = app.stores.console.t.releaseRequestsTable;
    expect(
      await app.stores.console.connection.db.select().from(requests).where(eq(requests.mailId, mailId)),
    ).toHaveLength(1);
    const usedShown = await get(request);
    expect(usedShown.status).toBe(410);

    // the sender lists (features/sender-lists): the entry lands in amavisd's wblist for the recipient
    const allowed = await post(allow);
    expect(allowed.status).toBe(200);
    expectClearPage(allowed.body, /Sender allowed/);
    const e = app.stores.console.t.senderListEntriesTable;
    expect(
      await app.stores.console.connection.db
        .select({ owner: e.owner, sender: e.sender, createdBy: e.createdBy })
        .from(e)
        .where(eq(e.owner, 'alice@jobs.test')),
    ).toEqual([{ owner: 'alice@jobs.test', sender: 'mallory@evil.test', createdBy: 'alice@jobs.test' }]);
    const w = app.stores.amavis.t.wblistTable;
    const wb = await app.stores.amavis.connection.db.select({ wb: w.wb }).from(w);
    expect(wb.map((row) => String(row.wb).trim())).toEqual(['W']);

    const deleted = await post(remove);
    expect(deleted.status).toBe(200);
    expectClearPage(deleted.body, /Deleted/);
    expect(await recipientStatus(app, mailId)).toBe('D');

    const audit = app.stores.console.t.auditLogTable;
    const entries = await app.stores.console.connection.db
      .select()
      .from(audit)
      .where(eq(audit.action, 'digest.action'))
      .orderBy(asc(audit.id));
    expect(entries.map((e) => [e.outcome, e.actor])).toEqual(
      expect.arrayContaining([
        ['denied', 'digest link of alice@jobs.test'],
        ['success', 'alice@jobs.test'],
      ]),
    );
    const audited = await app.stores.console.connection.db
      .select()
      .from(audit)
      .where(and(eq(audit.action, 'message.release'), eq(audit.actor, 'alice@jobs.test')));
    expect(audited.length).toBeGreaterThanOrEqual(1);
  });

  it('refuses expired, tampered and unknown links with a clear page, changing nothing', async () => {
    const mailId = await addMessage(app.stores.amavis, {
      timeNum: Math.floor(Date.now() / 1000) - 30,
      subject: 'expired link',
      recipients: [{ email: 'alice@jobs.test', content: 'S' }],
    });
    const scope = {
      accountId: aliceId,
      action: 'delete' as const,
      partitionTag: 0,
      mailId,
      rseqnum: 1,
      recipient: 'alice@jobs.test',
    };
    const [expiredToken] = await issueActionTokens(
      app.stores.console,
      [scope],
      new Date(Date.now() - 8 * 24 * 3600_000),
    );
    const expired = `${app.url}/actions/${expiredToken}`;
    const shown = await get(expired);
    expect(shown.status).toBe(410);
    expectClearPage(shown.body, /This link has expired/);
    const posted = await post(expired);
    expect(posted.status).toBe(410);
    expectClearPage(posted.body, /This link has expired/);
    expect(await recipientStatus(app, mailId)).toBe('');

    const [validToken] = await issueActionTokens(app.stores.console, [scope]);
    const tampered = (validToken as string).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    // the same id with a changed scope: the signature no longer matches
    const t = app.stores.console.t.actionTokensTable;
    const [id] = (validToken as string).split('.');
    for (const url of [
      `${app.url}/actions/${tampered}`,
      `${app.url}/actions/${'x'.repeat(22)}.${'y'.repeat(43)}`,
      `${app.url}/actions/not-a-token`,
      `${app.url}/actions/%E0%A4%A`,
    ]) {
      const refused = await post(url);
      expect(refused.status).toBe(404);
      expectClearPage(refused.body, /This link is not valid/);
    }
    await app.stores.console.connection.db
      .update(t)
      .set({ rseqnum: 2 })
      .where(eq(t.id, id as string));
    const moved = await post(`${app.url}/actions/${validToken}`);
    expect(moved.status).toBe(404);
    expect(await recipientStatus(app, mailId)).toBe('');
    const put = await fetch(`${app.url}/actions/${validToken}`, { method: 'PUT' });
    expect(put.status).toBe(405);
  });

  it('a release amavisd could not do shows why and leaves the link usable', async () => {
    // users release spam themselves here, through an amavisd that is down
    const port = await closedPort();
    const updated = await root.gql(
      'mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { userCanRelease } }',
      { input: { userCanRelease: true, amPdpMode: 'inet', amPdpHost: '127.0.0.1', amPdpPort: port } },
    );
    expect(updated.errors).toBeUndefined();
    const mailId = await addMessage(app.stores.amavis, {
      timeNum: Math.floor(Date.now() / 1000) - 30,
      subject: 'amavisd is down',
      recipients: [{ email: 'alice@jobs.test', content: 'S' }],
    });
    const [token] = await issueActionTokens(app.stores.console, [
      {
        accountId: aliceId,
        action: 'release',
        partitionTag: 0,
        mailId,
        rseqnum: 1,
        recipient: 'alice@jobs.test',
      },
    ]);
    const url = `${app.url}/actions/${token}`;
    const shown = await get(url);
    expectClearPage(shown.body, /Release this message to its recipient\?/);
    const failed = await post(url);
    expect(failed.status).toBe(502);
    expectClearPage(failed.body, /It did not work this time/);
    expect(failed.body).toContain('The link still works');
    expect(await recipientStatus(app, mailId)).toBe('');
    expect((await tokenRow(app, url))?.usedAt).toBeNull();
    const audit = app.stores.console.t.auditLogTable;
    const [last] = await app.stores.console.connection.db
      .select()
      .from(audit)
      .where(eq(audit.action, 'digest.action'))
      .orderBy(desc(audit.id))
      .limit(1);
    expect(last?.outcome).toBe('failure');
  });
}
