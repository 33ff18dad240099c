// Accounts and domains through real GraphQL documents, run against each database (PGlite, PostgreSQL,
// MariaDB): who may see and change what, validation, and the audit trail.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import type { DatabaseUnderTest } from './quarantine-listing.shared.ts';
import { type GraphQLResponse, startTestApp, type TestApp } from './test-app.ts';

type Gql = <T = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
) => Promise<GraphQLResponse<T>>;

/** test-app's gql, with the caller's credentials (a session cookie or a Bearer token). */
function client(url: string, headers: Record<string, string> = {}): Gql {
  return async (query, variables) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as never;
  };
}

async function logIn(url: string, email: string, password: string): Promise<Gql> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      query: `mutation($input: LogInInput!) { logIn(input: $input) { __typename ... on Viewer { email } } }`,
      variables: { input: { email, password } },
    }),
  });
  const body = (await response.json()) as { data?: { logIn: { __typename: string; email?: string } } };
  expect(body.data?.logIn).toEqual({ __typename: 'Viewer', email });
  const cookie = response.headers.getSetCookie()[0]?.split(';')[0];
  if (!cookie) throw new Error(`no session cookie for ${email}`);
  return client(url, { cookie });
}

function must<T>(result: GraphQLResponse<T>): T {
  if (result.errors || !result.data) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

function expectError(result: GraphQLResponse<unknown>, code: string, message?: RegExp): void {
  expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result.errors)).toBe(code);
  if (message) expect(result.errors?.[0]?.message).toMatch(message);
}

const ACCOUNT_FIELDS = `id email displayName role addresses primaryAddress authSource disabled createdAt lastLoginAt
  administeredDomains { name }`;

interface AccountData {
  id: string;
  email: string;
  displayName: string;
  role: string;
  addresses: string[];
  primaryAddress: string | null;
  authSource: string;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
  administeredDomains: { name: string }[];
}

interface DomainData {
  id: string;
  name: string;
  aliases: string[];
  admins: { email: string }[];
}

const CREATE_ACCOUNT = `mutation($input: CreateAccountInput!) {
  createAccount(input: $input) { account { ${ACCOUNT_FIELDS} } } }`;
const UPDATE_ACCOUNT = `mutation($input: UpdateAccountInput!) {
  updateAccount(input: $input) { account { ${ACCOUNT_FIELDS} } } }`;
const DELETE_ACCOUNT = `mutation($input: DeleteAccountInput!) { deleteAccount(input: $input) { deletedAccountId } }`;
const SET_ADDRESSES = `mutation($input: SetAccountAddressesInput!) {
  setAccountAddresses(input: $input) { account { ${ACCOUNT_FIELDS} } } }`;
const LIST_ACCOUNTS = `query($first: Int, $after: String, $search: String) {
  accounts(first: $first, after: $after, search: $search) {
    edges { cursor node { ${ACCOUNT_FIELDS} } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  } }`;
const GET_ACCOUNT = `query($id: ID!) { account(id: $id) { ${ACCOUNT_FIELDS} } }`;
const DOMAIN_FIELDS = 'id name aliases admins { email }';
const LIST_DOMAINS = `{ domains { ${DOMAIN_FIELDS} } }`;
const CREATE_DOMAIN = `mutation($input: CreateDomainInput!) { createDomain(input: $input) { domain { ${DOMAIN_FIELDS} } } }`;
const RENAME_DOMAIN = `mutation($input: RenameDomainInput!) { renameDomain(input: $input) { domain { ${DOMAIN_FIELDS} } } }`;
const DELETE_DOMAIN = `mutation($input: DeleteDomainInput!) { deleteDomain(input: $input) { deletedDomainId } }`;
const ADD_ALIAS = `mutation($input: AddDomainAliasInput!) { addDomainAlias(input: $input) { domain { ${DOMAIN_FIELDS} } } }`;
const REMOVE_ALIAS = `mutation($input: RemoveDomainAliasInput!) {
  removeDomainAlias(input: $input) { domain { ${DOMAIN_FIELDS} } } }`;
const SET_ADMINS = `mutation($input: SetDomainAdminsInput!) { setDomainAdmins(input: $input) { domain { ${DOMAIN_FIELDS} } } }`;

type CreateAccountData = { createAccount: { account: AccountData } };
type UpdateAccountData = { updateAccount: { account: AccountData } };
type SetAddressesData = { setAccountAddresses: { account: AccountData } };
type ListAccountsData = {
  accounts: {
    edges: { cursor: string; node: AccountData }[];
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
  };
};
type CreateDomainData = { createDomain: { domain: DomainData } };

const ROOT = { email: 'root@admin.test', password: 'root-password-123' };
const ADMIN = { email: 'postmaster@example.com', password: 'postmaster-password-1' };
const ALICE = { email: 'alice@example.com', password: 'alice-password-12' };
const PASSWORDS = [
  ROOT.password,
  ADMIN.password,
  ALICE.password,
  'new-password-for-frank',
  'grace-password-1',
];

export function accountsSuite(open: () => Promise<DatabaseUnderTest>): void {
  let database: DatabaseUnderTest;
  let app: TestApp;
  let anonymous: Gql;
  let root: Gql;
  let domainAdmin: Gql;
  let alice: Gql;
  const ids: Record<string, string> = {};

  const audit = async (action: string, outcome?: string) => {
    const { db } = app.stores.console.connection;
    const t = app.stores.console.t.auditLogTable;
    const rows = await db
      .select()
      .from(t)
      .where(and(eq(t.action, action), outcome ? eq(t.outcome, outcome) : undefined))
      .orderBy(t.id);
    // MariaDB's JSON is LONGTEXT: mysql2 hands back the text
    return rows.map((row) => ({
      ...row,
      detail: typeof row.detail === 'string' ? (JSON.parse(row.detail) as unknown) : row.detail,
    }));
  };

  const accountEmails = async (gql: Gql) =>
    must(await gql<ListAccountsData>(LIST_ACCOUNTS, { first: 500 })).accounts.edges.map((e) => e.node.email);

  const createUser = async (gql: Gql, input: Record<string, unknown>) =>
    must(await gql<CreateAccountData>(CREATE_ACCOUNT, { input })).createAccount.account;

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    app = await startTestApp(database.env);
    anonymous = client(app.url);
    await createSuperadmin(app.stores.console, ROOT, { onlyIfNoAccounts: true });
    root = await logIn(app.url, ROOT.email, ROOT.password);
    for (const name of ['example.com', 'example.org', 'other.test']) {
      ids[name] = must(
        await root<CreateDomainData>(CREATE_DOMAIN, { input: { name } }),
      ).createDomain.domain.id;
    }
    must(await root(ADD_ALIAS, { input: { domainId: ids['example.com'], name: 'example-mail.com' } }));
    ids.admin = (await createUser(root, { ...ADMIN, role: 'domainadmin', displayName: 'Postmaster' })).id;
    must(await root(SET_ADMINS, { input: { domainId: ids['example.com'], accountIds: [ids.admin] } }));
    ids.alice = (await createUser(root, { ...ALICE, addresses: ['alice@example-mail.com'] })).id;
    ids.bob = (await createUser(root, { email: 'bob@other.test', role: 'user' })).id;
    ids.carol = (
      await createUser(root, { email: 'carol@example.org', role: 'user', password: 'carol-password-1' })
    ).id;
    domainAdmin = await logIn(app.url, ADMIN.email, ADMIN.password);
    alice = await logIn(app.url, ALICE.email, ALICE.password);
  });

  afterAll(async () => {
    await app?.close();
    await database?.dispose();
  });

  it('lets a superadmin set up domains, a domain admin and users', async () => {
    const domains = must(await root<{ domains: DomainData[] }>(LIST_DOMAINS)).domains;
    expect(domains.map((d) => d.name)).toEqual(['example.com', 'example.org', 'other.test']);
    expect(domains[0]).toMatchObject({ aliases: ['example-mail.com'], admins: [{ email: ADMIN.email }] });

    const admin = must(await root<{ account: AccountData }>(GET_ACCOUNT, { id: ids.admin })).account;
    expect(admin).toMatchObject({
      email: ADMIN.email,
      displayName: 'Postmaster',
      role: 'domainadmin',
      authSource: 'local',
      disabled: false,
      addresses: [ADMIN.email],
      administeredDomains: [{ name: 'example.com' }],
    });
    const aliceAccount = must(await root<{ account: AccountData }>(GET_ACCOUNT, { id: ids.alice })).account;
    expect(aliceAccount).toMatchObject({
      role: 'user',
      primaryAddress: ALICE.email,
      addresses: [ALICE.email, 'alice@example-mail.com'],
      administeredDomains: [],
    });
    expect(aliceAccount.lastLoginAt).not.toBeNull();
    const bob = must(await root<{ account: AccountData }>(GET_ACCOUNT, { id: ids.bob })).account;
    expect(bob).toMatchObject({ authSource: 'imap', addresses: ['bob@other.test'] });

    expect(await accountEmails(root)).toEqual([
      ALICE.email,
      'bob@other.test',
      'carol@example.org',
      ADMIN.email,
      ROOT.email,
    ]);
    // Pages follow one another in email order, without gaps or repeats.
    const first = must(await root<ListAccountsData>(LIST_ACCOUNTS, { first: 2 })).accounts;
    expect(first.edges.map((e) => e.node.email)).toEqual([ALICE.email, 'bob@other.test']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const next = must(
      await root<ListAccountsData>(LIST_ACCOUNTS, { first: 2, after: first.pageInfo.endCursor }),
    ).accounts;
    expect(next.edges.map((e) => e.node.email)).toEqual(['carol@example.org', ADMIN.email]);
    expect(next.pageInfo.hasPreviousPage).toBe(true);
    const searched = must(await root<ListAccountsData>(LIST_ACCOUNTS, { search: 'POSTMAS' })).accounts;
    expect(searched.edges.map((e) => e.node.email)).toEqual([ADMIN.email]);
    expectError(await root(LIST_ACCOUNTS, { after: 'garbage!' }), 'BAD_USER_INPUT', /invalid cursor/);

    // The domain admin's own view of itself includes its domains, aliases and all.
    const viewer = must(await domainAdmin<{ viewer: { domains: string[] } }>('{ viewer { domains } }'));
    expect(viewer.viewer.domains).toEqual(['example-mail.com', 'example.com']);

    const created = await audit('account.create', 'success');
    expect(created.map((row) => [row.target, row.domain])).toEqual(
      expect.arrayContaining([
        [ADMIN.email, 'example.com'],
        [ALICE.email, 'example.com'],
        [ALICE.email, 'example-mail.com'],
        ['bob@other.test', 'other.test'],
      ]),
    );
    expect((await audit('domain.create', 'success')).map((row) => row.domain)).toEqual([
      'example.com',
      'example.org',
      'other.test',
    ]);
    expect((await audit('domain.alias.add', 'success'))[0]).toMatchObject({
      target: 'example-mail.com (alias of example.com)',
      actor: ROOT.email,
    });
    const admins = await audit('domain.admins', 'success');
    expect(admins[0]).toMatchObject({ domain: 'example.com', detail: { from: [], to: [ADMIN.email] } });
  });

  it('shows a domain admin only the users of its domains, alias domains included', async () => {
    expect(await accountEmails(domainAdmin)).toEqual([ALICE.email]);
    // A user whose login lies elsewhere but who owns an address in an alias domain is in view.
    const dave = await createUser(root, {
      email: 'dave@other.test',
      role: 'user',
      primaryAddress: 'dave@example-mail.com',
    });
    expect(await accountEmails(domainAdmin)).toEqual([ALICE.email, 'dave@other.test']);
    expect(
      must(await domainAdmin<{ account: AccountData | null }>(GET_ACCOUNT, { id: dave.id })).account?.email,
    ).toBe('dave@other.test');
    for (const hidden of [ids.bob, ids.carol]) {
      expect(
        must(await domainAdmin<{ account: AccountData | null }>(GET_ACCOUNT, { id: hidden })).account,
      ).toBeNull();
    }
    const self = must(await root<{ account: AccountData }>(GET_ACCOUNT, { id: ids.admin })).account;
    expect(
      must(await domainAdmin<{ account: AccountData | null }>(GET_ACCOUNT, { id: ids.admin })).account,
    ).toEqual(self);
    // Superadmins stay out of sight, by list, by ID and through node().
    const rootId = must(await root<ListAccountsData>(LIST_ACCOUNTS, { search: 'root@' })).accounts.edges[0]
      ?.node.id;
    expect(
      must(await domainAdmin<{ account: AccountData | null }>(GET_ACCOUNT, { id: rootId })).account,
    ).toBeNull();
    const node = await domainAdmin<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', {
      id: rootId,
    });
    expect(node.data?.node ?? null).toBeNull();

    const domains = must(await domainAdmin<{ domains: DomainData[] }>(LIST_DOMAINS)).domains;
    expect(domains).toEqual([
      {
        id: ids['example.com'],
        name: 'example.com',
        aliases: ['example-mail.com'],
        admins: [{ email: ADMIN.email }],
      },
    ]);
    must(await root(DELETE_ACCOUNT, { input: { id: dave.id } }));
  });

  it('lets a domain admin create users in its domains, and nothing else', async () => {
    const erin = await createUser(domainAdmin, {
      email: 'Erin@Example.com',
      role: 'user',
      password: 'erin-password-1',
      addresses: ['erin@EXAMPLE-mail.com'],
    });
    expect(erin).toMatchObject({
      email: 'erin@example.com',
      role: 'user',
      addresses: ['erin@example.com', 'erin@example-mail.com'],
    });

    expectError(
      await domainAdmin(CREATE_ACCOUNT, { input: { email: 'mallory@other.test', role: 'user' } }),
      'FORBIDDEN',
      /other\.test is not a domain you administer/,
    );
    expectError(
      await domainAdmin(CREATE_ACCOUNT, {
        input: { email: 'mallory@example.com', role: 'user', addresses: ['bob-copy@other.test'] },
      }),
      'FORBIDDEN',
      /other\.test is not a domain you administer/,
    );
    expectError(
      await domainAdmin(CREATE_ACCOUNT, { input: { email: 'boss@example.com', role: 'domainadmin' } }),
      'FORBIDDEN',
      /only users/,
    );
    expectError(
      await domainAdmin(CREATE_ACCOUNT, { input: { email: 'boss@example.com', role: 'superadmin' } }),
      'FORBIDDEN',
    );
    const emails = await accountEmails(root);
    expect(emails).toContain('erin@example.com');
    expect(emails).not.toContain('mallory@example.com');
    expect(emails).not.toContain('mallory@other.test');
    expect(emails).not.toContain('boss@example.com');

    const success = (await audit('account.create', 'success')).filter(
      (row) => row.target === 'erin@example.com',
    );
    expect(success.map((row) => [row.actor, row.domain])).toEqual([
      [ADMIN.email, 'example.com'],
      [ADMIN.email, 'example-mail.com'],
    ]);
    const denied = (await audit('account.create', 'denied')).filter((row) => row.actor === ADMIN.email);
    expect(denied.map((row) => row.target)).toEqual([
      'mallory@other.test',
      'mallory@example.com',
      'mallory@example.com',
      'boss@example.com',
      'boss@example.com',
    ]);
    expect(denied.find((row) => row.target === 'mallory@other.test')?.domain).toBe('other.test');
    must(await domainAdmin(DELETE_ACCOUNT, { input: { id: erin.id } }));
  });

  it('keeps a domain admin away from superadmins, other admins and roles', async () => {
    const rootId = (await root<ListAccountsData>(LIST_ACCOUNTS, { search: 'root@' })).data?.accounts.edges[0]
      ?.node.id;
    expectError(
      await domainAdmin(UPDATE_ACCOUNT, { input: { id: rootId, displayName: 'pwned' } }),
      'FORBIDDEN',
      /only the users of their domains/,
    );
    expectError(
      await domainAdmin(UPDATE_ACCOUNT, { input: { id: rootId, password: 'x'.repeat(20) } }),
      'FORBIDDEN',
    );
    expectError(await domainAdmin(DELETE_ACCOUNT, { input: { id: rootId } }), 'FORBIDDEN');
    expectError(
      await domainAdmin(SET_ADDRESSES, { input: { id: rootId, primary: 'root@example.com', addresses: [] } }),
      'FORBIDDEN',
    );
    expectError(
      await domainAdmin(UPDATE_ACCOUNT, { input: { id: ids.admin, displayName: 'Me' } }),
      'FORBIDDEN',
    );
    expectError(
      await domainAdmin(UPDATE_ACCOUNT, { input: { id: ids.alice, role: 'domainadmin' } }),
      'FORBIDDEN',
      /cannot change roles/,
    );
    // Users of other domains are refused the same way, whether or not they exist.
    expectError(await domainAdmin(UPDATE_ACCOUNT, { input: { id: ids.bob, displayName: 'B' } }), 'FORBIDDEN');
    const root2 = must(await root<{ account: AccountData }>(GET_ACCOUNT, { id: rootId })).account;
    expect(root2).toMatchObject({ displayName: '', role: 'superadmin' });
    expect(must(await root<{ account: AccountData }>(GET_ACCOUNT, { id: ids.alice })).account.role).toBe(
      'user',
    );

    const renamed = must(
      await domainAdmin<UpdateAccountData>(UPDATE_ACCOUNT, {
        input: { id: ids.alice, displayName: 'Alice A.' },
      }),
    ).updateAccount.account;
    expect(renamed.displayName).toBe('Alice A.');

    const denied = await audit('account.update', 'denied');
    expect(denied.filter((row) => row.target === ROOT.email && row.actor === ADMIN.email)).toHaveLength(2);
    expect(denied.find((row) => row.target === ALICE.email)).toMatchObject({
      domain: 'example.com',
      detail: { reason: 'domain admins cannot change roles' },
    });
    expect(await audit('account.delete', 'denied')).toEqual([
      expect.objectContaining({ actor: ADMIN.email, target: ROOT.email }),
    ]);
    expect((await audit('account.update', 'success')).at(-1)).toMatchObject({
      actor: ADMIN.email,
      target: ALICE.email,
      detail: { displayName: { from: '', to: 'Alice A.' } },
    });
  });

  it('lets a domain admin give users addresses in its domains only', async () => {
    const frank = await createUser(domainAdmin, { email: 'frank@example.com', role: 'user' });
    expectError(
      await domainAdmin(SET_ADDRESSES, {
        input: { id: frank.id, primary: 'frank@example.com', addresses: ['bob@other.test'] },
      }),
      'FORBIDDEN',
      /other\.test is not a domain you administer/,
    );
    expectError(
      await domainAdmin(SET_ADDRESSES, { input: { id: ids.bob, primary: 'bob@example.com', addresses: [] } }),
      'FORBIDDEN',
    );
    expect(
      must(await root<{ account: AccountData }>(GET_ACCOUNT, { id: frank.id })).account.addresses,
    ).toEqual(['frank@example.com']);
    expect(
      must(await root<{ account: AccountData }>(GET_ACCOUNT, { id: ids.bob })).account.addresses,
    ).toEqual(['bob@other.test']);

    const changed = must(
      await domainAdmin<SetAddressesData>(SET_ADDRESSES, {
        input: { id: frank.id, primary: 'Frank.Smith@EXAMPLE.com', addresses: ['frank@example-mail.com'] },
      }),
    ).setAccountAddresses.account;
    expect(changed.addresses).toEqual(['frank.smith@example.com', 'frank@example-mail.com']);
    expect(changed.primaryAddress).toBe('frank.smith@example.com');

    // An address belongs to one account.
    expectError(
      await domainAdmin(SET_ADDRESSES, { input: { id: frank.id, primary: ALICE.email, addresses: [] } }),
      'BAD_USER_INPUT',
      /addresses: alice@example\.com already belongs to another account/,
    );

    const denied = (await audit('account.addresses', 'denied'))
      .filter((row) => row.target !== ROOT.email)
      .map((row) => [row.target, row.domain]);
    expect(denied).toEqual([
      ['frank@example.com', 'example.com'],
      ['frank@example.com', 'other.test'],
      ['bob@other.test', 'other.test'],
    ]);
    const success = (await audit('account.addresses', 'success')).filter(
      (row) => row.target === 'frank@example.com',
    );
    expect(success.map((row) => row.domain).sort()).toEqual(['example-mail.com', 'example.com']);
    expect(success[0]?.detail).toEqual({
      from: ['frank@example.com'],
      to: ['frank.smith@example.com', 'frank@example-mail.com'],
    });
    must(await root(DELETE_ACCOUNT, { input: { id: frank.id } }));
  });

  it('refuses users and anonymous callers', async () => {
    expectError(await alice(LIST_ACCOUNTS), 'FORBIDDEN');
    expectError(await alice(LIST_DOMAINS), 'FORBIDDEN');
    expectError(
      await alice(CREATE_ACCOUNT, { input: { email: 'x@example.com', role: 'user' } }),
      'FORBIDDEN',
    );
    expectError(
      await alice(SET_ADDRESSES, {
        input: { id: ids.alice, primary: ALICE.email, addresses: ['bob@other.test'] },
      }),
      'FORBIDDEN',
    );
    expectError(await alice(CREATE_DOMAIN, { input: { name: 'alice.test' } }), 'FORBIDDEN');
    expect(
      must(await root<{ account: AccountData }>(GET_ACCOUNT, { id: ids.alice })).account.addresses,
    ).toEqual([ALICE.email, 'alice@example-mail.com']);
    // A user sees its own account, and no other.
    expect(
      must(await alice<{ account: AccountData | null }>(GET_ACCOUNT, { id: ids.alice })).account?.email,
    ).toBe(ALICE.email);
    expect(
      must(await alice<{ account: AccountData | null }>(GET_ACCOUNT, { id: ids.bob })).account,
    ).toBeNull();

    for (const [query, variables] of [
      [LIST_ACCOUNTS, {}],
      [LIST_DOMAINS, {}],
      [GET_ACCOUNT, { id: ids.alice }],
      [CREATE_ACCOUNT, { input: { email: 'x@example.com', role: 'user' } }],
      [DELETE_ACCOUNT, { input: { id: ids.alice } }],
      [CREATE_DOMAIN, { input: { name: 'anon.test' } }],
    ] as const) {
      expectError(await anonymous(query, variables), 'UNAUTHENTICATED');
    }
    expect(await audit('account.list', 'denied')).toEqual([expect.objectContaining({ actor: ALICE.email })]);
    expect(await audit('domain.list', 'denied')).toEqual([expect.objectContaining({ actor: ALICE.email })]);
    expect((await audit('account.create', 'denied')).filter((row) => row.actor === ALICE.email)).toHaveLength(
      1,
    );
    expect(
      (await audit('account.addresses', 'denied')).filter((row) => row.actor === ALICE.email),
    ).toHaveLength(1);
    expect(await accountEmails(root)).not.toContain('x@example.com');
  });

  it('keeps domain management to superadmins', async () => {
    expectError(await domainAdmin(CREATE_DOMAIN, { input: { name: 'mine.test' } }), 'FORBIDDEN');
    expectError(
      await domainAdmin(ADD_ALIAS, { input: { domainId: ids['example.com'], name: 'grab.test' } }),
      'FORBIDDEN',
    );
    expectError(
      await domainAdmin(SET_ADMINS, { input: { domainId: ids['other.test'], accountIds: [ids.admin] } }),
      'FORBIDDEN',
    );
    const names = must(await root<{ domains: DomainData[] }>(LIST_DOMAINS)).domains.map((d) => d.name);
    expect(names).not.toContain('mine.test');
    expect(
      must(await domainAdmin<{ domains: DomainData[] }>(LIST_DOMAINS)).domains.map((d) => d.name),
    ).toEqual(['example.com']);
  });

  it('never deletes or demotes the last superadmin, nor lets anyone delete themselves', async () => {
    const rootId = (await root<ListAccountsData>(LIST_ACCOUNTS, { search: 'root@' })).data?.accounts.edges[0]
      ?.node.id;
    expectError(
      await root(DELETE_ACCOUNT, { input: { id: rootId } }),
      'BAD_USER_INPUT',
      /root@admin\.test is the last active superadmin and cannot be deleted/,
    );
    expectError(
      await root(UPDATE_ACCOUNT, { input: { id: rootId, role: 'user' } }),
      'BAD_USER_INPUT',
      /role: root@admin\.test is the last active superadmin/,
    );
    expectError(
      await root(UPDATE_ACCOUNT, { input: { id: rootId, disabled: true } }),
      'BAD_USER_INPUT',
      /disabled: you cannot disable your own account/,
    );
    expect(must(await root<{ account: AccountData }>(GET_ACCOUNT, { id: rootId })).account).toMatchObject({
      role: 'superadmin',
      disabled: false,
    });

    const second = await createUser(root, {
      email: 'root2@admin.test',
      role: 'superadmin',
      password: 'r'.repeat(12),
    });
    expectError(await root(DELETE_ACCOUNT, { input: { id: rootId } }), 'BAD_USER_INPUT', /your own account/);
    // With a second one disabled, the first is still the last active superadmin.
    must(await root(UPDATE_ACCOUNT, { input: { id: second.id, disabled: true } }));
    expectError(
      await root(UPDATE_ACCOUNT, { input: { id: rootId, role: 'domainadmin' } }),
      'BAD_USER_INPUT',
      /last active superadmin/,
    );
    const deleted = must(
      await root<{ deleteAccount: { deletedAccountId: string } }>(DELETE_ACCOUNT, {
        input: { id: second.id },
      }),
    );
    expect(deleted.deleteAccount.deletedAccountId).toBe(second.id);
    expect(
      must(await root<{ account: AccountData | null }>(GET_ACCOUNT, { id: second.id })).account,
    ).toBeNull();
    expect((await audit('account.delete', 'success')).map((row) => row.target)).toContain('root2@admin.test');
  });

  it('refuses duplicates and malformed names with a message naming the field', async () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [CREATE_DOMAIN, { input: { name: 'example.com' } }, /^name: the domain example\.com already exists$/],
      [CREATE_DOMAIN, { input: { name: 'EXAMPLE.com.' } }, /^name: the domain example\.com already exists$/],
      [
        CREATE_DOMAIN,
        { input: { name: 'example-mail.com' } },
        /^name: example-mail\.com is already an alias of example\.com$/,
      ],
      [CREATE_DOMAIN, { input: { name: 'not a domain' } }, /^name: .*not a domain name/],
      [CREATE_DOMAIN, { input: { name: '-bad-.test' } }, /^name: .*not a domain name/],
      [CREATE_DOMAIN, { input: { name: 'localhost' } }, /^name: .*at least two labels/],
      [CREATE_DOMAIN, { input: { name: '' } }, /^name: /],
      [
        ADD_ALIAS,
        { input: { domainId: ids['example.org'], name: 'example.com' } },
        /^name: the domain example\.com already exists$/,
      ],
      [
        ADD_ALIAS,
        { input: { domainId: ids['example.org'], name: 'Example-Mail.com' } },
        /^name: example-mail\.com is already an alias of example\.com$/,
      ],
      [
        CREATE_ACCOUNT,
        { input: { email: 'ALICE@example.com', role: 'user' } },
        /^email: an account alice@example\.com already exists$/,
      ],
      [
        CREATE_ACCOUNT,
        { input: { email: 'alice2@example.com', role: 'user', addresses: ['alice@EXAMPLE-mail.com'] } },
        /^addresses: alice@example-mail\.com already belongs to another account$/,
      ],
      [CREATE_ACCOUNT, { input: { email: 'not-an-address', role: 'user' } }, /^email: .*not a mail address/],
      [
        CREATE_ACCOUNT,
        { input: { email: 'gina@example.com', role: 'user', addresses: ['no-at-sign'] } },
        /^addresses: .*not an address/,
      ],
      [
        CREATE_ACCOUNT,
        { input: { email: 'gina@example.com', role: 'user', password: 'short' } },
        /^password: the password must have at least 10 characters$/,
      ],
      [
        SET_ADMINS,
        { input: { domainId: ids['example.org'], accountIds: [ids.alice] } },
        /^accountIds: alice@example\.com is not a domain admin/,
      ],
      [
        RENAME_DOMAIN,
        { input: { id: ids['example.org'], name: 'other.test' } },
        /^name: the domain other\.test already exists$/,
      ],
    ];
    for (const [query, variables, message] of cases) {
      expectError(await root(query, variables), 'BAD_USER_INPUT', message);
    }
    const names = must(await root<{ domains: DomainData[] }>(LIST_DOMAINS)).domains.map((d) => d.name);
    expect(names).toEqual(['example.com', 'example.org', 'other.test']);
    expect(await accountEmails(root)).not.toContain('gina@example.com');
  });

  it('stores IDN domains in ASCII form, and renames, aliases and deletes domains with an audit trail', async () => {
    const created = must(await root<CreateDomainData>(CREATE_DOMAIN, { input: { name: 'Bücher.Example' } }))
      .createDomain.domain;
    expect(created.name).toBe('xn--bcher-kva.example');
    const renamed = must(
      await root<{ renameDomain: { domain: DomainData } }>(RENAME_DOMAIN, {
        input: { id: created.id, name: 'books.example' },
      }),
    ).renameDomain.domain;
    expect(renamed).toMatchObject({ id: created.id, name: 'books.example' });
    const aliased = must(
      await root<{ addDomainAlias: { domain: DomainData } }>(ADD_ALIAS, {
        input: { domainId: created.id, name: 'bücher.example' },
      }),
    ).addDomainAlias.domain;
    expect(aliased.aliases).toEqual(['xn--bcher-kva.example']);
    expectError(
      await root(REMOVE_ALIAS, { input: { domainId: ids['example.org'], name: 'xn--bcher-kva.example' } }),
      'BAD_USER_INPUT',
      /^name: xn--bcher-kva\.example is not an alias of example\.org$/,
    );
    const unaliased = must(
      await root<{ removeDomainAlias: { domain: DomainData } }>(REMOVE_ALIAS, {
        input: { domainId: created.id, name: 'xn--bcher-kva.example' },
      }),
    ).removeDomainAlias.domain;
    expect(unaliased.aliases).toEqual([]);
    must(await root(DELETE_DOMAIN, { input: { id: created.id } }));
    expect(
      must(await root<{ domains: DomainData[] }>(LIST_DOMAINS)).domains.map((d) => d.name),
    ).not.toContain('books.example');
    expectError(
      await root(DELETE_DOMAIN, { input: { id: created.id } }),
      'BAD_USER_INPUT',
      /^id: no such domain$/,
    );

    expect((await audit('domain.rename', 'success'))[0]).toMatchObject({
      detail: { from: 'xn--bcher-kva.example', to: 'books.example' },
    });
    expect((await audit('domain.alias.remove', 'success'))[0]?.target).toBe(
      'xn--bcher-kva.example (alias of books.example)',
    );
    expect((await audit('domain.delete', 'success'))[0]).toMatchObject({
      target: 'books.example',
      domain: 'books.example',
    });
  });

  it('ends the sessions of a disabled account and of one whose password is reset', async () => {
    const grace = await createUser(root, {
      email: 'grace@example.com',
      role: 'user',
      password: 'grace-password-1',
    });
    const viewer = '{ viewer { kind email } }';
    const first = await logIn(app.url, 'grace@example.com', 'grace-password-1');
    expect(must(await first<{ viewer: { kind: string } }>(viewer)).viewer.kind).toBe('account');
    must(await domainAdmin(UPDATE_ACCOUNT, { input: { id: grace.id, disabled: true } }));
    expect(must(await first<{ viewer: { kind: string } }>(viewer)).viewer.kind).toBe('anonymous');

    must(await domainAdmin(UPDATE_ACCOUNT, { input: { id: grace.id, disabled: false } }));
    // Enabled again, the old session stays ended: it was deleted, not merely refused.
    expect(must(await first<{ viewer: { kind: string } }>(viewer)).viewer.kind).toBe('anonymous');
    const second = await logIn(app.url, 'grace@example.com', 'grace-password-1');
    const reset = must(
      await domainAdmin<UpdateAccountData>(UPDATE_ACCOUNT, {
        input: { id: grace.id, password: 'new-password-for-frank' },
      }),
    ).updateAccount.account;
    expect(reset.authSource).toBe('local');
    expect(must(await second<{ viewer: { kind: string } }>(viewer)).viewer.kind).toBe('anonymous');
    await logIn(app.url, 'grace@example.com', 'new-password-for-frank');

    const updates = (await audit('account.update', 'success')).filter(
      (row) => row.target === 'grace@example.com',
    );
    expect(updates.map((row) => row.detail)).toEqual([
      { disabled: { from: false, to: true } },
      { disabled: { from: true, to: false } },
      { credentials: 'reset', authSource: 'local' },
    ]);
    must(await root(DELETE_ACCOUNT, { input: { id: grace.id } }));
  });

  it('refuses changes through a read-only API token', async () => {
    const created = must(
      await root<{ createApiToken: { secret: string } }>(
        'mutation { createApiToken(input: { name: "reader", access: read }) { secret } }',
      ),
    );
    const reader = client(app.url, { authorization: `Bearer ${created.createApiToken.secret}` });
    expect(await accountEmails(reader)).toContain(ALICE.email);
    expectError(
      await reader(CREATE_ACCOUNT, { input: { email: 'token@example.com', role: 'user' } }),
      'FORBIDDEN',
    );
    expectError(await reader(CREATE_DOMAIN, { input: { name: 'token.test' } }), 'FORBIDDEN');
    expect(await accountEmails(root)).not.toContain('token@example.com');
  });

  it('never writes a password into the audit trail', async () => {
    const { db } = app.stores.console.connection;
    const rows = await db.select().from(app.stores.console.t.auditLogTable);
    expect(rows.length).toBeGreaterThan(20);
    const text = JSON.stringify(rows);
    for (const password of PASSWORDS) expect(text).not.toContain(password);
    expect(text).not.toContain('$argon2');
  });
}
