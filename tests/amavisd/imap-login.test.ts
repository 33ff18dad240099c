// IMAP_URL: users log in with their mailbox password, checked by a real Dovecot; the first login of an
// address creates its user account, which then sees that address's quarantine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addMessage } from '../support/factories.ts';
import { createClient } from '../support/graphql-client.ts';
import { describeWith, readLabEnv } from '../support/services.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const LOG_IN =
  'mutation($input: LogInInput!) { logIn(input: $input) { __typename ... on Viewer { email role addresses } } }';

await describeWith(['imap'], 'logging in through IMAP (Dovecot)', () => {
  let app: TestApp;
  let down: TestApp;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-imap-'));
  const users = () =>
    JSON.parse(readLabEnv()?.AMAVIS_LAB_IMAP_USERS ?? '[]') as { username: string; password: string }[];

  beforeAll(async () => {
    app = await startTestApp({
      DATA_DIR: path.join(dir, 'up'),
      DEMO_DATA: 'false',
      IMAP_URL: readLabEnv()?.AMAVIS_LAB_IMAP_URL ?? '',
    });
    down = await startTestApp({
      DATA_DIR: path.join(dir, 'down'),
      DEMO_DATA: 'false',
      IMAP_URL: 'imap://127.0.0.1:1',
    });
  });

  afterAll(async () => {
    await app?.close();
    await down?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates a user account on the first good IMAP login and shows its own quarantine', async () => {
    const [user] = users();
    if (!user) throw new Error('the lab lists no IMAP users');
    await addMessage(app.stores.amavis, {
      timeNum: 1_790_000_000,
      subject: 'for the imap user',
      recipients: [{ email: user.username }],
    });
    await addMessage(app.stores.amavis, {
      timeNum: 1_790_000_001,
      subject: 'for someone else',
      recipients: [{ email: 'user2@example.test' }],
    });
    const client = createClient(app.url);
    const response = await client.gql<{
      logIn: { __typename: string; email: string; role: string; addresses: string[] };
    }>(LOG_IN, { input: { email: user.username, password: user.password } });
    expect(response.data?.logIn).toEqual({
      __typename: 'Viewer',
      email: user.username,
      role: 'user',
      addresses: [user.username],
    });
    const { db } = app.stores.console.connection;
    const accounts = app.stores.console.t.accountsTable;
    const [row] = await db.select().from(accounts).where(eq(accounts.email, user.username));
    expect(row).toMatchObject({ authSource: 'imap', passwordHash: null, role: 'user' });
    const list = await client.gql<{ quarantine: { edges: { node: { subject: string } }[] } }>(
      '{ quarantine(first: 10) { edges { node { subject } } } }',
    );
    expect(list.data?.quarantine.edges.map((e) => e.node.subject)).toEqual(['for the imap user']);
    // the second login finds the account instead of creating another
    const again = await createClient(app.url).gql<{ logIn: { __typename: string } }>(LOG_IN, {
      input: { email: user.username, password: user.password },
    });
    expect(again.data?.logIn.__typename).toBe('Viewer');
    expect(await db.select().from(accounts).where(eq(accounts.email, user.username))).toHaveLength(1);
  });

  it('refuses a wrong mailbox password and creates nothing', async () => {
    const [, second] = users();
    const client = createClient(app.url);
    const response = await client.gql<{ logIn: { __typename: string } }>(LOG_IN, {
      input: { email: second?.username, password: 'wrong password' },
    });
    expect(response.data?.logIn.__typename).toBe('InvalidCredentialsError');
    const { db } = app.stores.console.connection;
    const accounts = app.stores.console.t.accountsTable;
    expect(
      await db
        .select()
        .from(accounts)
        .where(eq(accounts.email, second?.username ?? '')),
    ).toHaveLength(0);
  });

  it('says the IMAP server is unavailable, not that the password is wrong, when it is down', async () => {
    const client = createClient(down.url);
    const response = await client.gql<{ logIn: { __typename: string; message: string } }>(
      'mutation($input: LogInInput!) { logIn(input: $input) { __typename ... on Error { message } } }',
      { input: { email: 'user1@example.test', password: 'anything at all' } },
    );
    expect(response.data?.logIn.__typename).toBe('ServiceUnavailableError');
    expect(response.data?.logIn.message).toMatch(/IMAP/);
  });
});
