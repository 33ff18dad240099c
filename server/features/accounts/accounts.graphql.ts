import type { Role } from '../../access/actor.ts';
import { MAX_PAGE_SIZE } from '../../db/paging.ts';
import { builder } from '../../graphql/builder.ts';
import { toConnection } from '../../graphql/connection.ts';
import {
  type AccountView,
  addDomainAlias,
  createAccount,
  createDomain,
  type DomainView,
  deleteAccount,
  deleteDomain,
  encodeAccountCursor,
  findAccounts,
  findDomains,
  getAccount,
  listAccounts,
  listDomains,
  removeDomainAlias,
  renameDomain,
  setAccountAddresses,
  setDomainAdmins,
  updateAccount,
} from './accounts.service.ts';

/**
 * The Role enum is declared by the auth feature (Viewer.role). Pothos resolves a type by its name when
 * the schema is built, so this feature refers to it by name instead of importing another feature's
 * GraphQL file; the cast gives the name the enum's TypeScript shape.
 */
const RoleEnum = 'Role' as unknown as PothosSchemaTypes.EnumRef<typeof builder.$inferSchemaTypes, Role, Role>;

const AuthSourceEnum = builder.enumType('AuthSource', {
  description: 'How an account proves who it is when logging in.',
  values: {
    local: { value: 'local', description: 'A password stored (hashed) by the console.' },
    imap: { value: 'imap', description: 'Its mailbox password, checked against the IMAP server.' },
  },
});

/** Global IDs carry the row id as decimal text; anything else matches no row. */
function rowId(id: string): number {
  return /^[0-9]{1,10}$/.test(id) ? Number(id) : -1;
}

const DomainRef = builder.loadableNode('Domain', {
  description: 'A mail domain the console knows, with its alias domains and its domain admins.',
  id: { resolve: (domain: DomainView) => String(domain.id), parse: rowId },
  sort: (domain) => domain.id,
  load: async (ids: number[], context) =>
    (await findDomains(context.stores.console, context.actor, ids)).filter((d) => d !== null),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The domain name, lowercase, IDNA ASCII form (xn--…).' }),
    aliases: t.exposeStringList('aliases', {
      description: 'Alias domains: mail to them counts as mail to this domain for its admins.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the domain was added.' }),
  }),
});

const AccountRef = builder.loadableNode('Account', {
  description:
    'A console account: a superadmin, a domain admin or a user. A user sees the quarantine of the ' +
    'addresses it owns; a domain admin that of its domains.',
  id: { resolve: (account: AccountView) => String(account.id), parse: rowId },
  sort: (account) => account.id,
  load: async (ids: number[], context) =>
    (await findAccounts(context.stores.console, context.actor, ids)).filter((a) => a !== null),
  fields: (t) => ({
    email: t.exposeString('email', { description: 'The login name (lowercase).' }),
    displayName: t.exposeString('displayName', { description: 'A name for people; may be empty.' }),
    role: t.field({ type: RoleEnum, description: 'What the account administers.', resolve: (a) => a.role }),
    addresses: t.exposeStringList('addresses', {
      description:
        'The mail addresses the account owns, normalised, the primary one first. Their quarantine is ' +
        "the account's own.",
    }),
    primaryAddress: t.exposeString('primaryAddress', {
      nullable: true,
      description: 'The primary address; null when the account owns none.',
    }),
    authSource: t.field({
      type: AuthSourceEnum,
      description: 'How the account logs in.',
      resolve: (a) => a.authSource,
    }),
    disabled: t.exposeBoolean('disabled', { description: 'A disabled account cannot log in or use tokens.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the account was created.' }),
    lastLoginAt: t.expose('lastLoginAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it last logged in; null if never.',
    }),
    administeredDomains: t.field({
      type: [DomainRef],
      description:
        'For a domain admin, the domains it administers (shown to superadmins and to the account ' +
        'itself); empty otherwise.',
      resolve: (a) => a.administeredDomainIds,
    }),
  }),
});

// Declared after Account, which refers to Domain in turn.
builder.objectField(DomainRef, 'admins', (t) =>
  t.field({
    type: [AccountRef],
    description: 'Its domain admins (superadmins see all of them; a domain admin sees itself).',
    resolve: (d) => d.adminIds,
  }),
);

builder.queryField('accounts', (t) =>
  t.connection(
    {
      type: AccountRef,
      description:
        'Accounts in email order. Superadmins see all; domain admins the users owning an address in one ' +
        `of their domains. Pages hold up to ${MAX_PAGE_SIZE} accounts (50 by default).`,
      authScopes: { account: true },
      args: {
        search: t.arg.string({
          required: false,
          description: 'Only accounts whose email or display name contains this text (any case).',
        }),
        role: t.arg({ type: RoleEnum, required: false, description: 'Only accounts with this role.' }),
      },
      resolve: async (_root, args, context) => {
        const page = await listAccounts(context.stores.console, context.actor, args, context.client);
        return toConnection(page, encodeAccountCursor);
      },
    },
    { description: 'A page of accounts.' },
    { description: 'One account and its cursor.' },
  ),
);

builder.queryField('account', (t) =>
  t.field({
    type: AccountRef,
    nullable: true,
    description: 'One account by its ID; null when it does not exist or the caller may not see it.',
    authScopes: { account: true },
    args: { id: t.arg.globalID({ for: AccountRef, description: 'The global ID of the account.' }) },
    resolve: (_root, { id }, context) => getAccount(context.stores.console, context.actor, id.id),
  }),
);

builder.queryField('domains', (t) =>
  t.field({
    type: [DomainRef],
    description: 'Mail domains by name: superadmins see all, domain admins the ones they administer.',
    authScopes: { account: true },
    resolve: (_root, _args, context) => listDomains(context.stores.console, context.actor, context.client),
  }),
);

// ---------------------------------------------------------------------------------------------------
// Mutations: each takes an input and returns a payload.

const WRITER = { $all: { account: true, write: true } } as const;
const SUPERADMIN_WRITER = { $all: { superadmin: true, write: true } } as const;

function accountPayload(name: string, description: string) {
  return builder.objectRef<AccountView>(name).implement({
    description,
    fields: (t) => ({
      account: t.field({ type: AccountRef, description: 'The account as it is now.', resolve: (a) => a }),
    }),
  });
}

function domainPayload(name: string, description: string) {
  return builder.objectRef<DomainView>(name).implement({
    description,
    fields: (t) => ({
      domain: t.field({ type: DomainRef, description: 'The domain as it is now.', resolve: (d) => d }),
    }),
  });
}

const CreateAccountInput = builder.inputType('CreateAccountInput', {
  description: 'A new account. Domain admins create only users, with a login and addresses in their domains.',
  fields: (t) => ({
    email: t.string({ description: 'The login name; stored lowercase.' }),
    displayName: t.string({ required: false, description: 'A name for people; empty by default.' }),
    role: t.field({
      type: RoleEnum,
      defaultValue: 'user',
      description: 'What it administers; user by default.',
    }),
    password: t.string({
      required: false,
      description: 'Its password (at least 10 characters). Without one, it logs in through IMAP.',
    }),
    primaryAddress: t.string({
      required: false,
      description: 'The primary mail address it owns; the email by default.',
    }),
    addresses: t.stringList({
      required: false,
      description: 'Further mail addresses (aliases) it owns; their quarantine becomes its own.',
    }),
  }),
});

const CreateAccountPayload = accountPayload('CreateAccountPayload', 'The account created.');

builder.mutationField('createAccount', (t) =>
  t.field({
    type: CreateAccountPayload,
    description: 'Creates an account (superadmins: any; domain admins: users of their domains).',
    authScopes: WRITER,
    args: { input: t.arg({ type: CreateAccountInput, description: 'The account to create.' }) },
    resolve: (_root, { input }, context) =>
      createAccount(context.stores.console, context.actor, input, context.client),
  }),
);

const UpdateAccountInput = builder.inputType('UpdateAccountInput', {
  description: 'Changes to an account; omitted fields stay as they are.',
  fields: (t) => ({
    id: t.globalID({ for: AccountRef, description: 'The global ID of the account.' }),
    displayName: t.string({ required: false, description: 'A new display name.' }),
    role: t.field({ type: RoleEnum, required: false, description: 'A new role (superadmins only).' }),
    disabled: t.boolean({
      required: false,
      description: 'Disable (true) or enable (false) the account. Disabling ends its sessions.',
    }),
    password: t.string({
      required: false,
      description: 'A new password (at least 10 characters). Ends its sessions; it then logs in locally.',
    }),
  }),
});

const UpdateAccountPayload = accountPayload('UpdateAccountPayload', 'The account changed.');

builder.mutationField('updateAccount', (t) =>
  t.field({
    type: UpdateAccountPayload,
    description:
      'Changes an account (superadmins: any; domain admins: users of their domains, not their role). ' +
      'Nobody disables themselves; the last active superadmin cannot be demoted or disabled.',
    authScopes: WRITER,
    args: { input: t.arg({ type: UpdateAccountInput, description: 'The changes.' }) },
    resolve: (_root, { input }, context) =>
      updateAccount(context.stores.console, context.actor, { ...input, id: input.id.id }, context.client),
  }),
);

const DeleteAccountInput = builder.inputType('DeleteAccountInput', {
  description: 'The account to delete.',
  fields: (t) => ({
    id: t.globalID({ for: AccountRef, description: 'The global ID of the account.' }),
  }),
});

const DeleteAccountPayload = builder.objectRef<{ id: number }>('DeleteAccountPayload').implement({
  description: 'The account deleted.',
  fields: (t) => ({
    deletedAccountId: t.globalID({
      description: 'The global ID the account had.',
      resolve: (deleted) => ({ type: 'Account', id: String(deleted.id) }),
    }),
  }),
});

builder.mutationField('deleteAccount', (t) =>
  t.field({
    type: DeleteAccountPayload,
    description:
      'Deletes an account with its addresses, sessions and API tokens (superadmins: any but their own ' +
      'and the last superadmin; domain admins: users of their domains).',
    authScopes: WRITER,
    args: { input: t.arg({ type: DeleteAccountInput, description: 'The account to delete.' }) },
    resolve: (_root, { input }, context) =>
      deleteAccount(
        context.stores.console,
        context.actor,
        { id: input.id.id },
        context.client,
        context.stores.amavis,
      ),
  }),
);

const SetAccountAddressesInput = builder.inputType('SetAccountAddressesInput', {
  description: 'The complete set of mail addresses an account owns.',
  fields: (t) => ({
    id: t.globalID({ for: AccountRef, description: 'The global ID of the account.' }),
    primary: t.string({ description: 'The primary address.' }),
    addresses: t.stringList({
      description: 'The other addresses (aliases); the primary one may be repeated here.',
    }),
  }),
});

const SetAccountAddressesPayload = accountPayload(
  'SetAccountAddressesPayload',
  'The account with its new addresses.',
);

builder.mutationField('setAccountAddresses', (t) =>
  t.field({
    type: SetAccountAddressesPayload,
    description:
      'Replaces the addresses an account owns, which decide whose quarantine it sees. Domain admins give ' +
      'only addresses in their domains to users of their domains. An address belongs to one account.',
    authScopes: WRITER,
    args: { input: t.arg({ type: SetAccountAddressesInput, description: 'The addresses.' }) },
    resolve: (_root, { input }, context) =>
      setAccountAddresses(
        context.stores.console,
        context.actor,
        { id: input.id.id, primary: input.primary, addresses: input.addresses },
        context.client,
        context.stores.amavis,
      ),
  }),
);

const CreateDomainInput = builder.inputType('CreateDomainInput', {
  description: 'A new mail domain.',
  fields: (t) => ({
    name: t.string({ description: 'The domain name; Unicode names are stored in IDNA ASCII form.' }),
  }),
});

const CreateDomainPayload = domainPayload('CreateDomainPayload', 'The domain created.');

builder.mutationField('createDomain', (t) =>
  t.field({
    type: CreateDomainPayload,
    description: 'Adds a mail domain (superadmins only). Its name may not be a domain or alias already.',
    authScopes: SUPERADMIN_WRITER,
    args: { input: t.arg({ type: CreateDomainInput, description: 'The domain to add.' }) },
    resolve: (_root, { input }, context) =>
      createDomain(context.stores.console, context.actor, input, context.client, context.stores.amavis),
  }),
);

const RenameDomainInput = builder.inputType('RenameDomainInput', {
  description: 'A new name for a domain.',
  fields: (t) => ({
    id: t.globalID({ for: DomainRef, description: 'The global ID of the domain.' }),
    name: t.string({ description: 'The new name.' }),
  }),
});

const RenameDomainPayload = domainPayload('RenameDomainPayload', 'The domain renamed.');

builder.mutationField('renameDomain', (t) =>
  t.field({
    type: RenameDomainPayload,
    description:
      'Renames a domain (superadmins only). Owned addresses are complete addresses and are not rewritten.',
    authScopes: SUPERADMIN_WRITER,
    args: { input: t.arg({ type: RenameDomainInput, description: 'The domain and its new name.' }) },
    resolve: (_root, { input }, context) =>
      renameDomain(
        context.stores.console,
        context.actor,
        { id: input.id.id, name: input.name },
        context.client,
        context.stores.amavis,
      ),
  }),
);

const DeleteDomainInput = builder.inputType('DeleteDomainInput', {
  description: 'The domain to delete.',
  fields: (t) => ({
    id: t.globalID({ for: DomainRef, description: 'The global ID of the domain.' }),
  }),
});

const DeleteDomainPayload = builder.objectRef<{ id: number }>('DeleteDomainPayload').implement({
  description: 'The domain deleted.',
  fields: (t) => ({
    deletedDomainId: t.globalID({
      description: 'The global ID the domain had.',
      resolve: (deleted) => ({ type: 'Domain', id: String(deleted.id) }),
    }),
  }),
});

builder.mutationField('deleteDomain', (t) =>
  t.field({
    type: DeleteDomainPayload,
    description:
      'Deletes a domain with its aliases and admin assignments (superadmins only). Accounts and their ' +
      'addresses stay.',
    authScopes: SUPERADMIN_WRITER,
    args: { input: t.arg({ type: DeleteDomainInput, description: 'The domain to delete.' }) },
    resolve: (_root, { input }, context) =>
      deleteDomain(
        context.stores.console,
        context.actor,
        { id: input.id.id },
        context.client,
        context.stores.amavis,
      ),
  }),
);

const DomainAliasInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (t) => ({
      domainId: t.globalID({ for: DomainRef, description: 'The global ID of the domain.' }),
      name: t.string({ description: 'The alias domain name.' }),
    }),
  });

const AddDomainAliasInput = DomainAliasInput('AddDomainAliasInput', 'An alias domain to add to a domain.');
const AddDomainAliasPayload = domainPayload('AddDomainAliasPayload', 'The domain with its new alias.');

builder.mutationField('addDomainAlias', (t) =>
  t.field({
    type: AddDomainAliasPayload,
    description:
      "Adds an alias domain (superadmins only): its mail counts as the domain's for the domain's admins. " +
      'The name may not be a domain or alias already.',
    authScopes: SUPERADMIN_WRITER,
    args: { input: t.arg({ type: AddDomainAliasInput, description: 'The domain and the alias.' }) },
    resolve: (_root, { input }, context) =>
      addDomainAlias(
        context.stores.console,
        context.actor,
        { domainId: input.domainId.id, name: input.name },
        context.client,
        context.stores.amavis,
      ),
  }),
);

const RemoveDomainAliasInput = DomainAliasInput(
  'RemoveDomainAliasInput',
  'An alias domain to remove from a domain.',
);
const RemoveDomainAliasPayload = domainPayload('RemoveDomainAliasPayload', 'The domain without the alias.');

builder.mutationField('removeDomainAlias', (t) =>
  t.field({
    type: RemoveDomainAliasPayload,
    description: 'Removes an alias domain (superadmins only).',
    authScopes: SUPERADMIN_WRITER,
    args: { input: t.arg({ type: RemoveDomainAliasInput, description: 'The domain and the alias.' }) },
    resolve: (_root, { input }, context) =>
      removeDomainAlias(
        context.stores.console,
        context.actor,
        { domainId: input.domainId.id, name: input.name },
        context.client,
        context.stores.amavis,
      ),
  }),
);

const SetDomainAdminsInput = builder.inputType('SetDomainAdminsInput', {
  description: 'The complete set of admins of a domain.',
  fields: (t) => ({
    domainId: t.globalID({ for: DomainRef, description: 'The global ID of the domain.' }),
    accountIds: t.globalIDList({
      for: AccountRef,
      description: 'The global IDs of its admins; each must be an account with the role domainadmin.',
    }),
  }),
});

const SetDomainAdminsPayload = domainPayload('SetDomainAdminsPayload', 'The domain with its new admins.');

builder.mutationField('setDomainAdmins', (t) =>
  t.field({
    type: SetDomainAdminsPayload,
    description: "Replaces a domain's admins (superadmins only).",
    authScopes: SUPERADMIN_WRITER,
    args: { input: t.arg({ type: SetDomainAdminsInput, description: 'The domain and its admins.' }) },
    resolve: (_root, { input }, context) =>
      setDomainAdmins(
        context.stores.console,
        context.actor,
        { domainId: input.domainId.id, accountIds: input.accountIds.map((id) => id.id) },
        context.client,
      ),
  }),
);
