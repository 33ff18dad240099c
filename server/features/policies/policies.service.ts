// Per-domain and per-address amavis policies, kept in amavisd's own lookup tables (users, policy), and
// the users/policy/wblist/mailaddr bookkeeping that follows the console's domains, aliases and
// accounts. amavisd matches a recipient against users rows by key (README.lookups: the address, @domain,
// @.parent…, @.) in priority order, and takes each field from the first row whose policy sets it: so a
// domain row has priority 5, an address row 9, the catch-all @. 0, and "inherit" is NULL, never ''.
import { and, count, eq, inArray, notInArray, or, type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../../access/actor.ts';
import {
  AddressError,
  type AddressSettings,
  normaliseAddress,
  normaliseDomain,
} from '../../access/address-matching.ts';
import { ForbiddenError } from '../../access/forbidden-error.ts';
import {
  keyPriority,
  type MatchedUsersRow,
  matchingUsersRows,
  type PolicyRow,
  withoutExtension,
} from '../../amavis/policy-lookup.ts';
import { recordAction, refuseAction } from '../../audit/audit-log.ts';
import { retryingTransaction } from '../../db/database.ts';
import { escapeLike } from '../../db/like.ts';
import type { AmavisStore, ConsoleStore } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';
import type { ClientInfo } from '../auth/auth.service.ts';
import { getSettings, type Settings, updateSettings } from '../settings/settings.service.ts';
import {
  POLICY_FIELD_BY_KEY,
  POLICY_FIELD_KEYS,
  POLICY_FIELDS,
  type PolicyFieldInfo,
  type PolicyFieldKey,
} from './policy-fields.ts';

export interface PolicyStores {
  amavis: AmavisStore;
  console: ConsoleStore;
}

type AmavisDb = AmavisStore['connection']['db'];
export type AmavisTx = Parameters<Parameters<AmavisDb['transaction']>[0]>[0];
type Db = AmavisDb | AmavisTx;

// ---------------------------------------------------------------------------------------------------
// Owners: the users.email a policy or sender list belongs to

export type OwnerScope = 'global' | 'domain' | 'address';

export interface Owner {
  /** The users.email key: '@.', '@example.com' or 'user@example.com'. */
  key: string;
  scope: OwnerScope;
  /** The mail domain (null for global). */
  domain: string | null;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** Parses '@.', '@domain' or an address; a domain must be one of the console's (an alias: its domain). */
export async function parseOwner(
  store: ConsoleStore,
  raw: string,
  settings: AddressSettings,
  field = 'owner',
): Promise<Owner> {
  const text = raw.trim();
  if (text === '@.') return { key: '@.', scope: 'global', domain: null };
  try {
    if (text.startsWith('@')) {
      const domain = await canonicalDomain(store, normaliseDomain(text.slice(1)));
      if (!domain) {
        throw new InputError(`${field}: ${text.slice(1)} is not a domain of this console`);
      }
      return { key: `@${domain}`, scope: 'domain', domain };
    }
    const address = normaliseAddress(text, settings);
    return { key: address, scope: 'address', domain: domainOf(address) };
  } catch (error) {
    if (error instanceof AddressError) throw new InputError(`${field}: ${error.message}`);
    throw error;
  }
}

/** The console domain `name` is, or is an alias of; null when it is neither. */
async function canonicalDomain(store: ConsoleStore, name: string): Promise<string | null> {
  const { domainsTable: d, domainAliasesTable: al } = store.t;
  const [domain] = await store.connection.db.select({ name: d.name }).from(d).where(eq(d.name, name));
  if (domain) return domain.name;
  const [alias] = await store.connection.db
    .select({ name: d.name })
    .from(al)
    .innerJoin(d, eq(d.id, al.domainId))
    .where(eq(al.name, name));
  return alias?.name ?? null;
}

/** The alias domains of a console domain. */
async function aliasesOf(store: ConsoleStore, domain: string): Promise<string[]> {
  const { domainsTable: d, domainAliasesTable: al } = store.t;
  const rows = await store.connection.db
    .select({ name: al.name })
    .from(al)
    .innerJoin(d, eq(d.id, al.domainId))
    .where(eq(d.name, domain));
  return rows.map((row) => row.name);
}

// ---------------------------------------------------------------------------------------------------
// amavis lookup-table plumbing (sender-lists uses it too)

const bin = (key: string) => Buffer.from(key, 'utf8');

export async function insertPolicy(
  store: AmavisStore,
  tx: Db,
  values: Partial<PolicyRow> & { policyName: string },
): Promise<number> {
  const p = store.t.policyTable;
  const { id: _id, ...rest } = values;
  if (store.connection.dialect === 'pg') {
    const [created] = await tx.insert(p).values(rest).returning({ id: p.id });
    if (!created) throw new Error('the policy row was not stored');
    return created.id;
  }
  const result = (await tx.insert(p).values(rest)) as unknown as [{ insertId: number }];
  return result[0].insertId;
}

export interface UsersRowRef {
  usersId: number;
  policyId: number;
  priority: number;
}

export async function findUsersRow(
  store: AmavisStore,
  db: Db,
  key: string,
  options: { lock?: boolean } = {},
): Promise<UsersRowRef | null> {
  const u = store.t.usersTable;
  const query = db
    .select({ usersId: u.id, policyId: u.policyId, priority: u.priority })
    .from(u)
    .where(eq(u.email, bin(key)));
  const [row] = options.lock ? await query.for('update') : await query;
  return row ?? null;
}

/**
 * Runs an INSERT of a row with a unique email that does nothing when the email is taken: two requests
 * creating the same key at once then share one row instead of one failing on the unique key. Read the
 * row afterwards with a locking read, which on MariaDB sees the other transaction's committed row
 * (a plain read would see the transaction's older snapshot).
 */
export async function insertUnlessTaken(store: AmavisStore, tx: Db, insert: SQL): Promise<void> {
  await tx.execute(
    store.connection.dialect === 'pg'
      ? sql`${insert} on conflict (email) do nothing`
      : sql`${insert} on duplicate key update id = id`,
  );
}

/**
 * The users row for `key`, created with an empty policy of its own (every field NULL: it inherits all)
 * when missing. An existing row (modoboa's, amavisd's sample data, the learning feature's) is adopted,
 * its priority set to README.lookups' value for its kind of key so rows never tie.
 */
export async function ensureUsersRow(
  store: AmavisStore,
  tx: Db,
  key: string,
  options: { policyId?: number } = {},
): Promise<UsersRowRef> {
  const u = store.t.usersTable;
  const priority = keyPriority(key);
  const existing = await findUsersRow(store, tx, key);
  if (existing) {
    const changes: { priority?: number; policyId?: number } = {};
    if (existing.priority !== priority) changes.priority = priority;
    if (options.policyId !== undefined && existing.policyId !== options.policyId) {
      changes.policyId = options.policyId;
    }
    if (Object.keys(changes).length > 0) await tx.update(u).set(changes).where(eq(u.id, existing.usersId));
    return { ...existing, ...changes };
  }
  const ownPolicy = options.policyId === undefined;
  const policyId = options.policyId ?? (await insertPolicy(store, tx, { policyName: key.slice(0, 32) }));
  await insertUnlessTaken(
    store,
    tx,
    sql`insert into ${u} (email, priority, policy_id, fullname) values (${bin(key)}, ${priority}, ${policyId}, ${key.slice(0, 255)})`,
  );
  const created = await findUsersRow(store, tx, key, { lock: true });
  if (!created) throw new Error(`the users row ${key} was not stored`);
  if (ownPolicy && created.policyId !== policyId) {
    // another request made the row first: the policy made for it is nobody's
    await tx.delete(store.t.policyTable).where(eq(store.t.policyTable.id, policyId));
  }
  return created;
}

/**
 * Deletes users rows with their wblist rows, then what only they used: their policies (when named after
 * a key, as the console, modoboa and amavisd's samples name per-owner policies; an operator's shared
 * "Normal" policy stays) and the mailaddr rows no wblist row refers to any more.
 */
export async function purgeUsersRows(store: AmavisStore, tx: Db, usersIds: readonly number[]): Promise<void> {
  if (usersIds.length === 0) return;
  const { usersTable: u, policyTable: p, wblistTable: w } = store.t;
  const ids = [...usersIds];
  const rows = await tx.select({ policyId: u.policyId, email: u.email }).from(u).where(inArray(u.id, ids));
  const senders = await tx.select({ sid: w.sid }).from(w).where(inArray(w.rid, ids));
  await tx.delete(w).where(inArray(w.rid, ids));
  await tx.delete(u).where(inArray(u.id, ids));
  const policyIds = [...new Set(rows.map((row) => row.policyId))];
  if (policyIds.length > 0) {
    const stillUsed = await tx
      .selectDistinct({ policyId: u.policyId })
      .from(u)
      .where(inArray(u.policyId, policyIds));
    const used = new Set(stillUsed.map((row) => row.policyId));
    const keys = rows.map((row) => Buffer.from(row.email).toString('utf8').slice(0, 32));
    const orphans = policyIds.filter((id) => !used.has(id));
    if (orphans.length > 0) {
      await tx.delete(p).where(and(inArray(p.id, orphans), inArray(p.policyName, keys)));
    }
  }
  await purgeOrphanMailaddr(
    store,
    tx,
    senders.map((s) => s.sid),
  );
}

/** Deletes the mailaddr rows among `sids` that no wblist row uses any more. */
export async function purgeOrphanMailaddr(
  store: AmavisStore,
  tx: Db,
  sids: readonly number[],
): Promise<void> {
  const candidates = [...new Set(sids)];
  if (candidates.length === 0) return;
  const { wblistTable: w, mailaddrTable: m } = store.t;
  const used = await tx.selectDistinct({ sid: w.sid }).from(w).where(inArray(w.sid, candidates));
  const orphans = candidates.filter((sid) => !used.some((row) => row.sid === sid));
  if (orphans.length > 0) await tx.delete(m).where(inArray(m.id, orphans));
}

/** users rows whose key is one of `keys` or an address in one of `domains`. */
async function usersIdsFor(
  store: AmavisStore,
  db: Db,
  keys: readonly string[],
  domains: readonly string[],
): Promise<number[]> {
  const u = store.t.usersTable;
  const conditions: SQL[] = [];
  if (keys.length > 0) conditions.push(inArray(u.email, keys.map(bin)));
  for (const domain of domains) {
    const pattern = bin(`%@${escapeLike(domain)}`);
    // PGlite types an untyped parameter next to bytea LIKE as text: say it is bytea
    const typed = store.connection.dialect === 'pg' ? sql`cast(${pattern} as bytea)` : sql`${pattern}`;
    conditions.push(sql`${u.email} like ${typed} escape '!'`);
  }
  if (conditions.length === 0) return [];
  const rows = await db
    .select({ id: u.id })
    .from(u)
    .where(or(...conditions));
  return rows.map((row) => row.id);
}

/** Deletes the console's sender-list metadata of these owners (and addresses in these domains). */
async function purgeConsoleEntries(
  store: ConsoleStore,
  keys: readonly string[],
  domains: readonly string[] = [],
): Promise<void> {
  const e = store.t.senderListEntriesTable;
  const conditions: SQL[] = [];
  if (keys.length > 0) conditions.push(inArray(e.owner, [...keys]));
  for (const domain of domains) conditions.push(sql`${e.owner} like ${`%@${escapeLike(domain)}`} escape '!'`);
  if (conditions.length === 0) return;
  await store.connection.db.delete(e).where(or(...conditions));
}

// ---------------------------------------------------------------------------------------------------
// Following the console's domains, aliases and accounts (called by accounts.service)

/** A new console domain gets its users row '@domain' (priority 5) and an empty policy. */
export async function domainCreated(stores: PolicyStores, name: string): Promise<void> {
  const { amavis } = stores;
  await retryingTransaction(amavis.connection, async (tx) => {
    await ensureUsersRow(amavis, tx, `@${name}`);
  });
}

/** A renamed domain's row follows (key, fullname, policy name); its sender-list metadata too. */
export async function domainRenamed(stores: PolicyStores, from: string, to: string): Promise<void> {
  if (from === to) return;
  const { amavis } = stores;
  const { usersTable: u, policyTable: p } = amavis.t;
  await retryingTransaction(amavis.connection, async (tx) => {
    const stale = await findUsersRow(amavis, tx, `@${to}`);
    if (stale) await purgeUsersRows(amavis, tx, [stale.usersId]);
    const row = await findUsersRow(amavis, tx, `@${from}`);
    if (!row) {
      await ensureUsersRow(amavis, tx, `@${to}`);
      return;
    }
    await tx
      .update(u)
      .set({ email: bin(`@${to}`), fullname: `@${to}`.slice(0, 255), priority: keyPriority(`@${to}`) })
      .where(eq(u.id, row.usersId));
    await tx
      .update(p)
      .set({ policyName: `@${to}`.slice(0, 32) })
      .where(and(eq(p.id, row.policyId), eq(p.policyName, `@${from}`.slice(0, 32))));
  });
  const e = stores.console.t.senderListEntriesTable;
  await stores.console.connection.db
    .update(e)
    .set({ owner: `@${to}` })
    .where(eq(e.owner, `@${from}`));
}

/**
 * A deleted domain leaves nothing in amavis's lookup tables: its row and its aliases', every address
 * row in them, their wblist rows, the policies only they used and the mailaddr rows nobody uses.
 */
export async function domainDeleted(
  stores: PolicyStores,
  name: string,
  aliases: readonly string[],
): Promise<void> {
  const { amavis } = stores;
  const domains = [name, ...aliases];
  await retryingTransaction(amavis.connection, async (tx) => {
    const ids = await usersIdsFor(
      amavis,
      tx,
      domains.map((d) => `@${d}`),
      domains,
    );
    await purgeUsersRows(amavis, tx, ids);
  });
  await purgeConsoleEntries(
    stores.console,
    domains.map((d) => `@${d}`),
    domains,
  );
}

/**
 * An alias domain shares its domain's policy (its own users row points to it) and gets a copy of the
 * domain's sender list: amavisd keys wblist by users.id, so '@alias' needs rows of its own.
 */
export async function domainAliasAdded(stores: PolicyStores, domain: string, alias: string): Promise<void> {
  const { amavis } = stores;
  const w = amavis.t.wblistTable;
  await retryingTransaction(amavis.connection, async (tx) => {
    const main = await ensureUsersRow(amavis, tx, `@${domain}`);
    const own = await findUsersRow(amavis, tx, `@${alias}`);
    if (own && own.policyId !== main.policyId) {
      // an alias row of its own (a former domain's): start from a clean slate
      await purgeUsersRows(amavis, tx, [own.usersId]);
    }
    const row = await ensureUsersRow(amavis, tx, `@${alias}`, { policyId: main.policyId });
    const list = await tx.select({ sid: w.sid, wb: w.wb }).from(w).where(eq(w.rid, main.usersId));
    await tx.delete(w).where(eq(w.rid, row.usersId));
    if (list.length > 0)
      await tx.insert(w).values(list.map((e) => ({ rid: row.usersId, sid: e.sid, wb: e.wb })));
  });
}

/** A removed alias domain's row goes, with the address rows in it. */
export async function domainAliasRemoved(stores: PolicyStores, alias: string): Promise<void> {
  const { amavis } = stores;
  await retryingTransaction(amavis.connection, async (tx) => {
    await purgeUsersRows(amavis, tx, await usersIdsFor(amavis, tx, [`@${alias}`], [alias]));
  });
  await purgeConsoleEntries(stores.console, [`@${alias}`], [alias]);
}

/** Addresses no account owns any more (a deleted account, a removed address) lose their rows. */
export async function addressesReleased(stores: PolicyStores, addresses: readonly string[]): Promise<void> {
  if (addresses.length === 0) return;
  const { amavis } = stores;
  await retryingTransaction(amavis.connection, async (tx) => {
    await purgeUsersRows(amavis, tx, await usersIdsFor(amavis, tx, addresses, []));
  });
  await purgeConsoleEntries(stores.console, addresses);
}

// ---------------------------------------------------------------------------------------------------
// Who may see and change which policy

/**
 * Whether the actor may read the owner's policy and sender list: superadmins all; domain admins their
 * domains and the addresses in them; users their own addresses (and extensions of them, user+tag@,
 * which amavisd looks up before user@).
 */
export function mayRead(actor: Actor, owner: Owner, recipientDelimiter = ''): boolean {
  if (actor.kind !== 'account') return false;
  if (actor.role === 'superadmin') return true;
  if (owner.scope === 'global') return false;
  if (actor.role === 'domainadmin' && owner.domain && actor.domains.includes(owner.domain)) return true;
  if (owner.scope !== 'address') return false;
  return (
    actor.addresses.includes(owner.key) ||
    actor.addresses.includes(withoutExtension(owner.key, recipientDelimiter))
  );
}

/** The fields the actor may change in the owner's policy (superadmins: all). */
export function editableFields(actor: Actor, owner: Owner, settings: Settings): PolicyFieldKey[] {
  if (actor.kind !== 'account' || actor.access !== 'full') return [];
  if (!mayRead(actor, owner, settings.recipientDelimiter)) return [];
  if (actor.role === 'superadmin') return [...POLICY_FIELD_KEYS];
  if (actor.role === 'domainadmin' && owner.domain && actor.domains.includes(owner.domain)) {
    return [...settings.domainAdminPolicyFields];
  }
  return owner.scope === 'address' ? [...settings.userPolicyFields] : [];
}

// ---------------------------------------------------------------------------------------------------
// Values: what the columns hold, what callers send

/** A field's value: null inherits (NULL); a flag is true/false; a level or size a number; text a string. */
export type PolicyValue = boolean | number | string | null;
export type PolicyValues = Record<PolicyFieldKey, PolicyValue>;

/** How amavisd reads a char(1) boolean (README.lookups): N, n, F, f, 0, NUL, space and '' are false. */
export function flagValue(stored: string): boolean {
  return !/^[NnFf0\0 ]?\s*$/.test(stored);
}

function rowValue(row: PolicyRow | null, field: PolicyFieldInfo): PolicyValue {
  if (!row) return null;
  const raw = (row as Record<string, unknown>)[field.key];
  if (raw === null || raw === undefined) return null;
  if (field.kind === 'flag') return flagValue(String(raw));
  if (field.kind === 'level') return Math.round(Number(raw) * 1000) / 1000;
  if (field.kind === 'size') return Number(raw);
  return String(raw);
}

export function policyValues(row: PolicyRow | null): PolicyValues {
  return Object.fromEntries(POLICY_FIELDS.map((f) => [f.key, rowValue(row, f)])) as PolicyValues;
}

const LEVEL_MIN = -1000;
const LEVEL_MAX = 10_000;
const SIZE_MAX = 2_147_483_647;

/** Checks one change and turns it into the column value; throws InputError naming the field. */
function columnValue(field: PolicyFieldInfo, value: PolicyValue): string | number | null {
  if (value === null) return null;
  switch (field.kind) {
    case 'flag':
      if (typeof value !== 'boolean') throw new InputError(`${field.key}: on, off or inherit`);
      return value ? 'Y' : 'N';
    case 'level':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new InputError(`${field.key}: a number (a SpamAssassin score) or inherit`);
      }
      if (value < LEVEL_MIN || value > LEVEL_MAX) {
        throw new InputError(`${field.key}: ${value} is outside ${LEVEL_MIN}…${LEVEL_MAX}`);
      }
      return value;
    case 'size':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > SIZE_MAX) {
        throw new InputError(
          `${field.key}: a whole number of bytes from 0 (no limit) to ${SIZE_MAX}, or inherit`,
        );
      }
      return value;
    case 'text': {
      if (typeof value !== 'string') throw new InputError(`${field.key}: a text or inherit`);
      const max = field.maxLength ?? 64;
      if (value.length > max) throw new InputError(`${field.key}: at most ${max} characters`);
      // control characters would end up in headers (subject tags) or addresses
      if (/\p{Cc}/u.test(value))
        throw new InputError(`${field.key}: no control characters (line breaks, tabs)`);
      return value;
    }
  }
}

/** Level pairs that must not be reversed within one policy: [lower, higher, why]. */
const LEVEL_ORDER: readonly [PolicyFieldKey, PolicyFieldKey, string][] = [
  ['spamTagLevel', 'spamTag2Level', 'headers are added before mail is declared spam'],
  ['spamTag2Level', 'spamTag3Level', 'blatant spam is spam first'],
  ['spamTag2Level', 'spamKillLevel', 'mail is declared spam before it is quarantined'],
  ['spamKillLevel', 'spamDsnCutoffLevel', 'bounces stop at or above the quarantine level'],
  ['spamKillLevel', 'spamQuarantineCutoffLevel', 'the quarantine cutoff is at or above the quarantine level'],
];

/** Refuses levels set in one policy in an order amavisd would make no sense of. */
export function checkLevelOrder(values: PolicyValues): void {
  for (const [low, high, why] of LEVEL_ORDER) {
    const a = values[low];
    const b = values[high];
    if (typeof a === 'number' && typeof b === 'number' && a > b) {
      throw new InputError(`${high}: ${b} is below ${low} ${a} (${why})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Reading and changing policies

export interface PolicyView {
  owner: Owner;
  /** Whether amavis has a users row for the owner (otherwise every field inherits). */
  exists: boolean;
  priority: number | null;
  policyId: number | null;
  policyName: string | null;
  /** Other users keys sharing this policy (a domain's aliases). */
  sharedWith: string[];
  values: PolicyValues;
  /** The fields the caller may change. */
  editable: PolicyFieldKey[];
}

async function loadPolicy(
  stores: PolicyStores,
  actor: Actor,
  owner: Owner,
  settings: Settings,
): Promise<PolicyView> {
  const { amavis } = stores;
  const { usersTable: u, policyTable: p } = amavis.t;
  const db = amavis.connection.db;
  const row = await findUsersRow(amavis, db, owner.key);
  const [policy] = row ? await db.select().from(p).where(eq(p.id, row.policyId)) : [];
  const sharing = row
    ? await db
        .select({ email: u.email })
        .from(u)
        .where(and(eq(u.policyId, row.policyId), notInArray(u.id, [row.usersId])))
    : [];
  return {
    owner,
    exists: Boolean(row),
    priority: row?.priority ?? null,
    policyId: row?.policyId ?? null,
    policyName: policy?.policyName ?? null,
    sharedWith: sharing.map((s) => Buffer.from(s.email).toString('utf8')).sort(),
    values: policyValues(policy ?? null),
    editable: editableFields(actor, owner, settings),
  };
}

/**
 * The settings and the owner named by `text`, when the caller may see what it owns; otherwise the read
 * is refused with `refusal` and audited as `action`.
 */
export async function readableOwner(
  stores: PolicyStores,
  actor: Actor,
  text: string,
  client: ClientInfo,
  action: string,
  refusal: string,
): Promise<{ settings: Settings; owner: Owner }> {
  const settings = await getSettings(stores.console);
  const owner = await parseOwner(stores.console, text, settings);
  if (!mayRead(actor, owner, settings.recipientDelimiter)) {
    return refuseAction(
      stores.console,
      actor,
      client,
      { action, target: owner.key, domains: [owner.domain] },
      refusal,
    );
  }
  return { settings, owner };
}

/** The policy of '@.', '@domain' or an address, as far as the caller may see it. */
export async function getPolicy(
  stores: PolicyStores,
  actor: Actor,
  input: { owner: string },
  client: ClientInfo = {},
): Promise<PolicyView> {
  const { settings, owner } = await readableOwner(
    stores,
    actor,
    input.owner,
    client,
    'policy.view',
    'you may not see this policy',
  );
  return loadPolicy(stores, actor, owner, settings);
}

const MAX_LISTED = 1000;

/**
 * The addresses of a domain (and its aliases) that have users rows of their own, with their policies,
 * by address: what overrides the domain policy. At most 1000.
 */
export async function listAddressPolicies(
  stores: PolicyStores,
  actor: Actor,
  input: { domain: string },
  client: ClientInfo = {},
): Promise<PolicyView[]> {
  const settings = await getSettings(stores.console);
  const owner = await parseOwner(
    stores.console,
    `@${input.domain.trim().replace(/^@/, '')}`,
    settings,
    'domain',
  );
  if (owner.scope !== 'domain' || !owner.domain || !mayRead(actor, owner, settings.recipientDelimiter)) {
    return refuseAction(
      stores.console,
      actor,
      client,
      { action: 'policy.list', target: owner.key, domains: [owner.domain] },
      'you may not see this domain’s policies',
    );
  }
  const domains = [owner.domain, ...(await aliasesOf(stores.console, owner.domain))];
  const { amavis } = stores;
  const u = amavis.t.usersTable;
  const ids = await usersIdsFor(amavis, amavis.connection.db, [], domains);
  if (ids.length === 0) return [];
  const rows = await amavis.connection.db
    .select({ email: u.email })
    .from(u)
    .where(inArray(u.id, ids.slice(0, MAX_LISTED)));
  const keys = rows
    .map((row) => Buffer.from(row.email).toString('utf8'))
    .filter((key) => !key.startsWith('@'))
    .sort();
  const views: PolicyView[] = [];
  for (const key of keys) {
    views.push(await loadPolicy(stores, actor, { key, scope: 'address', domain: domainOf(key) }, settings));
  }
  return views;
}

export interface UpdatePolicyInput {
  owner: string;
  /** The fields to change; null sets a field back to inherit. Others stay as they are. */
  changes: Partial<Record<PolicyFieldKey, PolicyValue>>;
}

/**
 * Changes fields of a policy, creating the owner's users row when it has none (an address gets its own
 * policy, priority 9, inheriting every other field). A policy shared beyond the owner (and a domain's
 * aliases) is copied first, so nobody else's mail changes.
 */
export async function updatePolicy(
  stores: PolicyStores,
  actor: Actor,
  input: UpdatePolicyInput,
  client: ClientInfo = {},
): Promise<PolicyView> {
  const settings = await getSettings(stores.console);
  const owner = await parseOwner(stores.console, input.owner, settings);
  const facts = { action: 'policy.update', target: owner.key, domains: [owner.domain] };
  const keys = Object.keys(input.changes) as PolicyFieldKey[];
  if (keys.length === 0) throw new InputError('changes: name at least one field');
  for (const key of keys) {
    if (!POLICY_FIELD_BY_KEY.has(key)) throw new InputError(`changes: ${key} is not a policy field`);
  }
  if (!mayRead(actor, owner, settings.recipientDelimiter))
    return refuseAction(stores.console, actor, client, facts, 'you may not change this policy');
  if (actor.kind !== 'account' || actor.access !== 'full') {
    return refuseAction(stores.console, actor, client, facts, 'this API token is read-only');
  }
  const editable = editableFields(actor, owner, settings);
  const locked = keys.filter((key) => !editable.includes(key));
  if (locked.length > 0) {
    return refuseAction(
      stores.console,
      actor,
      client,
      { ...facts, detail: { fields: locked } },
      `you may not change ${locked.join(', ')} (a superadmin decides which fields ${actor.role === 'user' ? 'users' : 'domain admins'} change)`,
    );
  }
  const columns: Record<string, string | number | null> = {};
  for (const key of keys) {
    columns[key] = columnValue(POLICY_FIELD_BY_KEY.get(key) as PolicyFieldInfo, input.changes[key] ?? null);
  }
  const group =
    owner.scope === 'domain' && owner.domain
      ? [owner.key, ...(await aliasesOf(stores.console, owner.domain)).map((a) => `@${a}`)]
      : [owner.key];
  const { amavis } = stores;
  const { usersTable: u, policyTable: p } = amavis.t;
  const before = await retryingTransaction(amavis.connection, async (tx) => {
    const row = await ensureUsersRow(amavis, tx, owner.key);
    const [current] = await tx.select().from(p).where(eq(p.id, row.policyId));
    const previous = policyValues(current ?? null);
    const next = { ...previous };
    for (const key of keys) next[key] = input.changes[key] ?? null;
    checkLevelOrder(next);
    let policyId = row.policyId;
    const [outside] = await tx
      .select({ n: count() })
      .from(u)
      .where(and(eq(u.policyId, row.policyId), notInArray(u.email, group.map(bin))));
    if (!current || Number(outside?.n ?? 0) > 0) {
      // missing, or shared with keys outside the group: give the group a copy of its own
      const { id: _id, ...copy } = current ?? ({ id: 0 } as PolicyRow);
      policyId = await insertPolicy(amavis, tx, { ...copy, policyName: owner.key.slice(0, 32) });
      await tx
        .update(u)
        .set({ policyId })
        .where(inArray(u.email, group.map(bin)));
    }
    await tx.update(p).set(columns).where(eq(p.id, policyId));
    return previous;
  });
  await recordAction(stores.console, actor, client, 'success', {
    ...facts,
    detail: Object.fromEntries(
      keys.map((key) => [key, { from: before[key], to: input.changes[key] ?? null }]),
    ),
  });
  return loadPolicy(stores, actor, owner, settings);
}

/**
 * Gives an address back to its domain's policy: its own users row goes when nothing else needs it (a
 * sender list keeps it, with every field set back to inherit).
 */
export async function removeAddressPolicy(
  stores: PolicyStores,
  actor: Actor,
  input: { address: string },
  client: ClientInfo = {},
): Promise<PolicyView> {
  const settings = await getSettings(stores.console);
  const owner = await parseOwner(stores.console, input.address, settings, 'address');
  const facts = { action: 'policy.remove', target: owner.key, domains: [owner.domain] };
  if (owner.scope !== 'address')
    throw new InputError('address: a mail address (domain policies go with their domain)');
  // admins only: a user could otherwise clear fields it may not change
  const admin = actor.kind === 'account' && actor.role !== 'user' && actor.access === 'full';
  if (!admin || !mayRead(actor, owner, settings.recipientDelimiter)) {
    return refuseAction(stores.console, actor, client, facts, 'only its admins remove an address policy');
  }
  const { amavis } = stores;
  const { policyTable: p, wblistTable: w } = amavis.t;
  await retryingTransaction(amavis.connection, async (tx) => {
    const row = await findUsersRow(amavis, tx, owner.key);
    if (!row) return;
    const [listed] = await tx.select({ n: count() }).from(w).where(eq(w.rid, row.usersId));
    if (Number(listed?.n ?? 0) === 0) {
      await purgeUsersRows(amavis, tx, [row.usersId]);
      return;
    }
    const cleared = Object.fromEntries(POLICY_FIELD_KEYS.map((key) => [key, null]));
    await tx.update(p).set(cleared).where(eq(p.id, row.policyId));
  });
  await recordAction(stores.console, actor, client, 'success', facts);
  return loadPolicy(stores, actor, owner, settings);
}

// ---------------------------------------------------------------------------------------------------
// The effective policy of an address, as amavisd would resolve it

export interface EffectiveField {
  key: PolicyFieldKey;
  value: PolicyValue;
  /** The users key the value comes from; null: no row sets it, amavisd.conf decides. */
  source: string | null;
  sourcePriority: number | null;
}

export interface EffectivePolicy {
  address: string;
  /** The keys amavisd looks up, most specific first. */
  keys: string[];
  /** The users rows that match, in the order amavisd consults them. */
  matches: { key: string; priority: number; policyId: number; policyName: string | null }[];
  /** Whether two matching rows share a priority (amavisd's order between them is then undefined). */
  ties: boolean;
  fields: EffectiveField[];
}

export function resolveFields(rows: readonly MatchedUsersRow[]): EffectiveField[] {
  return POLICY_FIELDS.map((field) => {
    for (const row of rows) {
      const value = rowValue(row.policy, field);
      if (value !== null) return { key: field.key, value, source: row.email, sourcePriority: row.priority };
    }
    return { key: field.key, value: null, source: null, sourcePriority: null };
  });
}

export async function effectivePolicy(
  stores: PolicyStores,
  actor: Actor,
  input: { address: string },
  client: ClientInfo = {},
): Promise<EffectivePolicy> {
  const settings = await getSettings(stores.console);
  let address: string;
  try {
    address = normaliseAddress(input.address.trim(), settings);
  } catch (error) {
    if (error instanceof AddressError) throw new InputError(`address: ${error.message}`);
    throw error;
  }
  const owner: Owner = { key: address, scope: 'address', domain: domainOf(address) };
  if (!mayRead(actor, owner, settings.recipientDelimiter)) {
    return refuseAction(
      stores.console,
      actor,
      client,
      { action: 'policy.effective', target: address, domains: [owner.domain] },
      'you may not see this address’s policy',
    );
  }
  const { keys, rows, ties } = await matchingUsersRows(stores.amavis, address, settings.recipientDelimiter);
  return {
    address,
    keys,
    matches: rows.map((row) => ({
      key: row.email,
      priority: row.priority,
      policyId: row.policyId,
      policyName: row.policy?.policyName ?? null,
    })),
    ties,
    fields: resolveFields(rows),
  };
}

// ---------------------------------------------------------------------------------------------------
// Settings: which fields domain admins and users change

export interface PolicySettings {
  domainAdminPolicyFields: PolicyFieldKey[];
  userPolicyFields: PolicyFieldKey[];
  userSenderLists: boolean;
}

export async function getPolicySettings(store: ConsoleStore, actor: Actor): Promise<PolicySettings> {
  if (actor.kind !== 'account') throw new ForbiddenError('log in first');
  const s = await getSettings(store);
  return {
    domainAdminPolicyFields: s.domainAdminPolicyFields,
    userPolicyFields: s.userPolicyFields,
    userSenderLists: s.userSenderLists,
  };
}

/** Superadmins only (updateSettings checks and audits). */
export async function updatePolicySettings(
  store: ConsoleStore,
  actor: Actor,
  patch: Partial<PolicySettings>,
  client: ClientInfo = {},
): Promise<PolicySettings> {
  const s = await updateSettings(store, actor, patch, client.ip);
  return {
    domainAdminPolicyFields: s.domainAdminPolicyFields,
    userPolicyFields: s.userPolicyFields,
    userSenderLists: s.userSenderLists,
  };
}
