// The access matrix: every operation the API has × every kind of caller, allow or deny, run on each
// database. A new operation adds a row here; a row's expectations are the specification.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { addAccount, addMessage, mailIdAndSecret } from './factories.ts';
import { type Client, createClient, errorCode, logInAs } from './graphql-client.ts';
import type { DatabaseUnderTest } from './quarantine-listing.shared.ts';
import { startTestApp, type TestApp } from './test-app.ts';

export const PRINCIPALS = [
  'anonymous',
  'user',
  'otherUser',
  'domainAdmin',
  'otherDomainAdmin',
  'superadmin',
  'userToken',
  'otherUserToken',
  'domainAdminToken',
  'otherDomainAdminToken',
  'superadminToken',
  'selfService',
  'selfServiceWrongSecret',
  'selfServiceDisabled',
] as const;
export type Principal = (typeof PRINCIPALS)[number];

type Outcome = 'allow' | 'deny';

export interface World {
  app: TestApp;
  clients: Record<Principal, Client>;
  /** Global IDs of one entry per mailbox: alice@x.test, bob@x.test, carol@y.test. */
  entries: { alice: string; bob: string; carol: string };
  mailIds: { alice: string; bob: string; carol: string };
  /** Global IDs of alice@x.test's account and of the x.test and y.test domains. */
  aliceAccount: string;
  domains: Record<string, string>;
  /** Per principal, things it may try to destroy: an account, a domain, an alias of x.test. */
  targets: Record<Principal, { account: string; domain: string; alias: string }>;
  superadminTokenId: number;
  /** Everything secret the world created, to prove none of it leaks into logs or errors. */
  secrets: string[];
  logs: string[];
}

export interface Operation {
  name: string;
  allowed: readonly Principal[];
  run(client: Client, world: World, principal: Principal): Promise<Outcome>;
}

const PASSWORDS = {
  root: 'root-password-7f3a9',
  alice: 'alice-password-91c2',
  bob: 'bob-password-5d7e1',
  xadmin: 'xadmin-password-2b8f',
  yadmin: 'yadmin-password-c4a6',
};

/** UNAUTHENTICATED/FORBIDDEN is a deny; any other error is a test failure, not an outcome. */
function gate(response: {
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}): Outcome | null {
  const code = errorCode(response);
  if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') return 'deny';
  if (response.errors) throw new Error(`unexpected error: ${JSON.stringify(response.errors)}`);
  return null;
}

const LIST = '{ quarantine(first: 100) { edges { node { id mailId recipient } } } }';

function seesInList(entry: keyof World['entries']): Operation['run'] {
  return async (client, world) => {
    const response = await client.gql<{ quarantine: { edges: { node: { id: string } }[] } }>(LIST);
    const gated = gate(response);
    if (gated) return gated;
    const ids = response.data?.quarantine.edges.map((e) => e.node.id) ?? [];
    return ids.includes(world.entries[entry]) ? 'allow' : 'deny';
  };
}

const ACCOUNTS: Principal[] = [
  'user',
  'otherUser',
  'domainAdmin',
  'otherDomainAdmin',
  'superadmin',
  'userToken',
  'otherUserToken',
  'domainAdminToken',
  'otherDomainAdminToken',
  'superadminToken',
];
const SUPERADMINS: Principal[] = ['superadmin', 'superadminToken'];
/** Who may see alice@x.test's mail: alice, the admins of x.test, superadmins and alice's self-service link. */
const ALICE_VIEWERS: Principal[] = [
  'user',
  'userToken',
  'domainAdmin',
  'domainAdminToken',
  'superadmin',
  'superadminToken',
  'selfService',
];
const X_ADMINS: Principal[] = [...SUPERADMINS, 'domainAdmin', 'domainAdminToken'];

export const OPERATIONS: Operation[] = [
  {
    name: 'query viewer',
    allowed: PRINCIPALS,
    run: async (client) => gate(await client.gql('{ viewer { kind } }')) ?? 'allow',
  },
  {
    name: "list alice@x.test's message",
    allowed: ALICE_VIEWERS,
    run: seesInList('alice'),
  },
  {
    name: "list bob@x.test's message",
    allowed: [
      'otherUser',
      'otherUserToken',
      'domainAdmin',
      'domainAdminToken',
      'superadmin',
      'superadminToken',
    ],
    run: seesInList('bob'),
  },
  {
    name: "list carol@y.test's message",
    allowed: ['otherDomainAdmin', 'otherDomainAdminToken', 'superadmin', 'superadminToken'],
    run: seesInList('carol'),
  },
  {
    name: "open alice@x.test's entry by global ID",
    allowed: ALICE_VIEWERS,
    run: async (client, world) => {
      const response = await client.gql<{ node: { id: string } | null }>(
        'query($id: ID!) { node(id: $id) { id } }',
        {
          id: world.entries.alice,
        },
      );
      return gate(response) ?? (response.data?.node ? 'allow' : 'deny');
    },
  },
  {
    name: "query message(id): open alice@x.test's message",
    allowed: ALICE_VIEWERS,
    run: async (client, world) => {
      const response = await client.gql<{ message: { id: string } | null }>(
        'query($id: ID!) { message(id: $id) { id } }',
        {
          id: world.entries.alice,
        },
      );
      return gate(response) ?? (response.data?.message ? 'allow' : 'deny');
    },
  },
  {
    name: "GET /messages/<id>/raw of alice@x.test's message",
    allowed: ALICE_VIEWERS,
    run: async (client, world) => {
      const status = await client.fetchStatus(`/messages/${encodeURIComponent(world.entries.alice)}/raw`);
      if (status === 200) return 'allow';
      if (status === 401 || status === 404) return 'deny';
      throw new Error(`unexpected status ${status}`);
    },
  },
  {
    name: 'query apiTokens',
    allowed: ACCOUNTS,
    run: async (client) => gate(await client.gql('{ apiTokens { id } }')) ?? 'allow',
  },
  {
    name: 'query settings',
    allowed: SUPERADMINS,
    run: async (client) => gate(await client.gql('{ settings { selfService } }')) ?? 'allow',
  },
  {
    name: 'mutation updateSettings',
    allowed: SUPERADMINS,
    run: async (client) =>
      gate(
        await client.gql('mutation { updateSettings(input: { maxMessagesAge: 14 }) { maxMessagesAge } }'),
      ) ?? 'allow',
  },
  {
    name: 'mutation createApiToken',
    allowed: ACCOUNTS,
    run: async (client, world) => {
      const response = await client.gql<{ createApiToken: { secret: string } }>(
        'mutation { createApiToken(input: { name: "matrix", access: read }) { secret } }',
      );
      const gated = gate(response);
      if (gated) return gated;
      if (response.data?.createApiToken.secret) world.secrets.push(response.data.createApiToken.secret);
      return 'allow';
    },
  },
  {
    name: 'query accounts (finds alice@x.test)',
    allowed: X_ADMINS,
    run: async (client) => {
      const response = await client.gql<{ accounts: { edges: { node: { email: string } }[] } }>(
        '{ accounts(first: 100) { edges { node { email } } } }',
      );
      return (
        gate(response) ??
        (response.data?.accounts.edges.some((e) => e.node.email === 'alice@x.test') ? 'allow' : 'deny')
      );
    },
  },
  {
    name: 'query domains (finds x.test)',
    allowed: X_ADMINS,
    run: async (client) => {
      const response = await client.gql<{ domains: { name: string }[] }>('{ domains { name } }');
      return gate(response) ?? (response.data?.domains.some((d) => d.name === 'x.test') ? 'allow' : 'deny');
    },
  },
  {
    name: 'mutation createDomain',
    allowed: SUPERADMINS,
    run: async (client, _world, principal) =>
      gate(
        await client.gql(
          'mutation($name: String!) { createDomain(input: { name: $name }) { domain { name } } }',
          {
            name: `${principal.toLowerCase()}.matrix.test`,
          },
        ),
      ) ?? 'allow',
  },
  {
    name: 'mutation createAccount (a user in x.test)',
    allowed: X_ADMINS,
    run: async (client, _world, principal) =>
      gate(
        await client.gql(
          'mutation($email: String!) { createAccount(input: { email: $email, role: user, password: "new-user-password-1" }) { account { email } } }',
          { email: `new-${principal.toLowerCase()}@x.test` },
        ),
      ) ?? 'allow',
  },
  {
    name: "mutation updateAccount (alice@x.test's display name)",
    allowed: X_ADMINS,
    run: async (client, world, principal) =>
      gate(
        await client.gql(
          'mutation($id: ID!, $name: String!) { updateAccount(input: { id: $id, displayName: $name }) { account { displayName } } }',
          { id: world.aliceAccount, name: `renamed by ${principal}` },
        ),
      ) ?? 'allow',
  },
  {
    name: 'query auditLog',
    allowed: ACCOUNTS,
    run: async (client) =>
      gate(await client.gql('{ auditLog(first: 5) { edges { node { action } } } }')) ?? 'allow',
  },
  {
    name: 'query account(id) of alice@x.test',
    allowed: [...X_ADMINS, 'user', 'userToken'],
    run: async (client, world) => {
      const response = await client.gql<{ account: { email: string } | null }>(
        'query($id: ID!) { account(id: $id) { email } }',
        { id: world.aliceAccount },
      );
      return gate(response) ?? (response.data?.account ? 'allow' : 'deny');
    },
  },
  {
    name: 'mutation deleteAccount (a user in x.test)',
    allowed: X_ADMINS,
    run: async (client, world, principal) =>
      gate(
        await client.gql('mutation($id: ID!) { deleteAccount(input: { id: $id }) { deletedAccountId } }', {
          id: world.targets[principal].account,
        }),
      ) ?? 'allow',
  },
  {
    name: "mutation setAccountAddresses (alice@x.test's, unchanged)",
    allowed: X_ADMINS,
    run: async (client, world) =>
      gate(
        await client.gql(
          'mutation($id: ID!) { setAccountAddresses(input: { id: $id, primary: "alice@x.test", addresses: [] }) { account { email } } }',
          { id: world.aliceAccount },
        ),
      ) ?? 'allow',
  },
  {
    name: 'mutation renameDomain',
    allowed: SUPERADMINS,
    run: async (client, world, principal) =>
      gate(
        await client.gql(
          'mutation($id: ID!, $name: String!) { renameDomain(input: { id: $id, name: $name }) { domain { name } } }',
          {
            id: world.targets[principal].domain,
            name: `renamed-${principal.toLowerCase()}.matrix.test`,
          },
        ),
      ) ?? 'allow',
  },
  {
    name: 'mutation addDomainAlias (to x.test)',
    allowed: SUPERADMINS,
    run: async (client, world, principal) =>
      gate(
        await client.gql(
          'mutation($id: ID!, $name: String!) { addDomainAlias(input: { domainId: $id, name: $name }) { domain { name } } }',
          {
            id: world.domains['x.test'],
            name: `added-${principal.toLowerCase()}.matrix.test`,
          },
        ),
      ) ?? 'allow',
  },
  {
    name: 'mutation removeDomainAlias (from x.test)',
    allowed: SUPERADMINS,
    run: async (client, world, principal) =>
      gate(
        await client.gql(
          'mutation($id: ID!, $name: String!) { removeDomainAlias(input: { domainId: $id, name: $name }) { domain { name } } }',
          {
            id: world.domains['x.test'],
            name: world.targets[principal].alias,
          },
        ),
      ) ?? 'allow',
  },
  {
    name: 'mutation setDomainAdmins (y.test, unchanged)',
    allowed: SUPERADMINS,
    run: async (client, world) => {
      const admins = await world.clients.superadmin.gql<{
        domains: { name: string; admins: { id: string }[] }[];
      }>('{ domains { name admins { id } } }');
      const ids = admins.data?.domains.find((d) => d.name === 'y.test')?.admins.map((a) => a.id) ?? [];
      return (
        gate(
          await client.gql(
            'mutation($id: ID!, $ids: [ID!]!) { setDomainAdmins(input: { domainId: $id, accountIds: $ids }) { domain { name } } }',
            {
              id: world.domains['y.test'],
              ids,
            },
          ),
        ) ?? 'allow'
      );
    },
  },
  {
    name: 'mutation deleteDomain',
    allowed: SUPERADMINS,
    run: async (client, world, principal) =>
      gate(
        await client.gql('mutation($id: ID!) { deleteDomain(input: { id: $id }) { deletedDomainId } }', {
          id: world.targets[principal].domain,
        }),
      ) ?? 'allow',
  },
  {
    name: "mutation revokeApiToken (the superadmin's)",
    allowed: SUPERADMINS,
    run: async (client, world) => {
      const response = await client.gql(`mutation { revokeApiToken(id: ${world.superadminTokenId}) { id } }`);
      // an account revoking a token that is not its own is told there is no such token of its
      if (errorCode(response) === 'BAD_USER_INPUT') return 'deny';
      return gate(response) ?? 'allow';
    },
  },
  {
    name: 'query releaseRequests',
    allowed: PRINCIPALS.filter(
      (p) => !['anonymous', 'selfServiceWrongSecret', 'selfServiceDisabled'].includes(p),
    ),
    run: async (client) =>
      gate(await client.gql('{ releaseRequests(first: 5) { edges { cursor } } }')) ?? 'allow',
  },
  {
    name: 'query releaseRules (x.test)',
    allowed: X_ADMINS,
    run: async (client) =>
      gate(await client.gql('{ releaseRules(domain: "x.test") { effective { kind permission } } }')) ??
      'allow',
  },
  {
    name: 'mutation setReleaseRules (x.test: banned files need a request)',
    allowed: X_ADMINS,
    run: async (client) =>
      gate(
        await client.gql(
          'mutation { setReleaseRules(input: { domain: "x.test", rules: [{ kind: banned, permission: request }] }) { domain } }',
        ),
      ) ?? 'allow',
  },
  {
    // amavisd is not configured here: an allowed caller gets a per-item "failed" or "requested", never "notFound"
    name: "mutation releaseMessages (alice@x.test's message)",
    allowed: ALICE_VIEWERS,
    run: async (client, world) => {
      const response = await client.gql<{ releaseMessages: { results: { outcome: string }[] } }>(
        'mutation($id: ID!) { releaseMessages(input: { ids: [$id] }) { results { outcome } } }',
        { id: world.entries.alice },
      );
      const gated = gate(response);
      if (gated) return gated;
      return response.data?.releaseMessages.results[0]?.outcome === 'notFound' ? 'deny' : 'allow';
    },
  },
  {
    name: 'mutation approveReleaseRequests (no such request)',
    allowed: [...X_ADMINS, 'otherDomainAdmin', 'otherDomainAdminToken'],
    run: async (client) =>
      gate(
        await client.gql(
          'mutation { approveReleaseRequests(input: { ids: ["UmVsZWFzZVJlcXVlc3Q6OTk5OTk="] }) { failed } }',
        ),
      ) ?? 'allow',
  },
  {
    name: 'mutation denyReleaseRequests (no such request)',
    allowed: [...X_ADMINS, 'otherDomainAdmin', 'otherDomainAdminToken'],
    run: async (client) =>
      gate(
        await client.gql(
          'mutation { denyReleaseRequests(input: { ids: ["UmVsZWFzZVJlcXVlc3Q6OTk5OTk="], reason: "matrix" }) { failed } }',
        ),
      ) ?? 'allow',
  },
  {
    name: 'mutation logIn (wrong password)',
    allowed: PRINCIPALS,
    run: async (client) => {
      const response = await client.gql<{ logIn: { __typename: string } }>(
        'mutation { logIn(input: { email: "matrix-nobody@x.test", password: "wrong-password" }) { __typename } }',
      );
      return gate(response) ?? (response.data?.logIn.__typename.endsWith('Error') ? 'allow' : 'deny');
    },
  },
  {
    name: 'mutation startSelfService (wrong secret)',
    allowed: PRINCIPALS,
    run: async (client, world) => {
      const response = await client.gql<{ startSelfService: { __typename: string } }>(
        'mutation($mailId: String!) { startSelfService(input: { mailId: $mailId, secretId: "AAAAAAAAAAAA", recipient: "bob@x.test" }) { __typename } }',
        { mailId: world.mailIds.bob },
      );
      return (
        gate(response) ?? (response.data?.startSelfService.__typename.endsWith('Error') ? 'allow' : 'deny')
      );
    },
  },
  {
    name: 'mutation changePassword (wrong current password)',
    allowed: ACCOUNTS,
    run: async (client) => {
      const response = await client.gql<{ changePassword: { __typename: string } }>(
        'mutation { changePassword(input: { currentPassword: "not-it-at-all", newPassword: "whatever-long-enough" }) { __typename } }',
      );
      const gated = gate(response);
      if (gated) return gated;
      expect(response.data?.changePassword.__typename).toBe('InvalidCredentialsError');
      return 'allow';
    },
  },
  {
    // last: it ends the sessions the rows above use
    name: 'mutation logOut',
    allowed: PRINCIPALS.filter((p) => !p.endsWith('Token')),
    run: async (client) => {
      const response = await client.gql('mutation { logOut { kind } }');
      // an API token has no session to end
      if (errorCode(response) === 'BAD_USER_INPUT') return 'deny';
      return gate(response) ?? 'allow';
    },
  },
];

const logInClient = (app: TestApp, email: string, password: string) => logInAs(app.url, email, password);

async function tokenClient(app: TestApp, client: Client, secrets: string[]): Promise<Client> {
  const response = await client.gql<{ createApiToken: { secret: string } }>(
    'mutation { createApiToken(input: { name: "matrix principal", access: full }) { secret } }',
  );
  const secret = response.data?.createApiToken.secret;
  if (!secret) throw new Error(`token creation failed: ${JSON.stringify(response)}`);
  secrets.push(secret);
  return createClient(app.url, { token: secret });
}

async function selfServiceClient(
  app: TestApp,
  mailId: string,
  secretId: string,
  recipient: string,
): Promise<Client> {
  const client = createClient(app.url);
  await client.gql(
    'mutation($input: StartSelfServiceInput!) { startSelfService(input: $input) { __typename } }',
    {
      input: { mailId, secretId, recipient },
    },
  );
  return client;
}

export async function buildWorld(database: DatabaseUnderTest): Promise<World> {
  const logs: string[] = [];
  const app = await startTestApp(database.env, { logSink: (line) => logs.push(line) });
  const secrets: string[] = [...Object.values(PASSWORDS)];
  const amavis = app.stores.amavis;
  const store = app.stores.console;
  await createSuperadmin(
    store,
    { email: 'root@admin.test', password: PASSWORDS.root },
    { onlyIfNoAccounts: true },
  );
  await addAccount(store, { email: 'alice@x.test', role: 'user', password: PASSWORDS.alice });
  await addAccount(store, { email: 'bob@x.test', role: 'user', password: PASSWORDS.bob });
  await addAccount(store, {
    email: 'xadmin@x.test',
    role: 'domainadmin',
    password: PASSWORDS.xadmin,
    domains: ['x.test'],
  });
  await addAccount(store, {
    email: 'yadmin@y.test',
    role: 'domainadmin',
    password: PASSWORDS.yadmin,
    domains: ['y.test'],
  });

  const aliceLink = mailIdAndSecret();
  secrets.push(aliceLink.secretId);
  const mailIds = {
    alice: await addMessage(amavis, {
      ...aliceLink,
      timeNum: 1_790_000_300,
      recipients: [{ email: 'alice@x.test' }],
    }),
    bob: await addMessage(amavis, { timeNum: 1_790_000_200, recipients: [{ email: 'bob@x.test' }] }),
    carol: await addMessage(amavis, { timeNum: 1_790_000_100, recipients: [{ email: 'carol@y.test' }] }),
  };

  const superadmin = await logInClient(app, 'root@admin.test', PASSWORDS.root);
  const all = await superadmin.gql<{ quarantine: { edges: { node: { id: string; mailId: string } }[] } }>(
    LIST,
  );
  const idOf = (mailId: string) =>
    all.data?.quarantine.edges.find((e) => e.node.mailId === mailId)?.node.id ?? '';
  const entries = { alice: idOf(mailIds.alice), bob: idOf(mailIds.bob), carol: idOf(mailIds.carol) };

  const accounts = await superadmin.gql<{ accounts: { edges: { node: { id: string; email: string } }[] } }>(
    '{ accounts(first: 100) { edges { node { id email } } } }',
  );
  const aliceAccount =
    accounts.data?.accounts.edges.find((e) => e.node.email === 'alice@x.test')?.node.id ?? '';

  const targets = {} as World['targets'];
  for (const principal of PRINCIPALS) {
    const tag = principal.toLowerCase();
    const account = await superadmin.gql<{ createAccount: { account: { id: string } } }>(
      'mutation($email: String!) { createAccount(input: { email: $email, role: user, password: "target-password-1" }) { account { id } } }',
      { email: `del-${tag}@x.test` },
    );
    const domain = await superadmin.gql<{ createDomain: { domain: { id: string } } }>(
      'mutation($name: String!) { createDomain(input: { name: $name }) { domain { id } } }',
      { name: `del-${tag}.matrix.test` },
    );
    targets[principal] = {
      account: account.data?.createAccount.account.id ?? '',
      domain: domain.data?.createDomain.domain.id ?? '',
      alias: `rm-${tag}.matrix.test`,
    };
  }
  const domainList = await superadmin.gql<{ domains: { id: string; name: string }[] }>(
    '{ domains { id name } }',
  );
  const domains = Object.fromEntries((domainList.data?.domains ?? []).map((d) => [d.name, d.id]));
  for (const principal of PRINCIPALS) {
    await superadmin.gql(
      'mutation($id: ID!, $name: String!) { addDomainAlias(input: { domainId: $id, name: $name }) { domain { name } } }',
      {
        id: domains['x.test'],
        name: targets[principal].alias,
      },
    );
  }

  const user = await logInClient(app, 'alice@x.test', PASSWORDS.alice);
  const otherUser = await logInClient(app, 'bob@x.test', PASSWORDS.bob);
  const domainAdmin = await logInClient(app, 'xadmin@x.test', PASSWORDS.xadmin);
  const otherDomainAdmin = await logInClient(app, 'yadmin@y.test', PASSWORDS.yadmin);

  const selfServiceDisabled = await selfServiceClient(
    app,
    aliceLink.mailId,
    aliceLink.secretId,
    'alice@x.test',
  );
  await superadmin.gql('mutation { updateSettings(input: { selfService: true }) { selfService } }');
  const selfService = await selfServiceClient(app, aliceLink.mailId, aliceLink.secretId, 'alice@x.test');
  const wrongSecret = mailIdAndSecret().secretId;
  const selfServiceWrongSecret = await selfServiceClient(app, aliceLink.mailId, wrongSecret, 'alice@x.test');

  const clients: Record<Principal, Client> = {
    anonymous: createClient(app.url),
    user,
    otherUser,
    domainAdmin,
    otherDomainAdmin,
    superadmin,
    userToken: await tokenClient(app, user, secrets),
    otherUserToken: await tokenClient(app, otherUser, secrets),
    domainAdminToken: await tokenClient(app, domainAdmin, secrets),
    otherDomainAdminToken: await tokenClient(app, otherDomainAdmin, secrets),
    superadminToken: await tokenClient(app, superadmin, secrets),
    selfService,
    selfServiceWrongSecret,
    selfServiceDisabled,
  };
  const target = await superadmin.gql<{ createApiToken: { secret: string; token: { id: number } } }>(
    'mutation { createApiToken(input: { name: "revocation target", access: read }) { secret token { id } } }',
  );
  secrets.push(target.data?.createApiToken.secret ?? '');
  const superadminTokenId = target.data?.createApiToken.token.id ?? 0;
  for (const client of Object.values(clients)) {
    const session = client.session();
    if (session) secrets.push(session);
  }
  return { app, clients, entries, mailIds, aliceAccount, domains, targets, superadminTokenId, secrets, logs };
}

export function accessMatrixSuite(
  open: () => Promise<DatabaseUnderTest>,
  operations: Operation[] = OPERATIONS,
): void {
  let database: DatabaseUnderTest;
  let world: World;

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    world = await buildWorld(database);
  });

  afterAll(async () => {
    await world?.app.close();
    await database?.dispose();
  });

  for (const operation of operations) {
    describe(operation.name, () => {
      for (const principal of PRINCIPALS) {
        const expected: Outcome = operation.allowed.includes(principal) ? 'allow' : 'deny';
        it(`${principal}: ${expected}`, async () => {
          expect(await operation.run(world.clients[principal], world, principal)).toBe(expected);
        });
      }
    });
  }

  it('audits refused changes, even those refused before reaching a service', async () => {
    const { db } = world.app.stores.console.connection;
    const rows = await db.select().from(world.app.stores.console.t.auditLogTable);
    const refused = rows.filter((r) => r.outcome === 'denied').map((r) => r.action);
    expect(refused).toEqual(expect.arrayContaining(['graphql.updateSettings', 'graphql.createDomain']));
  });

  it('never writes a password, session id, token or secret_id to the logs or the audit trail', async () => {
    const rows = await world.app.stores.console.connection.db
      .select()
      .from(world.app.stores.console.t.auditLogTable);
    expect(rows.length).toBeGreaterThan(10);
    expect(world.logs.length).toBeGreaterThan(0);
    const haystack = `${world.logs.join('\n')}\n${JSON.stringify(rows)}`;
    expect(world.secrets.length).toBeGreaterThan(15);
    for (const secret of world.secrets) expect(haystack).not.toContain(secret);
  });
}
