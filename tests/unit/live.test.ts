// Live events on the embedded database (the default start): the detector polls PGlite, and a subscribed
// superadmin gets a new quarantined entry and a status change; an anonymous subscriber is refused.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { openEmbeddedDatabase } from '../support/databases.ts';
import { addMessage } from '../support/factories.ts';
import { type Client, logInAs } from '../support/graphql-client.ts';
import { type LiveEvent, latestCursor, type Subscription, subscribeEvents } from '../support/live-client.ts';
import { DELETE, messageId } from '../support/release.shared.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

let app: TestApp;
let dispose: () => Promise<void>;
let root: Client;
const subs: Subscription<LiveEvent>[] = [];

beforeAll(async () => {
  const db = await openEmbeddedDatabase();
  dispose = db.dispose;
  app = await startTestApp({ ...db.env, LIVE_POLL_INTERVAL_MS: '200' });
  await createSuperadmin(
    app.stores.console,
    { email: 'root@embedded.test', password: 'embedded-root-1' },
    {
      onlyIfNoAccounts: false,
    },
  );
  root = await logInAs(app.url, 'root@embedded.test', 'embedded-root-1');
});

afterAll(async () => {
  for (const sub of subs) await sub.close().catch(() => {});
  await app?.close();
  await dispose?.();
});

it('delivers new quarantined entries and status changes on the embedded database', async () => {
  const sub = subscribeEvents(app.url, { session: root.session() }, await latestCursor(app.stores.console));
  subs.push(sub);
  const mailId = await addMessage(app.stores.amavis, {
    timeNum: Math.floor(Date.now() / 1000),
    recipients: [{ email: 'someone@embedded.test' }],
  });
  const event = await sub.waitFor((e) => e.kind === 'quarantined' && e.entry?.mailId === mailId);
  expect(event).toMatchObject({ recipient: 'someone@embedded.test', statusCode: null });
  expect(app.app.live.status()).toMatchObject({ leader: true, mode: 'poll', bus: 'memory' });
  expect((await root.gql(DELETE, { input: { ids: [messageId(mailId)] } })).errors).toBeUndefined();
  await sub.waitFor((e) => e.kind === 'deleted' && e.statusCode === 'D');
});

it('refuses anonymous subscribers', async () => {
  const sub = subscribeEvents(app.url, {}, null);
  subs.push(sub);
  await expect(sub.waitFor(() => true, 5000)).rejects.toThrow(/log in first/);
});
