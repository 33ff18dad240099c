// End to end through the listing: which recipients' mail an account sees, as amavisd stored them.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { installAccelerator } from '../../server/amavis/listing-accelerator.ts';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { addAccount, addMessage } from './factories.ts';
import { type Client, logInAs } from './graphql-client.ts';
import type { DatabaseUnderTest, SuiteOptions } from './quarantine-listing.shared.ts';
import { type GraphQLResponse, startTestApp, type TestApp } from './test-app.ts';

interface PageData {
  quarantine: {
    edges: { node: { subject: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

// Recipients as amavisd writes them into maddr.email (lowercased, IDN domain in ASCII, quotes kept).
const STORED = [
  'user@x.test',
  'user+tag@x.test',
  'user-news@x.test',
  'poweruser@x.test',
  'userx@x.test',
  'user@x.test.evil',
  'user@sub.x.test',
  '"john smith"@x.test',
  'john@x.test',
  'john-doe@x.test',
  'john-lists@x.test',
  'pingüino@xn--pjaro-xqa.example',
];

export function visibilitySuite(open: () => Promise<DatabaseUnderTest>, options: SuiteOptions = {}): void {
  let app: TestApp;
  let admin: Client;
  let database: DatabaseUnderTest;

  const seen = async (email: string, password: string) => {
    const client = await logInAs(app.url, email, password);
    const response = await client.gql<{ quarantine: { edges: { node: { recipient: string } }[] } }>(
      '{ quarantine(first: 100) { edges { node { recipient } } } }',
    );
    expect(response.errors).toBeUndefined();
    return (response.data?.quarantine.edges.map((e) => e.node.recipient) ?? []).sort();
  };

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    app = await startTestApp(database.env);
    if (options.accelerated) await installAccelerator(app.stores.amavis.connection);
    await createSuperadmin(
      app.stores.console,
      { email: 'root@admin.test', password: 'root-password-1' },
      { onlyIfNoAccounts: true },
    );
    admin = await logInAs(app.url, 'root@admin.test', 'root-password-1');
    let time = 1_790_000_000;
    for (const email of STORED)
      await addMessage(app.stores.amavis, { timeNum: time++, recipients: [{ email }] });
    const store = app.stores.console;
    await addAccount(store, { email: 'user@x.test', role: 'user', password: 'user-password-1' });
    await addAccount(store, {
      email: 'john smith <js>',
      role: 'user',
      password: 'js-password-1',
      addresses: ['"John Smith"@X.test'],
    });
    await addAccount(store, { email: 'john@x.test', role: 'user', password: 'john-password-1' });
    await addAccount(store, { email: 'john-doe@x.test', role: 'user', password: 'johndoe-password-1' });
    await addAccount(store, {
      email: 'pingu',
      role: 'user',
      password: 'pingu-password-1',
      addresses: ['Pingüino@Pájaro.example'],
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.dispose();
  });

  /** Subjects of everything the account lists, newest first, read two at a time by cursor. */
  const walked = async (email: string, password: string) => {
    const client = await logInAs(app.url, email, password);
    const subjects: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const response: GraphQLResponse<PageData> = await client.gql<PageData>(
        'query($after: String) { quarantine(first: 2, after: $after) { edges { node { subject } } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      expect(response.errors).toBeUndefined();
      const data = response.data?.quarantine;
      subjects.push(...(data?.edges.map((e) => e.node.subject) ?? []));
      if (!data?.pageInfo.hasNextPage) return subjects;
      after = data.pageInfo.endCursor;
    }
    throw new Error('more than 20 pages');
  };

  it('pages through every spelling of an address and every domain of an admin in date order', async () => {
    // one mailbox stored in both spellings amavisd may keep, and a second domain, interleaved in time
    const mail = [
      'mixed@y.test',
      '"mixed"@y.test',
      'other@z.test',
      'mixed@y.test',
      '"mixed"@y.test',
      'other@z.test',
      'mixed@y.test',
    ];
    for (const [i, email] of mail.entries())
      await addMessage(app.stores.amavis, {
        timeNum: 1_790_100_000 + i,
        subject: `mixed ${i}`,
        recipients: [{ email }],
      });
    const newestFirst = (keep: (email: string) => boolean) =>
      mail.flatMap((email, i) => (keep(email) ? [`mixed ${i}`] : [])).reverse();
    await addAccount(app.stores.console, {
      email: 'mixed@y.test',
      role: 'user',
      password: 'mixed-password-1',
    });
    await addAccount(app.stores.console, {
      email: 'admin@y.test',
      role: 'domainadmin',
      password: 'yz-password-1',
      domains: ['y.test', 'z.test'],
    });
    expect(await walked('mixed@y.test', 'mixed-password-1')).toEqual(
      newestFirst((e) => e.endsWith('y.test')),
    );
    expect(await walked('admin@y.test', 'yz-password-1')).toEqual(newestFirst(() => true));
  });

  it('without a delimiter: the exact address only, never one that contains it', async () => {
    expect(await seen('user@x.test', 'user-password-1')).toEqual(['user@x.test']);
  });

  it('with "+" and "-" as delimiters: the address and its extensions', async () => {
    await admin.gql(
      'mutation { updateSettings(input: { recipientDelimiter: "+-" }) { recipientDelimiter } }',
    );
    expect(await seen('user@x.test', 'user-password-1')).toEqual([
      'user+tag@x.test',
      'user-news@x.test',
      'user@x.test',
    ]);
  });

  it("never another account's real mailbox that looks like an extension (john-doe is not john's)", async () => {
    expect(await seen('john@x.test', 'john-password-1')).toEqual(['john-lists@x.test', 'john@x.test']);
    expect(await seen('john-doe@x.test', 'johndoe-password-1')).toEqual(['john-doe@x.test']);
  });

  it('matches quoted local parts with spaces, and IDN domains given in Unicode', async () => {
    expect(await seen('john smith <js>', 'js-password-1')).toEqual(['"john smith"@x.test']);
    expect(await seen('pingu', 'pingu-password-1')).toEqual(['pingüino@xn--pjaro-xqa.example']);
  });

  it('refuses a recipient delimiter amavisd could not use, with a clear message', async () => {
    const response = await admin.gql(
      'mutation { updateSettings(input: { recipientDelimiter: "@" }) { recipientDelimiter } }',
    );
    expect(response.errors?.[0]?.message).toMatch(/recipientDelimiter: .*"@" is not allowed/);
  });
}
