// Live quarantine events through GraphQL subscriptions (graphql-ws and SSE), on each real database, with
// rows written the way amavisd writes them: who receives what, status changes, resuming with since,
// sessions that end, and the pending-request count for admins.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { RECHECK_MS } from '../../server/features/live/live.service.ts';
import { openRealDatabase } from '../support/databases.ts';
import { addAccount, addMessage } from '../support/factories.ts';
import { type Client, logInAs } from '../support/graphql-client.ts';
import {
  type LiveEvent,
  latestCursor,
  PENDING,
  type Subscription,
  sleep,
  subscribe,
  subscribeEvents,
} from '../support/live-client.ts';
import { DELETE, messageId, RELEASE } from '../support/release.shared.ts';
import { describeWith } from '../support/services.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const ROOT = { email: 'root@live.test', password: 'live-root-password-1' };
const now = () => Math.floor(Date.now() / 1000);

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `live quarantine events on ${service}`, () => {
    let dispose: () => Promise<void>;
    let app: TestApp;
    let root: Client;
    let alice: Client;
    let domainAdmin: Client;
    let bob: Client;
    const open: Subscription<unknown>[] = [];
    const watch = (client: Client, since: string | null) => {
      const sub = subscribeEvents(app.url, { session: client.session() }, since);
      open.push(sub as Subscription<unknown>);
      return sub;
    };
    const gtube = (recipients: string[], subject = 'live') =>
      addMessage(app.stores.amavis, {
        timeNum: now(),
        subject,
        recipients: recipients.map((email) => ({ email })),
      });
    const about =
      (mailId: string, kind = 'quarantined') =>
      (e: LiveEvent) =>
        e.kind === kind &&
        e.entryId.length > 0 &&
        Buffer.from(e.entryId, 'base64').toString().includes(mailId);

    beforeAll(async () => {
      const db = await openRealDatabase(dialect);
      dispose = db.dispose;
      await db.prepare();
      app = await startTestApp({ ...db.env, LIVE_POLL_INTERVAL_MS: '200' });
      await createSuperadmin(app.stores.console, ROOT, { onlyIfNoAccounts: false });
      await addAccount(app.stores.console, {
        email: 'alice@live.test',
        role: 'user',
        password: 'alice-pass-1',
      });
      await addAccount(app.stores.console, { email: 'bob@other.test', role: 'user', password: 'bob-pass-1' });
      await addAccount(app.stores.console, {
        email: 'admin@live.test',
        role: 'domainadmin',
        password: 'admin-pass-1',
        domains: ['live.test'],
      });
      root = await logInAs(app.url, ROOT.email, ROOT.password);
      alice = await logInAs(app.url, 'alice@live.test', 'alice-pass-1');
      bob = await logInAs(app.url, 'bob@other.test', 'bob-pass-1');
      domainAdmin = await logInAs(app.url, 'admin@live.test', 'admin-pass-1');
    });

    afterAll(async () => {
      for (const sub of open) await sub.close().catch(() => {});
      await app?.close();
      await dispose?.();
    });

    it('sends a new quarantined entry to exactly those who may list it, once', async () => {
      const since = await latestCursor(app.stores.console);
      const [r, a, d, b] = [root, alice, domainAdmin, bob].map((c) =>
        watch(c, since),
      ) as Subscription<LiveEvent>[];
      const mailId = await gtube(['alice@live.test', 'carol@live.test'], 'two recipients');
      const mine = (e: LiveEvent) => e.entry?.mailId === mailId;
      await r?.waitFor((e) => mine(e) && e.recipient === 'carol@live.test');
      await d?.waitFor((e) => mine(e) && e.recipient === 'carol@live.test');
      await a?.waitFor(mine);
      // a few more polls: nothing else may arrive
      await sleep(1000);
      expect(
        r?.received
          .filter(mine)
          .map((e) => e.recipient)
          .sort(),
      ).toEqual(['alice@live.test', 'carol@live.test']);
      expect(d?.received.filter(mine)).toHaveLength(2);
      expect(a?.received.filter(mine).map((e) => [e.kind, e.recipient, e.entry?.subject])).toEqual([
        ['quarantined', 'alice@live.test', 'two recipients'],
      ]);
      expect(b?.received.filter(mine)).toEqual([]);
      expect(b?.received.filter(about(mailId))).toEqual([]);
      for (const sub of [r, a, d, b]) expect(sub?.errors).toEqual([]);
    });

    it('sends status changes, whoever made them, to those who may see the entry', async () => {
      const mailId = await gtube(['alice@live.test']);
      const since = await latestCursor(app.stores.console);
      const r = watch(root, since);
      const b = watch(bob, since);
      await r.waitFor(about(mailId));
      const deleted = await alice.gql(DELETE, { input: { ids: [messageId(mailId)] } });
      expect(deleted.errors).toBeUndefined();
      const event = await r.waitFor(about(mailId, 'deleted'));
      expect(event).toMatchObject({ statusCode: 'D', recipient: 'alice@live.test', entry: null });
      await sleep(500);
      expect(b.received).toEqual([]);
    });

    it('resumes after a reconnect from the last cursor: nothing lost, nothing twice', async () => {
      const first = watch(alice, await latestCursor(app.stores.console));
      const before = await gtube(['alice@live.test'], 'before the gap');
      const seen = await first.waitFor(about(before));
      await first.close();
      const during = [await gtube(['alice@live.test'], 'gap 1'), await gtube(['alice@live.test'], 'gap 2')];
      // let the detector announce them while nobody listens
      await sleep(1000);
      const again = watch(alice, seen.cursor);
      for (const mailId of during) await again.waitFor(about(mailId));
      const after = await gtube(['alice@live.test'], 'after the gap');
      await again.waitFor(about(after));
      await sleep(500);
      const mails = again.received.filter((e) => e.kind === 'quarantined').map((e) => e.entry?.mailId);
      // the two of the gap share a second: the log orders them by key, not by arrival
      expect(mails.slice(0, 2).sort()).toEqual([...during].sort());
      expect(mails.slice(2)).toEqual([after]);
      expect(again.received.some(about(before))).toBe(false);
    });

    it('rejects a malformed since cursor', async () => {
      const sub = watch(alice, 'not-a-cursor');
      await expect(sub.waitFor(() => true, 5000)).rejects.toThrow(/since must be a cursor/);
    });

    it('serves the same events over server-sent events', async () => {
      const since = await latestCursor(app.stores.console);
      const controller = new AbortController();
      const response = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          cookie: `ac_session=${alice.session()}`,
        },
        body: JSON.stringify({
          query: 'subscription($since: String) { quarantineEvents(since: $since) { kind entry { mailId } } }',
          variables: { since },
        }),
        signal: controller.signal,
      });
      expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
      const mailId = await gtube(['alice@live.test'], 'over SSE');
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let text = '';
      const deadline = Date.now() + 20_000;
      while (!text.includes(mailId) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
      controller.abort();
      expect(text).toContain(`"mailId":"${mailId}"`);
      expect(text).toContain('"kind":"quarantined"');
    });

    it('ends the subscription when the session ends', async () => {
      const carol = await addAccount(app.stores.console, {
        email: 'carol@live.test',
        role: 'user',
        password: 'carol-pass-1',
      }).then(() => logInAs(app.url, 'carol@live.test', 'carol-pass-1'));
      const sub = watch(carol, await latestCursor(app.stores.console));
      const first = await gtube(['carol@live.test'], 'while logged in');
      await sub.waitFor(about(first));
      expect((await carol.gql('mutation { logOut { __typename } }')).errors).toBeUndefined();
      // rights are looked up again once older than RECHECK_MS
      await sleep(RECHECK_MS + 500);
      const second = await gtube(['carol@live.test'], 'after logout');
      await expect(sub.waitFor(about(second), 10_000)).rejects.toThrow(/session ended/);
      expect(sub.received.some(about(second))).toBe(false);
    });

    it('stops sending a domain once its admin no longer administers it', async () => {
      const accountId = await addAccount(app.stores.console, {
        email: 'rights@admin.test',
        role: 'domainadmin',
        password: 'rights-pass-1',
        addresses: [],
        domains: ['rights.test'],
      });
      const admin = await logInAs(app.url, 'rights@admin.test', 'rights-pass-1');
      const since = await latestCursor(app.stores.console);
      const sub = watch(admin, since);
      const witness = watch(root, since);
      const before = await gtube(['x@rights.test'], 'while admin');
      await sub.waitFor(about(before));
      const t = app.stores.console.t.domainAdminsTable;
      await app.stores.console.connection.db.delete(t).where(eq(t.accountId, accountId));
      await sleep(RECHECK_MS + 500);
      const after = await gtube(['y@rights.test'], 'no longer admin');
      await witness.waitFor(about(after));
      await sleep(500);
      expect(sub.received.some(about(after))).toBe(false);
      expect(sub.errors).toEqual([]);
    });

    it('keeps admins up to date on pending release requests, and refuses users', async () => {
      const mailId = await gtube(['alice@live.test'], 'please release');
      const counts = subscribe(app.url, { session: domainAdmin.session() }, PENDING, {}, (data) => {
        return data.pendingReleaseRequests as { value: number; exact: boolean };
      });
      open.push(counts as Subscription<unknown>);
      const initial = await counts.waitFor(() => true);
      // a user without release rules asks for the release
      await sleep(500);
      const asked = await alice.gql(RELEASE, { input: { ids: [messageId(mailId)] } });
      expect(asked.errors).toBeUndefined();
      await counts.waitFor((c) => c.value === initial.value + 1);
      const refused = subscribe(app.url, { session: alice.session() }, PENDING, {}, (d) => d);
      open.push(refused as Subscription<unknown>);
      await expect(refused.waitFor(() => true, 5000)).rejects.toThrow(/not allowed/);
    });
  });
}
