// Accounts (superadmins, domain admins, users), the mail addresses they own, and the mail domains with
// their aliases and admins. A user's addresses decide whose quarantine it sees, and a domain admin's
// domains decide whose it administers, so every change here is checked against the caller first,
// validated, written in one transaction and audited, and so is every refusal.
import { and, asc, count, desc, eq, gt, inArray, lt, ne, or, type SQL, sql } from 'drizzle-orm';
import { accessChanged } from '../../access/access-cache.ts';
import { type AccountActor, type Actor, isSuperadmin, ROLES, type Role } from '../../access/actor.ts';
import {
  AddressError,
  type AddressSettings,
  normaliseAddress,
  normaliseDomain,
} from '../../access/address-matching.ts';
import { checkNewPassword, hashPassword } from '../../access/passwords.ts';
import { deleteAccountSessions } from '../../access/sessions.ts';
import { type AuditFacts, recordAction, refuseAction } from '../../audit/audit-log.ts';
import { escapeLike, likeEscaped } from '../../db/like.ts';
import {
  decodeCursor,
  encodeCursor,
  type Page,
  type PageArgs,
  pageOf,
  pageRequest,
} from '../../db/paging.ts';
import type { AmavisStore, ConsoleStore } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';
import {
  addressesReleased,
  domainAliasAdded,
  domainAliasRemoved,
  domainCreated,
  domainDeleted,
  domainRenamed,
} from '../policies/policies.service.ts';
import { getSettings } from '../settings/settings.service.ts';

export interface ClientInfo {
  ip?: string | null;
}

export type AuthSource = 'local' | 'imap';

export interface AccountView {
  id: number;
  /** The login name, lowercase. */
  email: string;
  displayName: string;
  role: Role;
  authSource: AuthSource;
  disabled: boolean;
  createdAt: Date;
  lastLoginAt: Date | null;
  /** Owned mail addresses, normalised, the primary one first. */
  addresses: string[];
  primaryAddress: string | null;
  /** Domains the account administers, as far as the caller may see them (superadmins, or itself). */
  administeredDomainIds: number[];
}

export interface DomainView {
  id: number;
  name: string;
  createdAt: Date;
  aliases: string[];
  /** Its domain admins, as far as the caller may see them (superadmins: all; a domain admin: itself). */
  adminIds: number[];
}

const MAX_ADDRESSES = 200;
const MAX_DISPLAY_NAME = 255;
const MAX_ADDRESS_LENGTH = 320;

// ---------------------------------------------------------------------------------------------------
// Validation and normalisation

function quoted(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
}

/** Turns address-matching's message into one naming the input field. */
function fieldError(field: string, error: unknown): InputError {
  if (error instanceof AddressError) return new InputError(`${field}: ${error.message}`);
  throw error;
}

/** A mail domain as stored: IDNA ASCII, lowercase, with at least two labels. */
function domainName(field: string, raw: string): string {
  let name: string;
  try {
    name = normaliseDomain(raw.trim());
  } catch (error) {
    throw fieldError(field, error);
  }
  if (!name.includes('.')) {
    throw new InputError(`${field}: ${quoted(raw)} is not a mail domain: it needs at least two labels`);
  }
  return name;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** A mail address as stored, the way amavisd stores it and the quarantine matcher compares it. */
function mailAddress(field: string, raw: string, settings: AddressSettings): string {
  let address: string;
  try {
    address = normaliseAddress(raw.trim(), settings);
  } catch (error) {
    throw fieldError(field, error);
  }
  domainName(field, domainOf(address));
  return address;
}

/** The login name: the way logIn compares it (trimmed, lowercase). */
function loginEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new InputError(`email: ${quoted(raw)} is not a mail address`);
  if (email.length > MAX_ADDRESS_LENGTH) {
    throw new InputError(`email: longer than ${MAX_ADDRESS_LENGTH} characters`);
  }
  return email;
}

function displayNameOf(raw: string): string {
  const name = raw.trim();
  if (name.length > MAX_DISPLAY_NAME) {
    throw new InputError(`displayName: at most ${MAX_DISPLAY_NAME} characters`);
  }
  return name;
}

function roleOf(raw: string): Role {
  if (!(ROLES as readonly string[]).includes(raw)) {
    throw new InputError(`role: ${quoted(raw)} is not one of ${ROLES.join(', ')}`);
  }
  return raw as Role;
}

function newPassword(password: string): void {
  try {
    checkNewPassword(password);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`password: ${error.message}`);
    throw error;
  }
}

/** The primary address first, then the others; duplicates (after normalisation) once. */
function addressList(
  primary: { field: string; raw: string },
  others: readonly string[],
  settings: AddressSettings,
): string[] {
  const list = [mailAddress(primary.field, primary.raw, settings)];
  for (const raw of others) {
    const address = mailAddress('addresses', raw, settings);
    if (!list.includes(address)) list.push(address);
  }
  if (list.length > MAX_ADDRESSES) throw new InputError(`addresses: at most ${MAX_ADDRESSES} per account`);
  return list;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

// ---------------------------------------------------------------------------------------------------
// Who may do what

/** A superadmin or a domain admin, logged in with full access. */
async function requireManager(
  store: ConsoleStore,
  actor: Actor,
  client: ClientInfo,
  facts: AuditFacts,
): Promise<AccountActor> {
  if (actor.kind !== 'account')
    return refuseAction(store, actor, client, facts, 'only console accounts manage accounts');
  if (actor.access !== 'full')
    return refuseAction(store, actor, client, facts, 'this API token is read-only');
  if (actor.role !== 'superadmin' && actor.role !== 'domainadmin') {
    return refuseAction(store, actor, client, facts, 'only superadmins and domain admins manage accounts');
  }
  return actor;
}

async function requireSuperadminWriter(
  store: ConsoleStore,
  actor: Actor,
  client: ClientInfo,
  facts: AuditFacts,
): Promise<AccountActor> {
  if (!isSuperadmin(actor))
    return refuseAction(store, actor, client, facts, 'only superadmins manage domains');
  if (actor.access !== 'full')
    return refuseAction(store, actor, client, facts, 'this API token is read-only');
  return actor;
}

/**
 * Whether a domain admin may change an account: only users, and only when every address they own lies
 * in the admin's domains (a user who also owns mail elsewhere is the superadmins' to change).
 */
function manages(actor: AccountActor, target: { role: string; addresses: readonly string[] }): boolean {
  if (actor.role === 'superadmin') return true;
  if (actor.role !== 'domainadmin') return false;
  return (
    target.role === 'user' &&
    target.addresses.length > 0 &&
    target.addresses.every((address) => actor.domains.includes(domainOf(address)))
  );
}

const NOTHING = sql`1 = 0`;

/** Accounts owning at least one address in these domains. */
function ownsAddressIn(store: ConsoleStore, domains: readonly string[]): SQL {
  if (domains.length === 0) return NOTHING;
  const { accountsTable: a, accountAddressesTable: aa } = store.t;
  return inArray(
    a.id,
    store.connection.db
      .select({ id: aa.accountId })
      .from(aa)
      .where(or(...domains.map((domain) => likeEscaped(aa.address, `%@${escapeLike(domain)}`)))),
  );
}

/** What listAccounts shows: superadmins everything; a domain admin the users of its domains. */
function listedTo(store: ConsoleStore, actor: AccountActor): SQL | undefined {
  if (actor.role === 'superadmin') return undefined;
  if (actor.role !== 'domainadmin') return NOTHING;
  return and(eq(store.t.accountsTable.role, 'user'), ownsAddressIn(store, actor.domains));
}

/** What getAccount and node() show: the listing, plus the caller's own account. */
function visibleTo(store: ConsoleStore, actor: Actor): SQL | undefined {
  if (actor.kind !== 'account') return NOTHING;
  if (actor.role === 'superadmin') return undefined;
  return or(eq(store.t.accountsTable.id, actor.accountId), listedTo(store, actor));
}

// ---------------------------------------------------------------------------------------------------
// Reading accounts

function accountColumns(store: ConsoleStore) {
  const a = store.t.accountsTable;
  return {
    id: a.id,
    email: a.email,
    displayName: a.displayName,
    role: a.role,
    authSource: a.authSource,
    disabled: a.disabled,
    createdAt: a.createdAt,
    lastLoginAt: a.lastLoginAt,
  };
}

type AccountRow = {
  id: number;
  email: string;
  displayName: string;
  role: string;
  authSource: string;
  disabled: boolean;
  createdAt: Date;
  lastLoginAt: Date | null;
};

/** Adds addresses and administered domains to account rows: two queries, whatever the number of rows. */
async function viewsOf(store: ConsoleStore, actor: Actor, rows: AccountRow[]): Promise<AccountView[]> {
  if (rows.length === 0) return [];
  const { db } = store.connection;
  const { accountAddressesTable: aa, domainAdminsTable: da } = store.t;
  const ids = rows.map((row) => row.id);
  const addresses = await db
    .select({ accountId: aa.accountId, address: aa.address, isPrimary: aa.isPrimary })
    .from(aa)
    .where(inArray(aa.accountId, ids));
  const seesDomainsOf = rows
    .filter((row) => actor.kind === 'account' && (actor.role === 'superadmin' || row.id === actor.accountId))
    .map((row) => row.id);
  const administered =
    seesDomainsOf.length === 0
      ? []
      : await db
          .select({ accountId: da.accountId, domainId: da.domainId })
          .from(da)
          .where(inArray(da.accountId, seesDomainsOf));
  return rows.map((row) => {
    const own = addresses
      .filter((a) => a.accountId === row.id)
      .sort((x, y) => Number(y.isPrimary) - Number(x.isPrimary) || x.address.localeCompare(y.address));
    return {
      id: row.id,
      email: row.email,
      displayName: row.displayName,
      role: row.role as Role,
      authSource: row.authSource === 'imap' ? 'imap' : 'local',
      // MariaDB hands booleans back as 0/1
      disabled: Boolean(row.disabled),
      createdAt: row.createdAt,
      lastLoginAt: row.lastLoginAt,
      addresses: own.map((a) => a.address),
      primaryAddress: own.find((a) => a.isPrimary)?.address ?? null,
      administeredDomainIds:
        row.role === 'domainadmin'
          ? administered
              .filter((d) => d.accountId === row.id)
              .map((d) => d.domainId)
              .sort((x, y) => x - y)
          : [],
    };
  });
}

export interface AccountsPageArgs extends PageArgs {
  /** Part of the email or display name, case-insensitive. */
  search?: string | null;
  role?: Role | null;
}

export function encodeAccountCursor(account: { email: string }): string {
  return encodeCursor([account.email]);
}

function decodeAccountCursor(cursor: string): string {
  return decodeCursor(cursor, ['string'] as const)[0];
}

/**
 * Accounts in email order, a page at a time (keyset on the email). Superadmins see every account;
 * domain admins the users owning an address in one of their domains (alias domains included), never
 * superadmins or other admins; anyone else is refused.
 */
export async function listAccounts(
  store: ConsoleStore,
  actor: Actor,
  args: AccountsPageArgs = {},
  client: ClientInfo = {},
): Promise<Page<AccountView>> {
  const facts = { action: 'account.list', target: 'accounts' };
  if (actor.kind !== 'account' || (actor.role !== 'superadmin' && actor.role !== 'domainadmin')) {
    return refuseAction(store, actor, client, facts, 'only superadmins and domain admins list accounts');
  }
  const request = pageRequest(args, decodeAccountCursor);
  const { cursor, backwards } = request;
  const a = store.t.accountsTable;
  const conditions: (SQL | undefined)[] = [listedTo(store, actor)];
  if (cursor !== undefined) conditions.push(backwards ? lt(a.email, cursor) : gt(a.email, cursor));
  if (args.role) conditions.push(eq(a.role, args.role));
  const search = args.search?.trim().toLowerCase();
  if (search) {
    const pattern = `%${escapeLike(search)}%`;
    conditions.push(or(likeEscaped(a.email, pattern), likeEscaped(sql`lower(${a.displayName})`, pattern)));
  }
  const rows = await store.connection.db
    .select(accountColumns(store))
    .from(a)
    .where(and(...conditions))
    .orderBy(backwards ? desc(a.email) : asc(a.email))
    .limit(request.limit + 1);
  const page = pageOf(rows, request);
  return { ...page, items: await viewsOf(store, actor, page.items) };
}

/** Accounts by id, in the order asked; null where there is none or the caller may not see it. */
export async function findAccounts(
  store: ConsoleStore,
  actor: Actor,
  ids: readonly number[],
): Promise<(AccountView | null)[]> {
  const wanted = unique(ids.filter((id) => Number.isSafeInteger(id)));
  if (wanted.length === 0 || actor.kind !== 'account') return ids.map(() => null);
  const a = store.t.accountsTable;
  const rows = await store.connection.db
    .select(accountColumns(store))
    .from(a)
    .where(and(inArray(a.id, wanted), visibleTo(store, actor)));
  const views = new Map((await viewsOf(store, actor, rows)).map((view) => [view.id, view]));
  return ids.map((id) => views.get(id) ?? null);
}

export async function getAccount(store: ConsoleStore, actor: Actor, id: number): Promise<AccountView | null> {
  const [account] = await findAccounts(store, actor, [id]);
  return account ?? null;
}

/** One account with its addresses, whoever asks (for permission checks). */
async function loadTarget(store: ConsoleStore, actor: Actor, id: number): Promise<AccountView | null> {
  if (!Number.isSafeInteger(id)) return null;
  const a = store.t.accountsTable;
  const rows = await store.connection.db.select(accountColumns(store)).from(a).where(eq(a.id, id));
  const [view] = await viewsOf(store, actor, rows);
  return view ?? null;
}

async function mustLoad(store: ConsoleStore, actor: Actor, id: number): Promise<AccountView> {
  const view = await loadTarget(store, actor, id);
  if (!view) throw new Error(`account ${id} vanished`);
  return view;
}

/** The target of a change, or a refusal that does not tell a domain admin whether it exists. */
async function targetFor(
  store: ConsoleStore,
  actor: AccountActor,
  client: ClientInfo,
  id: number,
  facts: AuditFacts,
): Promise<AccountView> {
  const target = await loadTarget(store, actor, id);
  if (target && manages(actor, target)) return target;
  if (!target && actor.role === 'superadmin') throw new InputError('id: no such account');
  return refuseAction(
    store,
    actor,
    client,
    { ...facts, target: target?.email ?? `account ${id}`, domains: target?.addresses.map(domainOf) },
    'domain admins manage only the users of their domains',
  );
}

type Db = ConsoleStore['connection']['db'];
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

async function otherActiveSuperadmins(store: ConsoleStore, tx: Tx | Db, id: number): Promise<number> {
  const a = store.t.accountsTable;
  const [row] = await tx
    .select({ value: count() })
    .from(a)
    .where(and(eq(a.role, 'superadmin'), eq(a.disabled, false), ne(a.id, id)));
  return Number(row?.value ?? 0);
}

/** Refuses addresses that another account owns: one address, one owner, one quarantine view. */
async function checkAddressesFree(
  store: ConsoleStore,
  tx: Tx,
  addresses: readonly string[],
  accountId: number | null,
): Promise<void> {
  const aa = store.t.accountAddressesTable;
  const taken = await tx
    .select({ address: aa.address })
    .from(aa)
    .where(
      and(inArray(aa.address, [...addresses]), accountId === null ? undefined : ne(aa.accountId, accountId)),
    );
  const first = taken[0];
  if (first) throw new InputError(`addresses: ${first.address} already belongs to another account`);
}

/** The settings carry the address rules (case, delimiter) amavisd matches with. */
function addressSettings(store: ConsoleStore): Promise<AddressSettings> {
  return getSettings(store);
}

// ---------------------------------------------------------------------------------------------------
// Changing accounts

export interface CreateAccountInput {
  email: string;
  displayName?: string | null;
  role: Role;
  /** Omitted: the account logs in through IMAP. */
  password?: string | null;
  /** The primary address; the email by default. */
  primaryAddress?: string | null;
  /** Further addresses (aliases) the account owns. */
  addresses?: readonly string[] | null;
}

/**
 * Creates an account. Domain admins create only users, with a login and addresses in their domains.
 * Without a password the account logs in through IMAP.
 */
export async function createAccount(
  store: ConsoleStore,
  actor: Actor,
  input: CreateAccountInput,
  client: ClientInfo = {},
): Promise<AccountView> {
  const facts: AuditFacts = {
    action: 'account.create',
    target: input.email.trim().toLowerCase().slice(0, 320),
    domains: [domainOf(input.email.trim().toLowerCase())],
    detail: { role: input.role },
  };
  const manager = await requireManager(store, actor, client, facts);
  const email = loginEmail(input.email);
  const emailDomain = domainName('email', domainOf(email));
  const role = roleOf(input.role);
  const displayName = displayNameOf(input.displayName ?? '');
  if (input.password != null) newPassword(input.password);
  const settings = await addressSettings(store);
  const addresses = addressList(
    input.primaryAddress != null
      ? { field: 'primaryAddress', raw: input.primaryAddress }
      : { field: 'email', raw: email },
    input.addresses ?? [],
    settings,
  );
  const domains = unique([emailDomain, ...addresses.map(domainOf)]);
  const scoped = { ...facts, target: email, domains, detail: { role, addresses } };
  if (manager.role === 'domainadmin') {
    if (role !== 'user') return refuseAction(store, actor, client, scoped, 'domain admins create only users');
    const outside = domains.find((domain) => !manager.domains.includes(domain));
    if (outside) {
      return refuseAction(store, actor, client, scoped, `${outside} is not a domain you administer`);
    }
  }
  const passwordHash = input.password != null ? await hashPassword(input.password) : null;
  const { db } = store.connection;
  const { accountsTable: a, accountAddressesTable: aa } = store.t;
  const id = await db.transaction(async (tx) => {
    const [clash] = await tx.select({ id: a.id }).from(a).where(eq(a.email, email));
    if (clash) throw new InputError(`email: an account ${email} already exists`);
    await checkAddressesFree(store, tx, addresses, null);
    await tx.insert(a).values({
      email,
      displayName,
      role,
      passwordHash,
      authSource: passwordHash ? 'local' : 'imap',
    });
    const [created] = await tx.select({ id: a.id }).from(a).where(eq(a.email, email));
    if (!created) throw new Error(`the account ${email} was not stored`);
    await tx
      .insert(aa)
      .values(addresses.map((address, i) => ({ accountId: created.id, address, isPrimary: i === 0 })));
    return created.id;
  });
  await accessChanged(store);
  await recordAction(store, actor, client, 'success', {
    ...scoped,
    detail: { id, role, addresses, authSource: passwordHash ? 'local' : 'imap' },
  });
  return mustLoad(store, actor, id);
}

export interface UpdateAccountInput {
  id: number;
  displayName?: string | null;
  role?: Role | null;
  disabled?: boolean | null;
  /** A new password; the account then logs in locally (not through IMAP). */
  password?: string | null;
}

/**
 * Changes an account. Domain admins change only the users of their domains, and no roles. Disabling an
 * account or setting its password ends its sessions. Nobody disables themselves, and the last active
 * superadmin stays one.
 */
export async function updateAccount(
  store: ConsoleStore,
  actor: Actor,
  input: UpdateAccountInput,
  client: ClientInfo = {},
): Promise<AccountView> {
  const facts: AuditFacts = { action: 'account.update', target: `account ${input.id}` };
  const manager = await requireManager(store, actor, client, facts);
  const target = await targetFor(store, manager, client, input.id, facts);
  const scoped = { ...facts, target: target.email, domains: target.addresses.map(domainOf) };
  if (manager.role !== 'superadmin' && input.role != null && input.role !== target.role) {
    return refuseAction(store, actor, client, scoped, 'domain admins cannot change roles');
  }
  const changes: { displayName?: string; role?: Role; disabled?: boolean } = {};
  const detail: Record<string, unknown> = {};
  if (input.displayName != null) {
    const displayName = displayNameOf(input.displayName);
    if (displayName !== target.displayName) {
      changes.displayName = displayName;
      detail.displayName = { from: target.displayName, to: displayName };
    }
  }
  if (input.role != null) {
    const role = roleOf(input.role);
    if (role !== target.role) {
      changes.role = role;
      detail.role = { from: target.role, to: role };
    }
  }
  if (input.disabled != null && input.disabled !== target.disabled) {
    if (input.disabled && target.id === manager.accountId) {
      throw new InputError('disabled: you cannot disable your own account');
    }
    changes.disabled = input.disabled;
    detail.disabled = { from: target.disabled, to: input.disabled };
  }
  if (input.password != null) newPassword(input.password);
  const passwordHash = input.password != null ? await hashPassword(input.password) : null;
  const losesSuperadmin =
    target.role === 'superadmin' &&
    !target.disabled &&
    ((changes.role !== undefined && changes.role !== 'superadmin') || changes.disabled === true);
  if (Object.keys(changes).length === 0 && !passwordHash) return target;
  const { db } = store.connection;
  const { accountsTable: a, domainAdminsTable: da } = store.t;
  await db.transaction(async (tx) => {
    if (losesSuperadmin && (await otherActiveSuperadmins(store, tx, target.id)) === 0) {
      throw new InputError(
        `${changes.role !== undefined ? 'role' : 'disabled'}: ${target.email} is the last active superadmin`,
      );
    }
    await tx
      .update(a)
      .set({ ...changes, ...(passwordHash ? { passwordHash, authSource: 'local' } : {}) })
      .where(eq(a.id, target.id));
    if (changes.role !== undefined && target.role === 'domainadmin') {
      await tx.delete(da).where(eq(da.accountId, target.id));
    }
  });
  await accessChanged(store);
  if (passwordHash || changes.disabled === true) {
    // The caller's own browser stays logged in after resetting its own password.
    await deleteAccountSessions(
      store,
      target.id,
      target.id === manager.accountId ? manager.sessionId : undefined,
    );
  }
  await recordAction(store, actor, client, 'success', {
    ...scoped,
    detail: {
      ...detail,
      ...(passwordHash ? { credentials: 'reset', authSource: 'local' } : {}),
    },
  });
  return mustLoad(store, actor, target.id);
}

/** Deletes an account (its addresses, sessions and tokens go with it). Not one's own; not the last superadmin. */
export async function deleteAccount(
  store: ConsoleStore,
  actor: Actor,
  input: { id: number },
  client: ClientInfo = {},
  /** Given: the addresses' amavis policies and sender lists go too (features/policies). */
  amavis?: AmavisStore,
): Promise<{ id: number }> {
  const facts: AuditFacts = { action: 'account.delete', target: `account ${input.id}` };
  const manager = await requireManager(store, actor, client, facts);
  const target = await targetFor(store, manager, client, input.id, facts);
  const { db } = store.connection;
  const a = store.t.accountsTable;
  await db.transaction(async (tx) => {
    if (target.role === 'superadmin' && (await otherActiveSuperadmins(store, tx, target.id)) === 0) {
      throw new InputError(`id: ${target.email} is the last active superadmin and cannot be deleted`);
    }
    if (target.id === manager.accountId) throw new InputError('id: you cannot delete your own account');
    await tx.delete(a).where(eq(a.id, target.id));
  });
  await accessChanged(store);
  if (amavis) await addressesReleased({ amavis, console: store }, target.addresses);
  await recordAction(store, actor, client, 'success', {
    ...facts,
    target: target.email,
    domains: target.addresses.map(domainOf),
    detail: { id: target.id, role: target.role, addresses: target.addresses },
  });
  return { id: target.id };
}

/**
 * Replaces the mail addresses an account owns, which decide whose quarantine it sees. Domain admins
 * give only addresses in their domains, to users of their domains. An address has one owner.
 */
export async function setAccountAddresses(
  store: ConsoleStore,
  actor: Actor,
  input: { id: number; primary: string; addresses: readonly string[] },
  client: ClientInfo = {},
  /** Given: addresses taken away lose their amavis policies and sender lists (features/policies). */
  amavis?: AmavisStore,
): Promise<AccountView> {
  const facts: AuditFacts = { action: 'account.addresses', target: `account ${input.id}` };
  const manager = await requireManager(store, actor, client, facts);
  const target = await targetFor(store, manager, client, input.id, facts);
  const settings = await addressSettings(store);
  const addresses = addressList({ field: 'primary', raw: input.primary }, input.addresses, settings);
  const scoped = {
    ...facts,
    target: target.email,
    domains: unique([...target.addresses, ...addresses].map(domainOf)),
    detail: { from: target.addresses, to: addresses },
  };
  if (manager.role !== 'superadmin') {
    const outside = addresses.find((address) => !manager.domains.includes(domainOf(address)));
    if (outside) {
      return refuseAction(
        store,
        actor,
        client,
        scoped,
        `${domainOf(outside)} is not a domain you administer`,
      );
    }
  }
  const unchanged =
    addresses.length === target.addresses.length &&
    addresses[0] === target.primaryAddress &&
    addresses.every((address) => target.addresses.includes(address));
  if (unchanged) return target;
  const { db } = store.connection;
  const aa = store.t.accountAddressesTable;
  await db.transaction(async (tx) => {
    await checkAddressesFree(store, tx, addresses, target.id);
    await tx.delete(aa).where(eq(aa.accountId, target.id));
    await tx
      .insert(aa)
      .values(addresses.map((address, i) => ({ accountId: target.id, address, isPrimary: i === 0 })));
  });
  await accessChanged(store);
  if (amavis) {
    const released = target.addresses.filter((address) => !addresses.includes(address));
    await addressesReleased({ amavis, console: store }, released);
  }
  await recordAction(store, actor, client, 'success', scoped);
  return mustLoad(store, actor, target.id);
}

// ---------------------------------------------------------------------------------------------------
// Domains

function domainColumns(store: ConsoleStore) {
  const d = store.t.domainsTable;
  return { id: d.id, name: d.name, createdAt: d.createdAt };
}

async function domainViewsOf(
  store: ConsoleStore,
  actor: Actor,
  rows: { id: number; name: string; createdAt: Date }[],
  /** Inside a transaction, its handle: PGlite has one connection, which the transaction holds. */
  db: Tx | Db = store.connection.db,
): Promise<DomainView[]> {
  if (rows.length === 0) return [];
  const { domainAliasesTable: al, domainAdminsTable: da } = store.t;
  const ids = rows.map((row) => row.id);
  const aliases = await db
    .select({ domainId: al.domainId, name: al.name })
    .from(al)
    .where(inArray(al.domainId, ids))
    .orderBy(asc(al.name));
  const admins = await db
    .select({ domainId: da.domainId, accountId: da.accountId })
    .from(da)
    .where(inArray(da.domainId, ids))
    .orderBy(asc(da.accountId));
  const seesAdmin = (accountId: number) =>
    actor.kind === 'account' && (actor.role === 'superadmin' || actor.accountId === accountId);
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    createdAt: row.createdAt,
    aliases: aliases.filter((alias) => alias.domainId === row.id).map((alias) => alias.name),
    adminIds: admins
      .filter((admin) => admin.domainId === row.id && seesAdmin(admin.accountId))
      .map((admin) => admin.accountId),
  }));
}

/** Which domains the caller sees: superadmins all, domain admins theirs, others none. */
function domainsVisibleTo(store: ConsoleStore, actor: Actor): SQL | undefined {
  if (actor.kind !== 'account') return NOTHING;
  if (actor.role === 'superadmin') return undefined;
  if (actor.role !== 'domainadmin') return NOTHING;
  const { domainsTable: d, domainAdminsTable: da } = store.t;
  return inArray(
    d.id,
    store.connection.db.select({ id: da.domainId }).from(da).where(eq(da.accountId, actor.accountId)),
  );
}

/** Mail domains by name: superadmins see all, domain admins the ones they administer. */
export async function listDomains(
  store: ConsoleStore,
  actor: Actor,
  client: ClientInfo = {},
): Promise<DomainView[]> {
  if (actor.kind !== 'account' || (actor.role !== 'superadmin' && actor.role !== 'domainadmin')) {
    return refuseAction(
      store,
      actor,
      client,
      { action: 'domain.list', target: 'domains' },
      'only superadmins and domain admins list domains',
    );
  }
  const d = store.t.domainsTable;
  const rows = await store.connection.db
    .select(domainColumns(store))
    .from(d)
    .where(domainsVisibleTo(store, actor))
    .orderBy(asc(d.name));
  return domainViewsOf(store, actor, rows);
}

/** Domains by id, in the order asked; null where there is none or the caller may not see it. */
export async function findDomains(
  store: ConsoleStore,
  actor: Actor,
  ids: readonly number[],
): Promise<(DomainView | null)[]> {
  const wanted = unique(ids.filter((id) => Number.isSafeInteger(id)));
  if (wanted.length === 0) return ids.map(() => null);
  const d = store.t.domainsTable;
  const rows = await store.connection.db
    .select(domainColumns(store))
    .from(d)
    .where(and(inArray(d.id, wanted), domainsVisibleTo(store, actor)));
  const views = new Map((await domainViewsOf(store, actor, rows)).map((view) => [view.id, view]));
  return ids.map((id) => views.get(id) ?? null);
}

async function mustLoadDomain(store: ConsoleStore, actor: Actor, id: number): Promise<DomainView> {
  const [view] = await findDomains(store, actor, [id]);
  if (!view) throw new Error(`domain ${id} vanished`);
  return view;
}

async function domainRow(store: ConsoleStore, tx: Tx | Db, field: string, id: number) {
  const d = store.t.domainsTable;
  const [row] = Number.isSafeInteger(id)
    ? await tx.select(domainColumns(store)).from(d).where(eq(d.id, id))
    : [];
  if (!row) throw new InputError(`${field}: no such domain`);
  return row;
}

/** Refuses a name that is already a domain or an alias (other than `except`, when renaming). */
async function checkNameFree(
  store: ConsoleStore,
  tx: Tx,
  field: string,
  name: string,
  except?: { domainId: number },
): Promise<void> {
  const { domainsTable: d, domainAliasesTable: al } = store.t;
  const [domain] = await tx
    .select({ id: d.id })
    .from(d)
    .where(and(eq(d.name, name), except ? ne(d.id, except.domainId) : undefined));
  if (domain) throw new InputError(`${field}: the domain ${name} already exists`);
  const [alias] = await tx
    .select({ of: d.name })
    .from(al)
    .innerJoin(d, eq(d.id, al.domainId))
    .where(eq(al.name, name));
  if (alias) throw new InputError(`${field}: ${name} is already an alias of ${alias.of}`);
}

function requestedName(raw: string): string {
  return raw.trim().toLowerCase().slice(0, 255);
}

export async function createDomain(
  store: ConsoleStore,
  actor: Actor,
  input: { name: string },
  client: ClientInfo = {},
  /** Given: amavis gets the domain's users row and policy (features/policies). */
  amavis?: AmavisStore,
): Promise<DomainView> {
  const facts = {
    action: 'domain.create',
    target: requestedName(input.name),
    domains: [requestedName(input.name)],
  };
  await requireSuperadminWriter(store, actor, client, facts);
  const name = domainName('name', input.name);
  const { db } = store.connection;
  const d = store.t.domainsTable;
  const id = await db.transaction(async (tx) => {
    await checkNameFree(store, tx, 'name', name);
    await tx.insert(d).values({ name });
    const [created] = await tx.select({ id: d.id }).from(d).where(eq(d.name, name));
    if (!created) throw new Error(`the domain ${name} was not stored`);
    return created.id;
  });
  await accessChanged(store);
  if (amavis) await domainCreated({ amavis, console: store }, name);
  await recordAction(store, actor, client, 'success', {
    ...facts,
    target: name,
    domains: [name],
    detail: { id },
  });
  return mustLoadDomain(store, actor, id);
}

/** Renames a domain. Owned addresses are full addresses and keep their old domain. */
export async function renameDomain(
  store: ConsoleStore,
  actor: Actor,
  input: { id: number; name: string },
  client: ClientInfo = {},
  /** Given: the domain's amavis users row and policy follow (features/policies). */
  amavis?: AmavisStore,
): Promise<DomainView> {
  const facts = {
    action: 'domain.rename',
    target: `domain ${input.id}`,
    domains: [requestedName(input.name)],
  };
  await requireSuperadminWriter(store, actor, client, facts);
  const name = domainName('name', input.name);
  const { db } = store.connection;
  const d = store.t.domainsTable;
  const from = await db.transaction(async (tx) => {
    const row = await domainRow(store, tx, 'id', input.id);
    if (row.name === name) return row.name;
    await checkNameFree(store, tx, 'name', name, { domainId: row.id });
    await tx.update(d).set({ name }).where(eq(d.id, row.id));
    return row.name;
  });
  await accessChanged(store);
  if (amavis && from !== name) await domainRenamed({ amavis, console: store }, from, name);
  if (from !== name) {
    await recordAction(store, actor, client, 'success', {
      ...facts,
      target: name,
      domains: [from, name],
      detail: { id: input.id, from, to: name },
    });
  }
  return mustLoadDomain(store, actor, input.id);
}

/** Deletes a domain with its aliases and admin assignments; accounts and their addresses stay. */
export async function deleteDomain(
  store: ConsoleStore,
  actor: Actor,
  input: { id: number },
  client: ClientInfo = {},
  /** Given: the domain's amavis rows go, with its aliases' and its addresses' (features/policies). */
  amavis?: AmavisStore,
): Promise<{ id: number }> {
  const facts = { action: 'domain.delete', target: `domain ${input.id}` };
  await requireSuperadminWriter(store, actor, client, facts);
  const { db } = store.connection;
  const d = store.t.domainsTable;
  const deleted = await db.transaction(async (tx) => {
    const row = await domainRow(store, tx, 'id', input.id);
    const [view] = await domainViewsOf(store, actor, [row], tx);
    await tx.delete(d).where(eq(d.id, row.id));
    return view;
  });
  await accessChanged(store);
  if (amavis && deleted) await domainDeleted({ amavis, console: store }, deleted.name, deleted.aliases);
  await recordAction(store, actor, client, 'success', {
    ...facts,
    target: deleted?.name ?? facts.target,
    domains: [deleted?.name],
    detail: { id: input.id, aliases: deleted?.aliases ?? [], adminIds: deleted?.adminIds ?? [] },
  });
  return { id: input.id };
}

/** Adds an alias domain: mail to it counts as mail to the domain for its admins. */
export async function addDomainAlias(
  store: ConsoleStore,
  actor: Actor,
  input: { domainId: number; name: string },
  client: ClientInfo = {},
  /** Given: the alias gets a users row sharing the domain's policy (features/policies). */
  amavis?: AmavisStore,
): Promise<DomainView> {
  const facts = {
    action: 'domain.alias.add',
    target: requestedName(input.name),
    domains: [requestedName(input.name)],
  };
  await requireSuperadminWriter(store, actor, client, facts);
  const name = domainName('name', input.name);
  const { db } = store.connection;
  const al = store.t.domainAliasesTable;
  const domain = await db.transaction(async (tx) => {
    const row = await domainRow(store, tx, 'domainId', input.domainId);
    await checkNameFree(store, tx, 'name', name);
    await tx.insert(al).values({ name, domainId: row.id });
    return row;
  });
  await accessChanged(store);
  if (amavis) await domainAliasAdded({ amavis, console: store }, domain.name, name);
  await recordAction(store, actor, client, 'success', {
    ...facts,
    target: `${name} (alias of ${domain.name})`,
    domains: [domain.name, name],
    detail: { domainId: domain.id, alias: name },
  });
  return mustLoadDomain(store, actor, domain.id);
}

export async function removeDomainAlias(
  store: ConsoleStore,
  actor: Actor,
  input: { domainId: number; name: string },
  client: ClientInfo = {},
  /** Given: the alias's amavis users row goes (features/policies). */
  amavis?: AmavisStore,
): Promise<DomainView> {
  const facts = {
    action: 'domain.alias.remove',
    target: requestedName(input.name),
    domains: [requestedName(input.name)],
  };
  await requireSuperadminWriter(store, actor, client, facts);
  const name = domainName('name', input.name);
  const { db } = store.connection;
  const al = store.t.domainAliasesTable;
  const domain = await db.transaction(async (tx) => {
    const row = await domainRow(store, tx, 'domainId', input.domainId);
    const [alias] = await tx
      .select({ id: al.id })
      .from(al)
      .where(and(eq(al.name, name), eq(al.domainId, row.id)));
    if (!alias) throw new InputError(`name: ${name} is not an alias of ${row.name}`);
    await tx.delete(al).where(eq(al.id, alias.id));
    return row;
  });
  await accessChanged(store);
  if (amavis) await domainAliasRemoved({ amavis, console: store }, name);
  await recordAction(store, actor, client, 'success', {
    ...facts,
    target: `${name} (alias of ${domain.name})`,
    domains: [domain.name, name],
    detail: { domainId: domain.id, alias: name },
  });
  return mustLoadDomain(store, actor, domain.id);
}

/** Replaces a domain's admins; each must be a domain admin account. */
export async function setDomainAdmins(
  store: ConsoleStore,
  actor: Actor,
  input: { domainId: number; accountIds: readonly number[] },
  client: ClientInfo = {},
): Promise<DomainView> {
  const facts = { action: 'domain.admins', target: `domain ${input.domainId}` };
  await requireSuperadminWriter(store, actor, client, facts);
  const accountIds = unique(input.accountIds);
  const { db } = store.connection;
  const { accountsTable: a, domainAdminsTable: da } = store.t;
  const result = await db.transaction(async (tx) => {
    const domain = await domainRow(store, tx, 'domainId', input.domainId);
    const valid = accountIds.filter((id) => Number.isSafeInteger(id));
    const accounts =
      valid.length === 0
        ? []
        : await tx.select({ id: a.id, email: a.email, role: a.role }).from(a).where(inArray(a.id, valid));
    for (const id of accountIds) {
      const account = accounts.find((row) => row.id === id);
      if (!account) throw new InputError('accountIds: no such account');
      if (account.role !== 'domainadmin') {
        throw new InputError(`accountIds: ${account.email} is not a domain admin (role ${account.role})`);
      }
    }
    const before = await tx
      .select({ email: a.email })
      .from(da)
      .innerJoin(a, eq(a.id, da.accountId))
      .where(eq(da.domainId, domain.id))
      .orderBy(asc(a.email));
    await tx.delete(da).where(eq(da.domainId, domain.id));
    if (accountIds.length > 0) {
      await tx.insert(da).values(accountIds.map((accountId) => ({ accountId, domainId: domain.id })));
    }
    return {
      domain,
      from: before.map((row) => row.email),
      to: accounts.map((row) => row.email).sort(),
    };
  });
  await accessChanged(store);
  await recordAction(store, actor, client, 'success', {
    ...facts,
    target: result.domain.name,
    domains: [result.domain.name],
    detail: { from: result.from, to: result.to },
  });
  return mustLoadDomain(store, actor, result.domain.id);
}
