// Turns the credentials on a request (a session cookie or an API token) into an Actor. The request
// context calls this; so does the WebSocket path, with the upgrade request's cookie or the token in
// connectionParams.
import { and, eq, gt, isNull, ne, or } from 'drizzle-orm';
import { escapeLike, likeEscaped } from '../db/like.ts';
import type { ConsoleStore } from '../db/stores.ts';
import type { ResolvedCredentials } from './access-cache.ts';
import { type Access, type AccountActor, type Actor, ANONYMOUS, type Role } from './actor.ts';
import { secretDigest, TOKEN_PREFIX } from './secrets.ts';

export interface Credentials {
  /** The session cookie's value. */
  session?: string | null;
  /** An API token (from `Authorization: Bearer …` or connectionParams). */
  token?: string | null;
}

interface AccountRow {
  id: number;
  email: string;
  role: string;
  disabled: boolean;
}

interface AddressRow {
  address: string;
  isPrimary: boolean;
}

/**
 * Loads what an account may see: its addresses, and the domains it administers with their aliases.
 * Every request pays for this, so the independent reads run side by side (one round trip, not three)
 * and a caller that already joined the account row (and its addresses) passes them in.
 */
export async function loadAccountActor(
  store: ConsoleStore,
  accountId: number,
  how: Pick<AccountActor, 'access' | 'via' | 'sessionId' | 'tokenId'>,
  loaded?: AccountRow | null,
  loadedAddresses?: AddressRow[],
): Promise<AccountActor | null> {
  const { db } = store.connection;
  const { accountsTable, accountAddressesTable, domainAdminsTable, domainsTable, domainAliasesTable } =
    store.t;
  const accountRead = loaded
    ? Promise.resolve([loaded])
    : db
        .select({
          id: accountsTable.id,
          email: accountsTable.email,
          role: accountsTable.role,
          disabled: accountsTable.disabled,
        })
        .from(accountsTable)
        .where(eq(accountsTable.id, accountId));
  // Only domain admins have domains; when the role is not known yet, read them anyway (one indexed
  // lookup) rather than wait for the account row.
  const domainsRead =
    loaded && loaded.role !== 'domainadmin'
      ? Promise.resolve([])
      : db
          .select({ name: domainsTable.name, alias: domainAliasesTable.name })
          .from(domainAdminsTable)
          .innerJoin(domainsTable, eq(domainsTable.id, domainAdminsTable.domainId))
          .leftJoin(domainAliasesTable, eq(domainAliasesTable.domainId, domainsTable.id))
          .where(eq(domainAdminsTable.accountId, accountId));
  // Other accounts' mailboxes that look like extensions of these addresses: only the extension match of
  // users' and domain admins' own mail needs them; superadmins see all.
  const othersRead = async (mine: string[], role: string): Promise<string[]> => {
    if (mine.length === 0 || role === 'superadmin') return [];
    const rows = await db
      .select({ address: accountAddressesTable.address })
      .from(accountAddressesTable)
      .where(
        and(
          ne(accountAddressesTable.accountId, accountId),
          or(...mine.map((address) => likeEscaped(accountAddressesTable.address, extensionPattern(address)))),
        ),
      );
    return rows.map((row) => row.address);
  };
  // With the account and its addresses already read (the session's statement), this read needs nothing
  // else and runs beside the domains': a domain admin's request waits for two round trips, not three.
  const othersEarly =
    loaded && loadedAddresses ? othersRead(addressList(loadedAddresses), loaded.role) : null;
  // settled here so that an early return or a failed read beside it leaves no unhandled rejection
  othersEarly?.catch(() => {});
  const [[account], addresses, domainRows] = await Promise.all([
    accountRead,
    loadedAddresses ??
      db
        .select({ address: accountAddressesTable.address, isPrimary: accountAddressesTable.isPrimary })
        .from(accountAddressesTable)
        .where(eq(accountAddressesTable.accountId, accountId)),
    domainsRead,
  ]);
  if (!account || account.disabled) return null;
  const mine = addressList(addresses);
  const othersAddresses = await (othersEarly ?? othersRead(mine, account.role));
  const domains =
    account.role === 'domainadmin'
      ? [...new Set(domainRows.flatMap((row) => (row.alias ? [row.name, row.alias] : [row.name])))].sort()
      : [];
  return {
    kind: 'account',
    accountId: account.id,
    email: account.email,
    role: account.role as Role,
    addresses: mine,
    othersAddresses,
    domains,
    ...how,
  };
}

/** The addresses, the primary one first, then in order. */
function addressList(rows: readonly AddressRow[]): string[] {
  return [...rows]
    .sort((a, b) => Number(b.isPrimary) - Number(a.isPrimary) || a.address.localeCompare(b.address))
    .map((a) => a.address);
}

/** `local%@domain`, the address's own characters taken literally. */
function extensionPattern(address: string): string {
  const at = address.lastIndexOf('@');
  return `${escapeLike(address.slice(0, at))}%@${escapeLike(address.slice(at + 1))}`;
}

// Read at least every ACCESS_CACHE_SECONDS while in use (access-cache.ts), so "last used" is good to a
// minute or two.
const TOUCH_AFTER_MS = 60_000;

const NOBODY: ResolvedCredentials = { actor: ANONYMOUS, expiresAt: null };

async function fromToken(store: ConsoleStore, token: string, now: Date): Promise<ResolvedCredentials> {
  if (!token.startsWith(TOKEN_PREFIX)) return NOBODY;
  const { db } = store.connection;
  const t = store.t.apiTokensTable;
  const [row] = await db
    .select({
      id: t.id,
      accountId: t.accountId,
      access: t.access,
      lastUsedAt: t.lastUsedAt,
      expiresAt: t.expiresAt,
    })
    .from(t)
    .where(
      and(
        eq(t.tokenHash, secretDigest(token)),
        isNull(t.revokedAt),
        or(isNull(t.expiresAt), gt(t.expiresAt, now)),
      ),
    );
  if (!row) return NOBODY;
  const actor = await loadAccountActor(store, row.accountId, {
    access: row.access as Access,
    via: 'token',
    tokenId: row.id,
  });
  if (actor && (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > TOUCH_AFTER_MS)) {
    await db.update(t).set({ lastUsedAt: now }).where(eq(t.id, row.id));
  }
  return { actor: actor ?? ANONYMOUS, expiresAt: row.expiresAt };
}

async function fromSession(store: ConsoleStore, secret: string, now: Date): Promise<ResolvedCredentials> {
  const { db } = store.connection;
  const s = store.t.sessionsTable;
  const a = store.t.accountsTable;
  const addr = store.t.accountAddressesTable;
  const id = secretDigest(secret);
  // The session, its account and the account's addresses (a row each) in one statement: this runs
  // before every operation, and a round trip costs more here than a few repeated columns.
  const rows = await db
    .select({
      kind: s.kind,
      accountId: s.accountId,
      partitionTag: s.partitionTag,
      mailId: s.mailId,
      recipient: s.recipient,
      lastSeenAt: s.lastSeenAt,
      expiresAt: s.expiresAt,
      account: { id: a.id, email: a.email, role: a.role, disabled: a.disabled },
      address: addr.address,
      isPrimary: addr.isPrimary,
    })
    .from(s)
    .leftJoin(a, eq(a.id, s.accountId))
    .leftJoin(addr, eq(addr.accountId, a.id))
    .where(and(eq(s.id, id), gt(s.expiresAt, now)));
  const row = rows[0];
  if (!row) return NOBODY;
  if (now.getTime() - row.lastSeenAt.getTime() > TOUCH_AFTER_MS) {
    await db.update(s).set({ lastSeenAt: now }).where(eq(s.id, id));
  }
  const { expiresAt } = row;
  if (row.kind === 'selfService' && row.mailId && row.recipient && row.partitionTag !== null) {
    const actor = {
      kind: 'selfService',
      partitionTag: row.partitionTag,
      mailId: row.mailId,
      recipient: row.recipient,
      sessionId: id,
    } as const;
    return { actor, expiresAt };
  }
  if (row.kind === 'account' && row.accountId !== null && row.account) {
    const how = { access: 'full', via: 'session', sessionId: id } as const;
    const addresses = rows.flatMap((r) =>
      r.address === null ? [] : [{ address: r.address, isPrimary: r.isPrimary ?? false }],
    );
    const actor = await loadAccountActor(store, row.accountId, how, row.account, addresses);
    return { actor: actor ?? ANONYMOUS, expiresAt };
  }
  return NOBODY;
}

/** The actor and when its credentials expire. A token wins over a cookie: scripts that carry both mean the token. */
export async function resolveCredentials(
  store: ConsoleStore,
  credentials: Credentials,
  now = new Date(),
): Promise<ResolvedCredentials> {
  if (credentials.token) return fromToken(store, credentials.token, now);
  if (credentials.session) return fromSession(store, credentials.session, now);
  return NOBODY;
}

/** The credential resolveCredentials reads, as a key (a digest, never the secret); null without any. */
export function credentialKey(credentials: Credentials): string | null {
  if (credentials.token) return `token:${secretDigest(credentials.token)}`;
  if (credentials.session) return `session:${secretDigest(credentials.session)}`;
  return null;
}

export async function resolveActor(
  store: ConsoleStore,
  credentials: Credentials,
  now = new Date(),
): Promise<Actor> {
  return (await resolveCredentials(store, credentials, now)).actor;
}
