// Policies and sender lists through real GraphQL documents, on each database (PGlite, PostgreSQL,
// MariaDB): amavis's users/policy/wblist/mailaddr rows as amavisd will read them, who may change what,
// validation without partial writes, the audit trail, and nothing left behind when domains and
// accounts go.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { and, eq, inArray, like, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AmavisStore } from '../../server/db/stores.ts';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { runCleanup } from '../../server/features/cleanup/cleanup.service.ts';
import {
  addSenderEntry,
  expireSenderEntries,
} from '../../server/features/sender-lists/sender-lists.service.ts';
import { addAccount, addMessage } from './factories.ts';
import { type Client, errorCode, logInAs } from './graphql-client.ts';
import type { DatabaseUnderTest } from './quarantine-listing.shared.ts';
import { startTestApp, type TestApp } from './test-app.ts';

export interface AmavisRowCounts {
  users: number;
  policy: number;
  wblist: number;
  mailaddr: number;
}

/** How many rows amavis's four lookup tables hold. */
export async function lookupRowCounts(store: AmavisStore): Promise<AmavisRowCounts> {
  const { db } = store.connection;
  const t = store.t;
  const n = async (
    table: typeof t.usersTable | typeof t.policyTable | typeof t.wblistTable | typeof t.mailaddrTable,
  ) => Number((await db.select({ n: sql<number>`count(*)` }).from(table))[0]?.n ?? 0);
  return {
    users: await n(t.usersTable),
    policy: await n(t.policyTable),
    wblist: await n(t.wblistTable),
    mailaddr: await n(t.mailaddrTable),
  };
}

/** The users row of a key with its policy, as amavisd reads it (null when there is none). */
export async function usersRow(store: AmavisStore, key: string) {
  const { usersTable: u, policyTable: p } = store.t;
  const [row] = await store.connection.db
    .select({ id: u.id, priority: u.priority, policyId: u.policyId, policy: p })
    .from(u)
    .leftJoin(p, eq(p.id, u.policyId))
    .where(eq(u.email, Buffer.from(key, 'utf8')));
  return row ?? null;
}

/** The wblist rows of a users key: sender -> [wb, mailaddr priority]. */
export async function wblistOf(store: AmavisStore, key: string): Promise<Record<string, [string, number]>> {
  const { usersTable: u, wblistTable: w, mailaddrTable: m } = store.t;
  const rows = await store.connection.db
    .select({ sender: m.email, wb: w.wb, priority: m.priority })
    .from(w)
    .innerJoin(u, eq(u.id, w.rid))
    .innerJoin(m, eq(m.id, w.sid))
    .where(eq(u.email, Buffer.from(key, 'utf8')));
  return Object.fromEntries(rows.map((r) => [Buffer.from(r.sender).toString('utf8'), [r.wb, r.priority]]));
}

export const UPDATE_POLICY = `mutation($input: UpdatePolicyInput!) { updatePolicy(input: $input) {
  policy { owner scope exists priority sharedWith editableFields values { field state number text } } } }`;
export const EFFECTIVE = `query($address: String!) { effectivePolicy(address: $address) {
  address lookupKeys matches { key priority } ties fields { field state number text source sourcePriority } } }`;
export const SET_ENTRY = `mutation($input: SetSenderListEntryInput!) { setSenderListEntry(input: $input) {
  entry { owner sender kind action score priority createdBy expiresAt } } }`;
export const REMOVE_ENTRY = `mutation($input: RemoveSenderListEntryInput!) { removeSenderListEntry(input: $input) { removed } }`;
const REMOVE_POLICY = `mutation($input: RemoveAddressPolicyInput!) { removeAddressPolicy(input: $input) {
  policy { exists values { state } } } }`;
const SENDER_LIST = `query($owner: String!) { senderList(owner: $owner) { sender kind action score priority createdBy } }`;
const POLICY = `query($owner: String!) { policy(owner: $owner) { owner exists priority editableFields
  values { field state number text } } }`;

type Change = { field: string; state: string; number?: number; text?: string };

export function must<T>(result: { data?: T; errors?: unknown }): T {
  if (result.errors || !result.data) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

const ROOT = { email: 'root@admin.test', password: 'policy-root-password-1' };
const ADMIN = { email: 'admin@pol.example', password: 'policy-admin-password-1' };
const USER = { email: 'u1@pol.example', password: 'policy-user-password-1' };

export function policiesSuite(open: () => Promise<DatabaseUnderTest>): void {
  let database: DatabaseUnderTest;
  let app: TestApp;
  let root: Client;
  let admin: Client;
  let user: Client;
  let before: AmavisRowCounts;
  const ids: Record<string, string> = {};
  const amavis = () => app.stores.amavis;

  const update = (client: Client, owner: string, changes: Change[]) =>
    client.gql<{
      updatePolicy: { policy: { values: { field: string; state: string; number: number | null }[] } };
    }>(UPDATE_POLICY, { input: { owner, changes } });
  const accountId = async (email: string) => {
    const a = app.stores.console.t.accountsTable;
    const [row] = await app.stores.console.connection.db
      .select({ id: a.id })
      .from(a)
      .where(eq(a.email, email));
    return row?.id ?? 0;
  };
  const audit = async (action: string) => {
    const t = app.stores.console.t.auditLogTable;
    return app.stores.console.connection.db.select().from(t).where(eq(t.action, action)).orderBy(t.id);
  };

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    app = await startTestApp(database.env);
    before = await lookupRowCounts(amavis());
    await createSuperadmin(app.stores.console, ROOT, { onlyIfNoAccounts: true });
    root = await logInAs(app.url, ROOT.email, ROOT.password);
    for (const name of ['pol.example', 'other.example']) {
      const created = must(
        await root.gql<{ createDomain: { domain: { id: string } } }>(
          'mutation($name: String!) { createDomain(input: { name: $name }) { domain { id } } }',
          { name },
        ),
      );
      ids[name] = created.createDomain.domain.id;
    }
    must(
      await root.gql(
        'mutation($id: ID!) { addDomainAlias(input: { domainId: $id, name: "pol-alias.example" }) { domain { id } } }',
        {
          id: ids['pol.example'],
        },
      ),
    );
    await addAccount(app.stores.console, { ...ADMIN, role: 'domainadmin', domains: ['pol.example'] });
    const created = must(
      await root.gql<{ createAccount: { account: { id: string } } }>(
        'mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }',
        { input: { email: USER.email, password: USER.password, role: 'user' } },
      ),
    );
    ids.user = created.createAccount.account.id;
    admin = await logInAs(app.url, ADMIN.email, ADMIN.password);
    user = await logInAs(app.url, USER.email, USER.password);
  });

  afterAll(async () => {
    await app?.close();
    await database?.dispose();
  });

  it('gives a new domain its users row (priority 5) and an empty policy, shared by its alias', async () => {
    const domain = await usersRow(amavis(), '@pol.example');
    const alias = await usersRow(amavis(), '@pol-alias.example');
    expect(domain).toMatchObject({ priority: 5 });
    expect(alias).toMatchObject({ priority: 5, policyId: domain?.policyId });
    // nothing stored as '' (amavisd would read it as "no" and override amavisd.conf)
    const { id: _id, policyName, ...fields } = domain?.policy ?? { id: 0, policyName: null };
    expect(policyName).toBe('@pol.example');
    expect(Object.values(fields).every((v) => v === null)).toBe(true);
  });

  it('edits domain fields tri-state: on, off, a value, and back to inherit as NULL', async () => {
    const on = must(
      await update(root, '@pol.example', [
        { field: 'bypassSpamChecks', state: 'on' },
        { field: 'bypassVirusChecks', state: 'off' },
        { field: 'spamKillLevel', state: 'value', number: 12.5 },
        { field: 'spamSubjectTag2', state: 'value', text: '***Spam*** ' },
        { field: 'spamQuarantineTo', state: 'value', text: '' },
      ]),
    );
    const values = Object.fromEntries(on.updatePolicy.policy.values.map((v) => [v.field, v]));
    expect(values.bypassSpamChecks).toMatchObject({ state: 'on' });
    expect(values.spamKillLevel).toMatchObject({ state: 'value', number: 12.5 });
    let row = await usersRow(amavis(), '@pol.example');
    expect(row?.policy).toMatchObject({
      bypassSpamChecks: 'Y',
      bypassVirusChecks: 'N',
      spamKillLevel: 12.5,
      spamSubjectTag2: '***Spam*** ',
      spamQuarantineTo: '',
      bypassBannedChecks: null,
    });
    must(
      await update(root, '@pol-alias.example', [
        { field: 'bypassSpamChecks', state: 'inherit' },
        { field: 'bypassVirusChecks', state: 'inherit' },
        { field: 'spamQuarantineTo', state: 'inherit' },
      ]),
    );
    row = await usersRow(amavis(), '@pol.example');
    expect(row?.policy).toMatchObject({
      bypassSpamChecks: null,
      bypassVirusChecks: null,
      spamQuarantineTo: null,
    });
    // the alias still shares the policy
    expect((await usersRow(amavis(), '@pol-alias.example'))?.policyId).toBe(row?.policyId);
    const entries = await audit('policy.update');
    expect(entries.filter((e) => e.outcome === 'success' && e.domain === 'pol.example')).toHaveLength(2);
  });

  it('refuses bad values with clear errors and writes nothing', async () => {
    const cases: [Change[], RegExp][] = [
      [
        [{ field: 'spamTag2Level', state: 'value', number: 20 }],
        /spamKillLevel: 12\.5 is below spamTag2Level 20/,
      ],
      [[{ field: 'bypassSpamChecks', state: 'value', number: 1 }], /a flag is on, off or inherit/],
      [[{ field: 'spamKillLevel', state: 'on' }], /not a flag/],
      [[{ field: 'spamKillLevel', state: 'value' }], /give the number/],
      [[{ field: 'spamSubjectTag', state: 'value', text: 'a\r\nBcc: x@y' }], /no control characters/],
      [[{ field: 'messageSizeLimit', state: 'value', number: -1 }], /whole number of bytes/],
      [[{ field: 'spamSubjectTag', state: 'value', text: 'x'.repeat(65) }], /at most 64/],
      [
        [
          { field: 'spamTagLevel', state: 'value', number: 3 },
          { field: 'spamTagLevel', state: 'inherit' },
        ],
        /named twice/,
      ],
    ];
    const unchanged = (await usersRow(amavis(), '@pol.example'))?.policy;
    for (const [changes, message] of cases) {
      const result = await update(root, '@pol.example', changes);
      expect(errorCode(result), JSON.stringify(result)).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message).toMatch(message);
    }
    expect((await usersRow(amavis(), '@pol.example'))?.policy).toEqual(unchanged);
    const unknown = await update(root, '@nowhere.example', [{ field: 'spamKillLevel', state: 'inherit' }]);
    expect(unknown.errors?.[0]?.message).toMatch(/nowhere\.example is not a domain of this console/);
  });

  it('confines domain admins to their domains and to the fields a superadmin allows', async () => {
    must(await update(admin, '@pol.example', [{ field: 'spamKillLevel', state: 'value', number: 15 }]));
    const virus = await update(admin, '@pol.example', [{ field: 'bypassVirusChecks', state: 'on' }]);
    expect(errorCode(virus)).toBe('FORBIDDEN');
    expect(virus.errors?.[0]?.message).toMatch(/bypassVirusChecks/);
    expect(
      errorCode(await update(admin, '@other.example', [{ field: 'spamKillLevel', state: 'inherit' }])),
    ).toBe('FORBIDDEN');
    expect(errorCode(await update(admin, '@.', [{ field: 'spamKillLevel', state: 'inherit' }]))).toBe(
      'FORBIDDEN',
    );
    expect(errorCode(await admin.gql(POLICY, { owner: '@other.example' }))).toBe('FORBIDDEN');
    const denied = (await audit('policy.update')).filter((e) => e.outcome === 'denied');
    expect(denied.length).toBeGreaterThanOrEqual(3);

    must(
      await root.gql(
        'mutation { updatePolicySettings(input: { domainAdminPolicyFields: [spamKillLevel, bypassVirusChecks] }) { domainAdminPolicyFields } }',
      ),
    );
    must(await update(admin, '@pol.example', [{ field: 'bypassVirusChecks', state: 'on' }]));
    const policy = must(
      await admin.gql<{ policy: { editableFields: string[] } }>(POLICY, { owner: '@pol.example' }),
    );
    expect(policy.policy.editableFields.sort()).toEqual(['bypassVirusChecks', 'spamKillLevel']);
    expect(
      errorCode(await update(admin, '@pol.example', [{ field: 'spamTagLevel', state: 'inherit' }])),
    ).toBe('FORBIDDEN');
    expect(
      errorCode(
        await admin.gql(
          'mutation { updatePolicySettings(input: { userSenderLists: false }) { userSenderLists } }',
        ),
      ),
    ).toBe('FORBIDDEN');
    must(await update(root, '@pol.example', [{ field: 'bypassVirusChecks', state: 'inherit' }]));
  });

  it('gives an address its own policy (priority 9) that inherits the rest, and shows the effective policy', async () => {
    const forbidden = await update(user, USER.email, [{ field: 'spamKillLevel', state: 'value', number: 3 }]);
    expect(errorCode(forbidden)).toBe('FORBIDDEN');
    must(await update(admin, USER.email, [{ field: 'spamKillLevel', state: 'value', number: 3 }]));
    const own = await usersRow(amavis(), USER.email);
    expect(own).toMatchObject({ priority: 9, policy: { spamKillLevel: 3, policyName: USER.email } });
    expect(own?.policyId).not.toBe((await usersRow(amavis(), '@pol.example'))?.policyId);

    const effective = must(
      await user.gql<{
        effectivePolicy: {
          lookupKeys: string[];
          matches: { key: string; priority: number }[];
          ties: boolean;
          fields: { field: string; state: string; number: number | null; source: string | null }[];
        };
      }>(EFFECTIVE, { address: 'U1@POL.example' }),
    ).effectivePolicy;
    expect(effective.lookupKeys).toEqual([USER.email, '@pol.example', '@.pol.example', '@.example', '@.']);
    expect(effective.matches).toEqual([
      { key: USER.email, priority: 9 },
      { key: '@pol.example', priority: 5 },
    ]);
    expect(effective.ties).toBe(false);
    const field = (name: string) => effective.fields.find((f) => f.field === name);
    expect(field('spamKillLevel')).toMatchObject({ number: 3, source: USER.email });
    expect(field('spamSubjectTag2')).toMatchObject({ state: 'value', source: '@pol.example' });
    expect(field('bypassSpamChecks')).toMatchObject({ state: 'inherit', source: null });

    const listed = must(
      await admin.gql<{ addressPolicies: { owner: string; priority: number }[] }>(
        'query { addressPolicies(domain: "pol-alias.example") { owner priority } }',
      ),
    ).addressPolicies;
    expect(listed).toEqual([{ owner: USER.email, priority: 9 }]);
    expect(errorCode(await user.gql('query { addressPolicies(domain: "pol.example") { owner } }'))).toBe(
      'FORBIDDEN',
    );

    // a user changes only what a superadmin allows (nothing by default)
    must(
      await root.gql(
        'mutation { updatePolicySettings(input: { userPolicyFields: [spamTag2Level] }) { userPolicyFields } }',
      ),
    );
    must(await update(user, USER.email, [{ field: 'spamTag2Level', state: 'value', number: 2.5 }]));
    expect(
      errorCode(await update(user, 'other@pol.example', [{ field: 'spamTag2Level', state: 'inherit' }])),
    ).toBe('FORBIDDEN');
    expect(errorCode(await user.gql(EFFECTIVE, { address: 'other@pol.example' }))).toBe('FORBIDDEN');
  });

  it('keeps sender lists in wblist and mailaddr with the right priorities', async () => {
    const set = (client: Client, input: Record<string, unknown>) => client.gql(SET_ENTRY, { input });
    must(await set(user, { owner: USER.email, sender: 'Friend@Sender.example', action: 'allow' }));
    must(await set(user, { owner: USER.email, sender: '@spam.example', action: 'block' }));
    must(await set(user, { owner: USER.email, sender: '@.spam.example', action: 'score', score: 4.5 }));
    must(await set(user, { owner: USER.email, sender: 'bulk.example', action: 'score', score: -2 }));
    expect(await wblistOf(amavis(), USER.email)).toEqual({
      'friend@sender.example': ['W', 9],
      '@spam.example': ['B', 5],
      '@.spam.example': ['4.5', 2],
      '@bulk.example': ['-2', 5],
    });
    const list = must(
      await user.gql<{
        senderList: { sender: string; action: string; score: number | null; createdBy: string }[];
      }>(SENDER_LIST, { owner: USER.email }),
    ).senderList;
    expect(list.map((e) => [e.sender, e.action, e.score])).toEqual([
      ['friend@sender.example', 'allow', null],
      ['@bulk.example', 'score', -2],
      ['@spam.example', 'block', null],
      ['@.spam.example', 'score', 4.5],
    ]);
    expect(list[0]?.createdBy).toBe(USER.email);

    // a user: only its own addresses; bad input: clear errors
    expect(
      errorCode(await set(user, { owner: '@pol.example', sender: 'x@y.example', action: 'block' })),
    ).toBe('FORBIDDEN');
    expect(
      errorCode(await set(user, { owner: 'other@pol.example', sender: 'x@y.example', action: 'block' })),
    ).toBe('FORBIDDEN');
    for (const [input, message] of [
      [{ owner: USER.email, sender: '@.', action: 'block' }, /every sender is a policy matter/],
      [{ owner: USER.email, sender: 'x@y.example', action: 'score' }, /non-zero number/],
      [{ owner: USER.email, sender: 'x@y.example', action: 'score', score: 5000 }, /between -999 and 999/],
      [
        { owner: USER.email, sender: 'x@y.example', action: 'allow', expiresAt: '2001-01-01T00:00:00Z' },
        /in the future/,
      ],
    ] as const) {
      const result = await set(user, input);
      expect(errorCode(result), JSON.stringify(result)).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message).toMatch(message);
    }

    // everyone's list: superadmins only, on a catch-all users row '@.' (priority 0) that goes when empty
    expect(errorCode(await set(admin, { owner: '@.', sender: 'x@y.example', action: 'block' }))).toBe(
      'FORBIDDEN',
    );
    must(await set(root, { owner: '@.', sender: 'worm@virus.example', action: 'block' }));
    expect(await usersRow(amavis(), '@.')).toMatchObject({ priority: 0, policy: { policyName: '@.' } });
    expect(await wblistOf(amavis(), '@.')).toEqual({ 'worm@virus.example': ['B', 9] });
    must(await root.gql(REMOVE_ENTRY, { input: { owner: '@.', sender: 'worm@virus.example' } }));
    expect(await usersRow(amavis(), '@.')).toBeNull();

    // a domain's list applies to its alias domain too (amavisd keys wblist by users.id)
    must(await set(admin, { owner: '@pol-alias.example', sender: 'boss@partner.example', action: 'allow' }));
    expect(await wblistOf(amavis(), '@pol.example')).toEqual({ 'boss@partner.example': ['W', 9] });
    expect(await wblistOf(amavis(), '@pol-alias.example')).toEqual({ 'boss@partner.example': ['W', 9] });

    // removing: the rows go, and the mailaddr rows nobody else uses
    expect(
      must(
        await user.gql<{ removeSenderListEntry: { removed: boolean } }>(REMOVE_ENTRY, {
          input: { owner: USER.email, sender: '@.spam.example' },
        }),
      ).removeSenderListEntry.removed,
    ).toBe(true);
    const m = amavis().t.mailaddrTable;
    expect(
      await amavis()
        .connection.db.select()
        .from(m)
        .where(eq(m.email, Buffer.from('@.spam.example'))),
    ).toEqual([]);
    expect((await audit('senderList.set')).filter((e) => e.outcome === 'success')).toHaveLength(6);
    expect((await audit('senderList.set')).filter((e) => e.outcome === 'denied')).toHaveLength(3);

    // two lists taking the same new sender at the same moment share one mailaddr row, without an error
    const rush = { sender: 'rush@race.example', action: 'block' };
    const results = await Promise.all([
      set(user, { ...rush, owner: USER.email }),
      set(admin, { ...rush, owner: '@pol.example' }),
      set(root, { ...rush, owner: '@other.example' }),
    ]);
    for (const result of results) must(result);
    const rows = await amavis()
      .connection.db.select()
      .from(m)
      .where(eq(m.email, Buffer.from('rush@race.example')));
    expect(rows).toHaveLength(1);
    for (const owner of [USER.email, '@pol.example', '@other.example']) {
      must(await root.gql(REMOVE_ENTRY, { input: { owner, sender: 'rush@race.example' } }));
    }
    expect(
      await amavis()
        .connection.db.select()
        .from(m)
        .where(eq(m.email, Buffer.from('rush@race.example'))),
    ).toEqual([]);
  });

  it('suggests "always allow/block this sender" from a quarantined message, with its impact', async () => {
    for (const sender of ['pusher@bad.example', 'pusher@bad.example', 'other@bad.example']) {
      await addMessage(amavis(), {
        timeNum: Math.floor(Date.now() / 1000),
        sender,
        recipients: [{ email: USER.email }],
      });
    }
    const mailId = await addMessage(amavis(), {
      timeNum: Math.floor(Date.now() / 1000),
      sender: 'pusher@bad.example',
      recipients: [{ email: USER.email }],
    });
    const messageId = encodeGlobalID('QuarantinedMessage', `0:${mailId}:1`);
    const query = `query($id: ID!) { senderSuggestions(messageId: $id) { recipient envelopeSender
      suggestions { owner sender kind quarantinedFromSender allowed } } }`;
    const mine = must(
      await user.gql<{ senderSuggestions: { suggestions: unknown[] } }>(query, { id: messageId }),
    );
    expect(mine.senderSuggestions).toEqual({
      recipient: USER.email,
      envelopeSender: 'pusher@bad.example',
      suggestions: [
        {
          owner: USER.email,
          sender: 'pusher@bad.example',
          kind: 'address',
          quarantinedFromSender: 3,
          allowed: true,
        },
        {
          owner: USER.email,
          sender: '@bad.example',
          kind: 'domain',
          quarantinedFromSender: 4,
          allowed: true,
        },
      ],
    });
    const admins = must(
      await admin.gql<{ senderSuggestions: { suggestions: { owner: string }[] } }>(query, { id: messageId }),
    );
    expect(admins.senderSuggestions.suggestions.map((s) => s.owner)).toEqual([
      USER.email,
      USER.email,
      '@pol.example',
      '@pol.example',
    ]);
    await addAccount(app.stores.console, {
      email: 'x@other.example',
      role: 'user',
      password: 'other-user-password-1',
    });
    const stranger = await logInAs(app.url, 'x@other.example', 'other-user-password-1');
    expect(must(await stranger.gql(query, { id: messageId }))).toEqual({ senderSuggestions: null });
  });

  it('lets the digest add entries through addSenderEntry, and expires entries with expireSenderEntries', async () => {
    const actor = {
      kind: 'account' as const,
      accountId: await accountId(USER.email),
      email: USER.email,
      role: 'user' as const,
      addresses: [USER.email],
      othersAddresses: [],
      domains: [],
      access: 'full' as const,
      via: 'session' as const,
    };
    const soon = new Date(Date.now() + 60_000);
    const entry = await addSenderEntry(app.stores, actor, {
      owner: USER.email,
      sender: 'temp@short.example',
      action: 'block',
      expiresAt: soon,
    });
    expect(entry).toMatchObject({
      owner: USER.email,
      sender: 'temp@short.example',
      action: 'block',
      expiresAt: soon,
    });
    expect((await wblistOf(amavis(), USER.email))['temp@short.example']).toEqual(['B', 9]);
    expect(await expireSenderEntries(app.stores, new Date(Date.now()))).toEqual({ removed: 0 });
    expect(await expireSenderEntries(app.stores, new Date(soon.getTime() + 1000))).toEqual({ removed: 1 });
    expect((await wblistOf(amavis(), USER.email))['temp@short.example']).toBeUndefined();
    const m = amavis().t.mailaddrTable;
    expect(
      await amavis()
        .connection.db.select()
        .from(m)
        .where(eq(m.email, Buffer.from('temp@short.example'))),
    ).toEqual([]);
    const e = app.stores.console.t.senderListEntriesTable;
    expect(
      await app.stores.console.connection.db.select().from(e).where(eq(e.sender, 'temp@short.example')),
    ).toEqual([]);
    expect(await audit('senderList.expire')).toHaveLength(1);

    // from a message to an extension address (user+tag@), the entry goes to the base address
    must(
      await root.gql(
        'mutation { updateSettings(input: { recipientDelimiter: "+" }) { recipientDelimiter } }',
      ),
    );
    const extension = await addSenderEntry(app.stores, actor, {
      owner: 'u1+news@pol.example',
      sender: 'list@news.example',
      action: 'allow',
    });
    expect(extension.owner).toBe(USER.email);
    expect((await wblistOf(amavis(), USER.email))['list@news.example']).toEqual(['W', 9]);
    must(
      await root.gql('mutation { updateSettings(input: { recipientDelimiter: "" }) { recipientDelimiter } }'),
    );

    // the cleanup job expires them too (and its dry run only counts)
    const later = new Date(Date.now() + 120_000);
    await addSenderEntry(app.stores, actor, {
      owner: USER.email,
      sender: '@short.example',
      action: 'allow',
      expiresAt: later,
    });
    const after = new Date(later.getTime() + 1000);
    expect((await runCleanup(app.stores, { now: after, dryRun: true })).senderEntriesExpired).toBe(1);
    expect((await wblistOf(amavis(), USER.email))['@short.example']).toEqual(['W', 5]);
    expect((await runCleanup(app.stores, { now: after })).senderEntriesExpired).toBe(1);
    expect((await wblistOf(amavis(), USER.email))['@short.example']).toBeUndefined();
  });

  it("gives an address back to its domain's policy; its sender list stays", async () => {
    expect(errorCode(await user.gql(REMOVE_POLICY, { input: { address: USER.email } }))).toBe('FORBIDDEN');
    const removed = must(
      await admin.gql<{ removeAddressPolicy: { policy: { exists: boolean; values: { state: string }[] } } }>(
        REMOVE_POLICY,
        { input: { address: USER.email } },
      ),
    ).removeAddressPolicy.policy;
    // the row stays for the sender list, with every field inheriting
    expect(removed.exists).toBe(true);
    expect(removed.values.every((v) => v.state === 'inherit')).toBe(true);
    expect(Object.keys(await wblistOf(amavis(), USER.email)).length).toBeGreaterThan(0);
    expect(await usersRow(amavis(), USER.email)).toMatchObject({
      priority: 9,
      policy: { spamKillLevel: null },
    });
  });

  it('follows a domain rename', async () => {
    must(
      await root.gql(
        'mutation($id: ID!) { renameDomain(input: { id: $id, name: "pol2.example" }) { domain { id } } }',
        {
          id: ids['pol.example'],
        },
      ),
    );
    expect(await usersRow(amavis(), '@pol.example')).toBeNull();
    expect(await usersRow(amavis(), '@pol2.example')).toMatchObject({
      priority: 5,
      policy: { policyName: '@pol2.example', spamKillLevel: 15 },
    });
    expect(await wblistOf(amavis(), '@pol2.example')).toEqual({ 'boss@partner.example': ['W', 9] });
    const e = app.stores.console.t.senderListEntriesTable;
    const owners = await app.stores.console.connection.db
      .select({ owner: e.owner })
      .from(e)
      .where(like(e.owner, '@pol%'));
    expect(owners.map((o) => o.owner).sort()).toEqual(['@pol2.example']);
  });

  it('leaves no users, policy, wblist or mailaddr rows behind when accounts and domains go', async () => {
    // the user's address rows go with the account
    must(
      await root.gql('mutation($id: ID!) { deleteAccount(input: { id: $id }) { deletedAccountId } }', {
        id: ids.user,
      }),
    );
    expect(await usersRow(amavis(), USER.email)).toBeNull();
    const m = amavis().t.mailaddrTable;
    const senders = await amavis()
      .connection.db.select()
      .from(m)
      .where(
        inArray(
          m.email,
          ['friend@sender.example', '@spam.example', '@bulk.example'].map((s) => Buffer.from(s)),
        ),
      );
    expect(senders).toEqual([]);
    const p = amavis().t.policyTable;
    expect(await amavis().connection.db.select().from(p).where(eq(p.policyName, USER.email))).toEqual([]);

    // an address row the learning feature (or modoboa) made, in the domain, goes with the domain
    const u = amavis().t.usersTable;
    const [policy] = await amavis()
      .connection.db.select({ id: p.id })
      .from(p)
      .where(eq(p.policyName, '@pol2.example'));
    await amavis()
      .connection.db.insert(u)
      .values({
        email: Buffer.from('legacy@pol2.example'),
        priority: 7,
        policyId: policy?.id ?? 0,
      });
    for (const name of ['pol.example', 'other.example']) {
      must(
        await root.gql('mutation($id: ID!) { deleteDomain(input: { id: $id }) { deletedDomainId } }', {
          id: ids[name],
        }),
      );
    }
    expect(await lookupRowCounts(amavis())).toEqual(before);
    const e = app.stores.console.t.senderListEntriesTable;
    expect(
      await app.stores.console.connection.db
        .select()
        .from(e)
        .where(and(like(e.owner, '%pol%'))),
    ).toEqual([]);
  });
}
