// Release, release requests, deletion and release rules through GraphQL, on each database, without
// amavisd: what the console decides and records by itself. The amavisd tier (tests/amavisd/release.test.ts)
// proves the releases themselves.
import net from 'node:net';
import { and, eq } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { expireReleaseRequests } from '../../server/features/release/release.service.ts';
import { addAccount, addMessage } from './factories.ts';
import { type Client, errorCode, logInAs } from './graphql-client.ts';
import type { DatabaseUnderTest } from './quarantine-listing.shared.ts';
import { startTestApp, type TestApp } from './test-app.ts';

export const RELEASE = `mutation($input: ReleaseMessagesInput!) { releaseMessages(input: $input) {
  succeeded failed results { target outcome message recipient } } }`;
export const DELETE = `mutation($input: DeleteMessagesInput!) { deleteMessages(input: $input) {
  succeeded failed results { target outcome message recipient } } }`;
export const APPROVE = `mutation($input: ApproveReleaseRequestsInput!) { approveReleaseRequests(input: $input) {
  succeeded failed results { target outcome message recipient } } }`;
export const DENY = `mutation($input: DenyReleaseRequestsInput!) { denyReleaseRequests(input: $input) {
  succeeded failed results { target outcome message recipient } } }`;
export const REQUESTS = `query($statuses: [ReleaseRequestStatus!]) { releaseRequests(first: 100, statuses: $statuses) {
  edges { node { id status recipient requestedBy reason decidedBy message { id status { code } } } } } }`;

export interface ActionResultShape {
  target: string;
  outcome: string;
  message: string | null;
  recipient: string | null;
}
export interface ActionPayloadShape {
  succeeded: number;
  failed: number;
  results: ActionResultShape[];
}
export interface RequestShape {
  id: string;
  status: string;
  recipient: string;
  requestedBy: string;
  reason: string | null;
  decidedBy: string | null;
  message: { id: string; status: { code: string } } | null;
}

/** msgrcpt.rs of one entry, trimmed (new is ''); undefined when the row is gone. */
export async function recipientStatus(
  app: TestApp,
  mailId: string,
  rseqnum = 1,
): Promise<string | undefined> {
  const r = app.stores.amavis.t.msgrcptTable;
  const [row] = await app.stores.amavis.connection.db
    .select({ rs: r.rs })
    .from(r)
    .where(and(eq(r.mailId, mailId), eq(r.rseqnum, rseqnum)));
  return row?.rs.trim();
}

export function messageId(mailId: string, rseqnum = 1, partitionTag = 0): string {
  return Buffer.from(`QuarantinedMessage:${partitionTag}:${mailId}:${rseqnum}`).toString('base64');
}

/** A port nothing listens on: what a stopped amavisd looks like from here. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Received {
  to: string[];
  raw: Buffer;
  /** The raw message as UTF-8 text. */
  body: string;
}

/** A real SMTP server in the test process, catching what the console mails. */
export async function startInbox(): Promise<{ url: string; mails: Received[]; close(): Promise<void> }> {
  const mails: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, body: raw.toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as net.AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function releaseWorkflowSuite(open: () => Promise<DatabaseUnderTest>): void {
  let database: DatabaseUnderTest;
  let app: TestApp;
  let inbox: Awaited<ReturnType<typeof startInbox>>;
  let root: Client;
  let domainAdmin: Client;
  let alice: Client;
  let bob: Client;
  let deadPort: number;

  const rs = (mailId: string, rseqnum = 1) => recipientStatus(app, mailId, rseqnum);
  const quarantine = (content: string, recipients: string[] = ['alice@rel.test']) =>
    addMessage(app.stores.amavis, {
      timeNum: 1_760_000_000 + Math.floor(Math.random() * 100_000),
      subject: `release test ${content}`,
      recipients: recipients.map((email) => ({ email, content, rs: ' ' })),
    });

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    inbox = await startInbox();
    deadPort = await closedPort();
    app = await startTestApp({ ...database.env, SMTP_URL: inbox.url });
    await createSuperadmin(
      app.stores.console,
      { email: 'root@admin.test', password: 'release-root-1' },
      { onlyIfNoAccounts: false },
    );
    await addAccount(app.stores.console, {
      email: 'dom@rel.test',
      role: 'domainadmin',
      password: 'release-dom-1',
      domains: ['rel.test'],
    });
    await addAccount(app.stores.console, {
      email: 'alice@rel.test',
      role: 'user',
      password: 'release-alice-1',
    });
    await addAccount(app.stores.console, { email: 'bob@rel.test', role: 'user', password: 'release-bob-1' });
    root = await logInAs(app.url, 'root@admin.test', 'release-root-1');
    domainAdmin = await logInAs(app.url, 'dom@rel.test', 'release-dom-1');
    alice = await logInAs(app.url, 'alice@rel.test', 'release-alice-1');
    bob = await logInAs(app.url, 'bob@rel.test', 'release-bob-1');
    // amavisd "stopped": every release attempt meets a closed port
    const set = await root.gql(
      'mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { amPdpMode amPdpPort } }',
      { input: { amPdpMode: 'inet', amPdpHost: '127.0.0.1', amPdpPort: deadPort } },
    );
    expect(set.errors).toBeUndefined();
  });

  afterAll(async () => {
    await app?.close();
    await inbox?.close();
    await database?.dispose();
  });

  it('a user without direct release creates a request: rs p, visible in the admin queue; twice is a no-op', async () => {
    const mailId = await quarantine('S');
    const first = await alice.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
      input: { ids: [messageId(mailId)] },
    });
    expect(first.data?.releaseMessages.results).toEqual([
      { target: `0:${mailId}:1`, outcome: 'requested', message: null, recipient: 'alice@rel.test' },
    ]);
    expect(await rs(mailId)).toBe('p');
    const again = await alice.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
      input: { ids: [messageId(mailId)] },
    });
    expect(again.data?.releaseMessages.results[0]?.outcome).toBe('alreadyRequested');

    const queue = await domainAdmin.gql<{ releaseRequests: { edges: { node: RequestShape }[] } }>(REQUESTS, {
      statuses: ['pending'],
    });
    const mine = queue.data?.releaseRequests.edges.filter((e) => e.node.message?.id === messageId(mailId));
    expect(mine).toHaveLength(1);
    expect(mine?.[0]?.node).toMatchObject({
      status: 'pending',
      recipient: 'alice@rel.test',
      requestedBy: 'alice@rel.test',
    });
    // bob neither sees alice's request nor can act on her message
    const bobs = await bob.gql<{ releaseRequests: { edges: unknown[] } }>(REQUESTS, {});
    expect(bobs.data?.releaseRequests.edges).toEqual([]);
    const bobRelease = await bob.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
      input: { ids: [messageId(mailId)] },
    });
    expect(bobRelease.data?.releaseMessages.results[0]?.outcome).toBe('notFound');
  });

  it('denying mails the reason to the requester, rs goes back to V, and a second decision is a no-op', async () => {
    const mailId = await quarantine('S');
    await alice.gql(RELEASE, { input: { ids: [messageId(mailId)] } });
    const queue = await domainAdmin.gql<{ releaseRequests: { edges: { node: RequestShape }[] } }>(REQUESTS, {
      statuses: ['pending'],
    });
    const request = queue.data?.releaseRequests.edges.find((e) => e.node.message?.id === messageId(mailId));
    expect(request).toBeDefined();
    const before = inbox.mails.length;
    const denied = await domainAdmin.gql<{ denyReleaseRequests: ActionPayloadShape }>(DENY, {
      input: { ids: [request?.node.id], reason: 'Invoice from an unknown sender — ask them to resend' },
    });
    expect(denied.data?.denyReleaseRequests.results[0]?.outcome).toBe('denied');
    expect(await rs(mailId)).toBe('V');
    await expect.poll(() => inbox.mails.length).toBe(before + 1);
    const mail = inbox.mails.at(-1);
    expect(mail?.to).toEqual(['alice@rel.test']);
    expect(mail?.body).toContain('denied');
    expect(mail?.body).toContain('ask them to resend');

    const twice = await domainAdmin.gql<{ approveReleaseRequests: ActionPayloadShape }>(APPROVE, {
      input: { ids: [request?.node.id] },
    });
    expect(twice.data?.approveReleaseRequests.results[0]).toMatchObject({ outcome: 'alreadyDecided' });
    const mine = await alice.gql<{ releaseRequests: { edges: { node: RequestShape }[] } }>(REQUESTS, {});
    expect(mine.data?.releaseRequests.edges.find((e) => e.node.id === request?.node.id)?.node).toMatchObject({
      status: 'denied',
      decidedBy: 'dom@rel.test',
      reason: 'Invoice from an unknown sender — ask them to resend',
    });
  });

  it('with amavisd unreachable: a clear error naming the endpoint, rs unchanged, the request stays pending', async () => {
    const mailId = await quarantine('S');
    const direct = await root.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
      input: { ids: [messageId(mailId)] },
    });
    const result = direct.data?.releaseMessages.results[0];
    expect(result?.outcome).toBe('failed');
    expect(result?.message).toContain(`127.0.0.1:${deadPort}`);
    expect(result?.message).toMatch(/refused/i);
    expect(await rs(mailId)).toBe('');

    await alice.gql(RELEASE, { input: { ids: [messageId(mailId)] } });
    const queue = await root.gql<{ releaseRequests: { edges: { node: RequestShape }[] } }>(REQUESTS, {
      statuses: ['pending'],
    });
    const request = queue.data?.releaseRequests.edges.find((e) => e.node.message?.id === messageId(mailId));
    const approve = await root.gql<{ approveReleaseRequests: ActionPayloadShape }>(APPROVE, {
      input: { ids: [request?.node.id] },
    });
    expect(approve.data?.approveReleaseRequests.results[0]?.outcome).toBe('failed');
    expect(await rs(mailId)).toBe('p');
    const after = await root.gql<{ releaseRequests: { edges: { node: RequestShape }[] } }>(REQUESTS, {
      statuses: ['pending'],
    });
    const still = after.data?.releaseRequests.edges.find((e) => e.node.id === request?.node.id)?.node;
    expect(still?.status).toBe('pending');
    expect(still?.reason).toContain(`127.0.0.1:${deadPort}`);
  });

  it('service health names the unreachable AM.PDP endpoint, for admins and in /healthz?details=1', async () => {
    const health = await root.gql<{
      serviceHealth: { amavis: { target: string; ok: boolean; detail: string }[] };
    }>('{ serviceHealth { amavis { target ok detail } spamassassin { target ok detail } } }');
    expect(health.data?.serviceHealth.amavis[0]).toMatchObject({
      target: `inet:127.0.0.1:${deadPort}`,
      ok: false,
    });
    expect(health.data?.serviceHealth.amavis[0]?.detail).toMatch(/refused/i);
    expect(errorCode(await alice.gql('{ serviceHealth { amavis { ok } } }'))).toBe('FORBIDDEN');
    const response = await fetch(`${app.url}/healthz?details=1`);
    const body = (await response.json()) as { status: string; services?: { amavis: { ok: boolean }[] } };
    expect(body.status).toBe('ok');
    expect(body.services?.amavis[0]?.ok).toBe(false);
    const plain = (await (await fetch(`${app.url}/healthz`)).json()) as { services?: unknown };
    expect(plain.services).toBeUndefined();
  });

  it('release rules: viruses are refused to users, banned files only requested; domains may tighten, not loosen', async () => {
    const virus = await quarantine('V');
    const banned = await quarantine('B');
    const refused = await alice.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
      input: { ids: [messageId(virus), messageId(banned)] },
    });
    expect(refused.data?.releaseMessages.results.map((r) => r.outcome)).toEqual(['forbidden', 'requested']);
    expect(refused.data?.releaseMessages.results[0]?.message).toMatch(/admin/);
    expect(await rs(virus)).toBe('');

    const loosen = await domainAdmin.gql(
      'mutation($input: SetReleaseRulesInput!) { setReleaseRules(input: $input) { domain } }',
      { input: { domain: 'rel.test', rules: [{ kind: 'virus', permission: 'request' }] } },
    );
    expect(errorCode(loosen)).toBe('BAD_USER_INPUT');
    const tighten = await domainAdmin.gql<{
      setReleaseRules: { overrides: { kind: string; permission: string }[] };
    }>(
      'mutation($input: SetReleaseRulesInput!) { setReleaseRules(input: $input) { overrides { kind permission } } }',
      { input: { domain: 'rel.test', rules: [{ kind: 'banned', permission: 'none' }] } },
    );
    expect(tighten.data?.setReleaseRules.overrides).toEqual([{ kind: 'banned', permission: 'none' }]);
    const other = await domainAdmin.gql(
      'mutation($input: SetReleaseRulesInput!) { setReleaseRules(input: $input) { domain } }',
      { input: { domain: 'elsewhere.test', rules: [{ kind: 'banned', permission: 'none' }] } },
    );
    expect(errorCode(other)).toBe('FORBIDDEN');
    const banned2 = await quarantine('B');
    const now = await alice.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
      input: { ids: [messageId(banned2)] },
    });
    expect(now.data?.releaseMessages.results[0]?.outcome).toBe('forbidden');
    // users may not change rules at all
    const byUser = await alice.gql(
      'mutation($input: SetReleaseRulesInput!) { setReleaseRules(input: $input) { domain } }',
      { input: { domain: 'rel.test', rules: [{ kind: 'spam', permission: 'none' }] } },
    );
    expect(errorCode(byUser)).toBe('FORBIDDEN');
  });

  it('only admins release to another address', async () => {
    const mailId = await quarantine('S');
    const asUser = await alice.gql(RELEASE, { input: { ids: [messageId(mailId)], to: ['me@else.test'] } });
    expect(errorCode(asUser)).toBe('FORBIDDEN');
    const bad = await root.gql(RELEASE, { input: { ids: [messageId(mailId)], to: ['not an address'] } });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
  });

  it('deletes for that recipient only, cancels a pending request, and reports unknown ids per item', async () => {
    const mailId = await quarantine('S', ['alice@rel.test', 'bob@rel.test']);
    await alice.gql(RELEASE, { input: { ids: [messageId(mailId, 1)] } });
    const deleted = await alice.gql<{ deleteMessages: ActionPayloadShape }>(DELETE, {
      input: { ids: [messageId(mailId, 1), messageId(mailId, 2), 'garbage'] },
    });
    expect(deleted.data?.deleteMessages.results.map((r) => r.outcome)).toEqual([
      'deleted',
      'notFound',
      'notFound',
    ]);
    expect(deleted.data?.deleteMessages).toMatchObject({ succeeded: 1, failed: 2 });
    expect(await rs(mailId, 1)).toBe('D');
    expect(await rs(mailId, 2)).toBe('');
    const mine = await alice.gql<{ releaseRequests: { edges: { node: RequestShape }[] } }>(REQUESTS, {
      statuses: ['cancelled'],
    });
    expect(mine.data?.releaseRequests.edges.length).toBeGreaterThan(0);
  });

  it('audits every pair with its outcome', async () => {
    const mailId = await quarantine('V');
    await alice.gql(RELEASE, { input: { ids: [messageId(mailId)] } });
    const a = app.stores.console.t.auditLogTable;
    const rows = await app.stores.console.connection.db
      .select()
      .from(a)
      .where(and(eq(a.action, 'message.release'), eq(a.target, `0:${mailId}:1 for alice@rel.test`)));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'alice@rel.test', outcome: 'denied', domain: 'rel.test' });
  });

  it('expires pending requests that are too old or whose message is gone, and only those', async () => {
    const old = await quarantine('S');
    const gone = await quarantine('S');
    const fresh = await quarantine('S');
    await alice.gql(RELEASE, { input: { ids: [old, gone, fresh].map((m) => messageId(m)) } });
    const t = app.stores.console.t.releaseRequestsTable;
    const { db } = app.stores.console.connection;
    await db
      .update(t)
      .set({ createdAt: new Date(Date.now() - 30 * 86_400_000) })
      .where(eq(t.mailId, old));
    const m = app.stores.amavis.t.msgsTable;
    await app.stores.amavis.connection.db.delete(m).where(eq(m.mailId, gone));
    const expired = await expireReleaseRequests(app.stores, new Date(Date.now() - 14 * 86_400_000));
    expect(expired).toBeGreaterThanOrEqual(2);
    const status = async (mailId: string) =>
      (await db.select({ status: t.status }).from(t).where(eq(t.mailId, mailId)))[0]?.status;
    expect(await status(old)).toBe('expired');
    expect(await status(gone)).toBe('expired');
    expect(await status(fresh)).toBe('pending');
    // an expired request no longer blocks a new one
    const again = await alice.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
      input: { ids: [messageId(old)] },
    });
    expect(again.data?.releaseMessages.results[0]?.outcome).toBe('requested');
  });

  it('refuses empty and oversized batches with a clear error', async () => {
    const empty = await root.gql(RELEASE, { input: { ids: [] } });
    expect(errorCode(empty)).toBe('BAD_USER_INPUT');
    const tooMany = await root.gql(DELETE, {
      input: { ids: Array.from({ length: 501 }, (_, i) => `x${i}`) },
    });
    expect(errorCode(tooMany)).toBe('BAD_USER_INPUT');
  });
}
