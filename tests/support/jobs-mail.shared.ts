// A reminder and a digest through the lab's real SMTP sink (what an operator's relay would get), with
// their links followed against the running console: the reminder's opens the console, the digest's
// one-click links show a confirmation on GET (changing nothing) and act once on POST.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { type JobDeps, runJob } from '../../server/features/jobs/jobs.service.ts';
import { createLogger } from '../../server/log.ts';
import { createMailer } from '../../server/mail/mailer.ts';
import { lab, sinkMessages, waitFor } from './amavis-lab.ts';
import { addAccount, addMessage } from './factories.ts';
import { type Client, logInAs } from './graphql-client.ts';
import {
  digestLinks,
  expectClearPage,
  get,
  type JobsDatabase,
  mailText,
  post,
  tokenRow,
} from './jobs.shared.ts';
import { recipientStatus } from './release.shared.ts';
import { startTestApp, type TestApp } from './test-app.ts';

const SINK_URL = `smtp://${lab.AMAVIS_LAB_SINK ?? '127.0.0.1:10025'}`;

/** The sink's mails to `address` (envelope), oldest first. */
function mailsTo(address: string) {
  return sinkMessages((header) => header.toLowerCase().includes(address)).filter((m) =>
    m.envelope.rcpt_tos.includes(address),
  );
}

export function jobMailSuite(open: () => Promise<JobsDatabase>): void {
  // unique names: the sink keeps every suite's mail
  const tag = randomBytes(4).toString('hex');
  const domain = `jm${tag}.test`;
  const other = `jo${tag}.test`;
  const root = `root-${tag}@admin.test`;
  const dom = `dom@${domain}`;
  const alice = `alice@${domain}`;
  let database: JobsDatabase;
  let app: TestApp;
  let deps: JobDeps;
  let aliceClient: Client;
  let aliceId: number;
  const log = createLogger('silent');

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    app = await startTestApp({ ...database.env, SMTP_URL: SINK_URL });
    deps = { stores: app.stores, mailer: createMailer(SINK_URL, log), publicUrl: app.url, log };
    await createSuperadmin(
      app.stores.console,
      { email: root, password: 'mail-root-pass-1' },
      { onlyIfNoAccounts: false },
    );
    await addAccount(app.stores.console, {
      email: dom,
      role: 'domainadmin',
      password: 'mail-dom-pass-1',
      domains: [domain],
    });
    aliceId = await addAccount(app.stores.console, {
      email: alice,
      role: 'user',
      password: 'mail-alice-pass-1',
    });
    await addAccount(app.stores.console, {
      email: `carol@${other}`,
      role: 'user',
      password: 'mail-carol-pass-1',
    });
    aliceClient = await logInAs(app.url, alice, 'mail-alice-pass-1');
  }, 60_000);

  afterAll(async () => {
    deps?.mailer.close();
    await app?.close();
    await database?.dispose();
  });

  it('mails each admin the pending requests they may decide, with a link that opens the console', async () => {
    const now = Math.floor(Date.now() / 1000);
    const mine = await addMessage(app.stores.amavis, {
      timeNum: now - 300,
      subject: `banned file for ${tag} <b>bold</b>`,
      recipients: [{ email: alice, content: 'B' }],
    });
    const theirs = await addMessage(app.stores.amavis, {
      timeNum: now - 200,
      subject: `other domain ${tag}`,
      recipients: [{ email: `carol@${other}`, content: 'B' }],
    });
    const carol = await logInAs(app.url, `carol@${other}`, 'mail-carol-pass-1');
    const RELEASE =
      'mutation($input: ReleaseMessagesInput!) { releaseMessages(input: $input) { results { outcome } } }';
    const id = (mailId: string) => Buffer.from(`QuarantinedMessage:0:${mailId}:1`).toString('base64');
    for (const [client, mailId] of [
      [aliceClient, mine],
      [carol, theirs],
    ] as const) {
      const asked = await client.gql<{ releaseMessages: { results: { outcome: string }[] } }>(RELEASE, {
        input: { ids: [id(mailId)] },
      });
      expect(asked.data?.releaseMessages.results[0]?.outcome).toBe('requested');
    }
    const run = await runJob(deps, { job: 'reminders', origin: 'manual' });
    expect(run.outcome).toBe('success');
    const [toRoot] = await waitFor(`a reminder to ${root} in the sink`, async () => {
      const found = mailsTo(root);
      return found.length > 0 ? found : null;
    });
    const [toDom] = await waitFor(`a reminder to ${dom} in the sink`, async () => {
      const found = mailsTo(dom);
      return found.length > 0 ? found : null;
    });
    const rootMail = await mailText(toRoot?.raw as Buffer);
    const domMail = await mailText(toDom?.raw as Buffer);
    expect(rootMail.text).toContain(`banned file for ${tag}`);
    expect(rootMail.text).toContain(`other domain ${tag}`);
    expect(domMail.text).toContain(`banned file for ${tag}`);
    expect(domMail.text).not.toContain(`other domain ${tag}`);
    expect(domMail.subject).toBe('1 release request waiting for you');
    // hostile subjects are escaped in the HTML part
    expect(domMail.html).toContain('&lt;b&gt;bold&lt;/b&gt;');
    expect(domMail.html).not.toContain('<b>bold</b>');
    const link = /Decide in the console: (\S+)/.exec(domMail.text)?.[1];
    expect(link).toBe(`${app.url}/requests`);
    const opened = await fetch(link as string);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toMatch(/<html/i);
    // only these admins got one
    expect(mailsTo(`carol@${other}`)).toEqual([]);
  });

  it('mails a digest whose links confirm on GET and act once on POST', async () => {
    const now = Math.floor(Date.now() / 1000);
    const mailId = await addMessage(app.stores.amavis, {
      timeNum: now - 120,
      subject: `digest ${tag} "quoted" <i>&</i>`,
      sender: `spam-${tag}@sender.test`,
      recipients: [{ email: alice, content: 'S' }],
    });
    const enabled = await aliceClient.gql(
      'mutation($input: UpdateMyPreferencesInput!) { updateMyPreferences(input: $input) { digestEnabled } }',
      { input: { digestEnabled: true, timeZone: 'Europe/Berlin', digestMinute: 420 } },
    );
    expect(enabled.errors).toBeUndefined();
    const p = app.stores.console.t.userPreferencesTable;
    await app.stores.console.connection.db
      .update(p)
      // the last digest went out after the reminder test's message, before this one
      .set({ nextDigestAt: new Date(Date.now() - 1000), lastDigestAt: new Date((now - 150) * 1000) })
      .where(eq(p.accountId, aliceId));
    const run = await runJob(deps, { job: 'digests', origin: 'manual' });
    expect(run.counts).toMatchObject({ due: 1, sent: 1, messages: 1 });
    const digests = await waitFor(`a digest to ${alice} in the sink`, async () => {
      const found = mailsTo(alice).filter((m) => m.raw.toString('latin1').includes('Quarantine digest'));
      return found.length > 0 ? found : null;
    });
    expect(digests).toHaveLength(1);
    const digest = await mailText(digests[0]?.raw as Buffer);
    expect(digest.subject).toBe('Quarantine digest: 1 new message');
    expect(digest.text).toContain(`digest ${tag} "quoted" <i>&</i>`);
    expect(digest.html).toContain(`digest ${tag} &quot;quoted&quot; &lt;i&gt;&amp;&lt;/i&gt;`);
    const links = digestLinks(digest.text);
    expect(links.map((l) => l.label)).toEqual([
      'Request release',
      'Delete',
      'Always allow sender',
      'Always block sender',
    ]);
    // the HTML part carries the same links
    for (const link of links) expect(digest.html).toContain(`href="${link.url}"`);
    const request = links[0]?.url as string;

    const shown = await get(request);
    expect(shown.status).toBe(200);
    expectClearPage(shown.body, /Ask an administrator to release this message\?/);
    expect(await recipientStatus(app, mailId)).toBe('');
    expect((await tokenRow(app, request))?.usedAt).toBeNull();

    const acted = await post(request, app.url);
    expect(acted.status).toBe(200);
    expectClearPage(acted.body, /Release requested/);
    expect(await recipientStatus(app, mailId)).toBe('p');
    const twice = await post(request, app.url);
    expect(twice.status).toBe(410);
    expectClearPage(twice.body, /This link was already used/);

    // the other links stay usable for a week
    const row = await tokenRow(app, links[1]?.url ?? '');
    expect(row?.expiresAt.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * 3600_000);
  });
}
