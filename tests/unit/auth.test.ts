// Logging in and out, cookies, API tokens, passwords, brute-force brakes and query limits, through the
// real HTTP server on embedded PGlite.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { addAccount, addMessage, mailIdAndSecret } from '../support/factories.ts';
import { createClient, errorCode, logInAs } from '../support/graphql-client.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const LOG_IN =
  'mutation($input: LogInInput!) { logIn(input: $input) { __typename ... on Error { message } ... on TooManyAttemptsError { retryAfterSeconds } } }';
const START =
  'mutation($input: StartSelfServiceInput!) { startSelfService(input: $input) { __typename ... on Viewer { kind } } }';

describe('authentication', () => {
  let app: TestApp;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-auth-'));

  const audit = async (action: string) => {
    const { db } = app.stores.console.connection;
    const t = app.stores.console.t.auditLogTable;
    return db.select().from(t).where(eq(t.action, action));
  };

  beforeAll(async () => {
    app = await startTestApp({ DATA_DIR: dir, DEMO_DATA: 'false', TRUST_PROXY: 'true' });
    await createSuperadmin(
      app.stores.console,
      { email: 'Root@Admin.test', password: 'root-password-1' },
      { onlyIfNoAccounts: true },
    );
    await addAccount(app.stores.console, {
      email: 'carol@x.test',
      role: 'user',
      password: 'carol-password-1',
    });
  });

  afterAll(async () => {
    await app?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('logs in case-insensitively and sets an HttpOnly, SameSite=Lax session cookie', async () => {
    const client = createClient(app.url);
    const response = await client.gql<{ logIn: { __typename: string } }>(LOG_IN, {
      input: { email: 'root@ADMIN.test', password: 'root-password-1' },
    });
    expect(response.data?.logIn.__typename).toBe('Viewer');
    const cookie = client.setCookies[0] ?? '';
    expect(cookie).toMatch(/^ac_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\//i);
    expect(cookie).not.toMatch(/; Secure/i);
    const viewer = await client.gql<{ viewer: { kind: string; email: string; role: string } }>(
      '{ viewer { kind email role } }',
    );
    expect(viewer.data?.viewer).toEqual({ kind: 'account', email: 'root@admin.test', role: 'superadmin' });
  });

  it('marks the cookie Secure behind a TLS proxy (TRUST_PROXY)', async () => {
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
      body: JSON.stringify({
        query: LOG_IN,
        variables: { input: { email: 'root@admin.test', password: 'root-password-1' } },
      }),
    });
    expect(response.headers.get('set-cookie')).toMatch(/; Secure/i);
  });

  it('refuses a wrong password with the same message as an unknown account, and audits both', async () => {
    const client = createClient(app.url);
    const wrong = await client.gql<{ logIn: { __typename: string; message: string } }>(LOG_IN, {
      input: { email: 'carol@x.test', password: 'not-her-password' },
    });
    const unknown = await client.gql<{ logIn: { __typename: string; message: string } }>(LOG_IN, {
      input: { email: 'nobody@x.test', password: 'not-her-password' },
    });
    expect(wrong.data?.logIn).toEqual({
      __typename: 'InvalidCredentialsError',
      message: 'wrong address or password',
    });
    expect(unknown.data?.logIn).toEqual(wrong.data?.logIn);
    expect(client.session()).toBeNull();
    const failures = (await audit('auth.login')).filter((r) => r.outcome === 'failure');
    expect(failures.map((r) => r.target)).toEqual(expect.arrayContaining(['carol@x.test', 'nobody@x.test']));
    expect(failures.find((r) => r.target === 'carol@x.test')?.domain).toBe('x.test');
  });

  it('slows down brute force: after 5 failures even the right password waits, and that is audited', async () => {
    await addAccount(app.stores.console, {
      email: 'target@x.test',
      role: 'user',
      password: 'target-password-1',
    });
    const client = createClient(app.url);
    for (let i = 0; i < 5; i++) {
      const r = await client.gql<{ logIn: { __typename: string } }>(LOG_IN, {
        input: { email: 'target@x.test', password: `guess-${i}` },
      });
      expect(r.data?.logIn.__typename).toBe('InvalidCredentialsError');
    }
    const blocked = await client.gql<{ logIn: { __typename: string; retryAfterSeconds: number } }>(LOG_IN, {
      input: { email: 'target@x.test', password: 'target-password-1' },
    });
    expect(blocked.data?.logIn.__typename).toBe('TooManyAttemptsError');
    expect(blocked.data?.logIn.retryAfterSeconds).toBeGreaterThan(60);
    expect(client.session()).toBeNull();
    const denied = (await audit('auth.login')).filter(
      (r) => r.outcome === 'denied' && r.target === 'target@x.test',
    );
    expect(denied).toHaveLength(1);
    expect(denied[0]?.detail).toMatchObject({ reason: 'throttled' });
    // another identity from the same client is not yet blocked
    const other = await logInAs(app.url, 'carol@x.test', 'carol-password-1');
    expect(other.session()).not.toBeNull();
  });

  it('logs out: the cookie is cleared and the session no longer works', async () => {
    const client = await logInAs(app.url, 'carol@x.test', 'carol-password-1');
    const stolen = createClient(app.url, { session: client.session() ?? '' });
    await client.gql('mutation { logOut { kind } }');
    expect(client.setCookies.at(-1)).toMatch(/^ac_session=; Max-Age=0/);
    const after = await stolen.gql<{ viewer: { kind: string } }>('{ viewer { kind } }');
    expect(after.data?.viewer.kind).toBe('anonymous');
    expect(errorCode(await stolen.gql('{ apiTokens { id } }'))).toBe('UNAUTHENTICATED');
  });

  it('changes the password, ends the other sessions and keeps this one', async () => {
    await addAccount(app.stores.console, { email: 'dave@x.test', role: 'user', password: 'dave-password-1' });
    const here = await logInAs(app.url, 'dave@x.test', 'dave-password-1');
    const elsewhere = await logInAs(app.url, 'dave@x.test', 'dave-password-1');
    const tooShort = await here.gql(
      'mutation { changePassword(input: { currentPassword: "dave-password-1", newPassword: "short" }) { __typename } }',
    );
    expect(tooShort.errors?.[0]?.message).toMatch(/at least 10 characters/);
    const changed = await here.gql<{ changePassword: { __typename: string } }>(
      'mutation { changePassword(input: { currentPassword: "dave-password-1", newPassword: "dave-password-2" }) { __typename } }',
    );
    expect(changed.data?.changePassword.__typename).toBe('Viewer');
    expect((await here.gql<{ viewer: { kind: string } }>('{ viewer { kind } }')).data?.viewer.kind).toBe(
      'account',
    );
    expect((await elsewhere.gql<{ viewer: { kind: string } }>('{ viewer { kind } }')).data?.viewer.kind).toBe(
      'anonymous',
    );
    await logInAs(app.url, 'dave@x.test', 'dave-password-2');
  });

  it('issues API tokens once, stores only a digest, honours read-only access and revocation', async () => {
    const admin = await logInAs(app.url, 'root@admin.test', 'root-password-1');
    const created = await admin.gql<{
      createApiToken: { secret: string; token: { id: number; prefix: string } };
    }>(
      'mutation { createApiToken(input: { name: "backup script", access: read }) { secret token { id prefix } } }',
    );
    const secret = created.data?.createApiToken.secret ?? '';
    expect(secret).toMatch(/^acp_[A-Za-z0-9_-]{43}$/);
    expect(secret.startsWith(created.data?.createApiToken.token.prefix ?? 'x')).toBe(true);
    const { db } = app.stores.console.connection;
    const rows = await db.select().from(app.stores.console.t.apiTokensTable);
    expect(JSON.stringify(rows)).not.toContain(secret);

    const script = createClient(app.url, { token: secret });
    const read = await script.gql<{ settings: { maxMessagesAge: number } }>(
      '{ settings { maxMessagesAge } }',
    );
    expect(read.data?.settings.maxMessagesAge).toBe(14);
    const write = await script.gql(
      'mutation { updateSettings(input: { maxMessagesAge: 20 }) { maxMessagesAge } }',
    );
    expect(errorCode(write)).toBe('FORBIDDEN');
    const [used] = await db
      .select()
      .from(app.stores.console.t.apiTokensTable)
      .where(eq(app.stores.console.t.apiTokensTable.id, created.data?.createApiToken.token.id ?? 0));
    expect(used?.lastUsedAt).toBeInstanceOf(Date);

    await admin.gql(
      `mutation { revokeApiToken(id: ${created.data?.createApiToken.token.id}) { revokedAt } }`,
    );
    expect(errorCode(await script.gql('{ settings { maxMessagesAge } }'))).toBe('UNAUTHENTICATED');
    expect(errorCode(await createClient(app.url, { token: 'acp_forged' }).gql('{ apiTokens { id } }'))).toBe(
      'UNAUTHENTICATED',
    );
  });

  it("lets nobody revoke another account's token but a superadmin", async () => {
    const carol = await logInAs(app.url, 'carol@x.test', 'carol-password-1');
    const token = await carol.gql<{ createApiToken: { token: { id: number } } }>(
      'mutation { createApiToken(input: { name: "mine", access: full }) { token { id } } }',
    );
    const id = token.data?.createApiToken.token.id;
    const dave = await logInAs(app.url, 'dave@x.test', 'dave-password-2');
    const theft = await dave.gql(`mutation { revokeApiToken(id: ${id}) { revokedAt } }`);
    expect(theft.errors?.[0]?.message).toMatch(/no API token/);
    const denied = (await audit('auth.token.revoke')).filter((r) => r.outcome === 'denied');
    expect(denied.length).toBeGreaterThan(0);
  });

  it('opens self-service only when enabled, with the right secret, and throttles guessing', async () => {
    const link = mailIdAndSecret();
    await addMessage(app.stores.amavis, {
      ...link,
      timeNum: 1_790_000_000,
      recipients: [{ email: 'carol@x.test' }],
    });
    const anon = createClient(app.url);
    const off = await anon.gql<{ startSelfService: { __typename: string } }>(START, {
      input: { ...link, recipient: 'carol@x.test' },
    });
    expect(off.data?.startSelfService.__typename).toBe('InvalidLinkError');

    const admin = await logInAs(app.url, 'root@admin.test', 'root-password-1');
    await admin.gql('mutation { updateSettings(input: { selfService: true }) { selfService } }');
    const wrongRecipient = await anon.gql<{ startSelfService: { __typename: string } }>(START, {
      input: { ...link, recipient: 'dave@x.test' },
    });
    expect(wrongRecipient.data?.startSelfService.__typename).toBe('InvalidLinkError');
    const ok = await anon.gql<{ startSelfService: { __typename: string; kind: string } }>(START, {
      input: { ...link, recipient: 'Carol@X.test' },
    });
    expect(ok.data?.startSelfService).toEqual({ __typename: 'Viewer', kind: 'selfService' });
    expect(anon.session()).not.toBeNull();

    const guesser = createClient(app.url);
    for (let i = 0; i < 5; i++) {
      await guesser.gql(START, {
        input: { ...link, secretId: mailIdAndSecret().secretId, recipient: 'carol@x.test' },
      });
    }
    const blocked = await guesser.gql<{ startSelfService: { __typename: string } }>(START, {
      input: { ...link, recipient: 'carol@x.test' },
    });
    expect(blocked.data?.startSelfService.__typename).toBe('TooManyAttemptsError');
    const { db } = app.stores.console.connection;
    const t = app.stores.console.t.auditLogTable;
    const throttled = await db
      .select()
      .from(t)
      .where(and(eq(t.action, 'selfService.start'), eq(t.outcome, 'denied')));
    expect(throttled.some((r) => JSON.stringify(r.detail).includes('throttled'))).toBe(true);

    await admin.gql('mutation { updateSettings(input: { selfService: false }) { selfService } }');
    const closed = await anon.gql<{ viewer: { kind: string } }>('{ viewer { kind } }');
    expect(closed.data?.viewer.kind).toBe('anonymous');
  });

  it('rejects documents with too many aliases or tokens before running them', async () => {
    const admin = await logInAs(app.url, 'root@admin.test', 'root-password-1');
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: viewer { kind }`).join(' ');
    expect((await admin.gql(`{ ${aliases} }`)).errors?.[0]?.message).toMatch(/aliases/i);
    // every field counts towards the token budget, so a huge document is refused unread
    const huge = `{ ${Array.from({ length: 700 }, () => 'viewer { kind email }').join(' ')} }`;
    expect((await admin.gql(huge)).errors?.[0]?.message).toMatch(/token/i);
    // the standard introspection query that tools send still fits
    const introspection = await admin.gql<{ __schema: { types: unknown[] } }>(getIntrospectionQuery());
    expect(introspection.errors).toBeUndefined();
    expect(introspection.data?.__schema.types.length).toBeGreaterThan(20);
  });
});
