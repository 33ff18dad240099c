// How amavisd picks a recipient's settings from its SQL lookup tables (README.lookups, "SQL lookups"):
// every `users` row whose email is one of the recipient's lookup keys matches, ordered by priority
// (highest first), and each field takes the first non-NULL value among the matching rows' policies.
import { desc, eq, inArray } from 'drizzle-orm';
import type { AmavisStore } from '../db/stores.ts';

/**
 * The keys amavisd looks up for a recipient, most specific first: the full address, the address
 * without its extension, then @domain, @.domain and each parent, and the catch-all @. Bare local
 * parts (only for local domains) are left out: the console does not know amavisd's local domains.
 */
export function lookupKeys(address: string, recipientDelimiter: string): string[] {
  const at = address.lastIndexOf('@');
  const local = at >= 0 ? address.slice(0, at) : address;
  const domain = (at >= 0 ? address.slice(at + 1) : '').toLowerCase();
  const keys = [`${local}@${domain}`];
  if (recipientDelimiter) {
    const cut = [...recipientDelimiter].map((d) => local.indexOf(d)).filter((i) => i > 0);
    if (cut.length > 0) keys.push(`${local.slice(0, Math.min(...cut))}@${domain}`);
  }
  keys.push(`@${domain}`);
  const labels = domain.split('.');
  for (let i = 0; i < labels.length; i++) keys.push(`@.${labels.slice(i).join('.')}`);
  keys.push('@.');
  return [...new Set(keys)];
}

/** The address without its extension (user+foo@example.com -> user@example.com), as amavisd's second key. */
export function withoutExtension(address: string, recipientDelimiter: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0 || !recipientDelimiter) return address;
  const local = address.slice(0, at);
  const cut = [...recipientDelimiter].map((d) => local.indexOf(d)).filter((i) => i > 0);
  return cut.length > 0 ? `${local.slice(0, Math.min(...cut))}${address.slice(at)}` : address;
}

export interface MatchedPolicy {
  usersId: number;
  email: string;
  priority: number;
  policyId: number;
  saUsername: string | null;
}

/** The users rows amavisd would match for `address`, in the order it consults them. */
export async function matchingPolicies(
  store: AmavisStore,
  address: string,
  recipientDelimiter: string,
): Promise<MatchedPolicy[]> {
  const keys = lookupKeys(address, recipientDelimiter);
  const u = store.t.usersTable;
  const p = store.t.policyTable;
  const rows = await store.connection.db
    .select({
      usersId: u.id,
      email: u.email,
      priority: u.priority,
      policyId: u.policyId,
      saUsername: p.saUsername,
    })
    .from(u)
    // amavisd LEFT JOINs: a users row whose policy is missing still matches (all its fields NULL)
    .leftJoin(p, eq(p.id, u.policyId))
    .where(
      inArray(
        u.email,
        keys.map((k) => Buffer.from(k, 'utf8')),
      ),
    )
    .orderBy(desc(u.priority));
  const rank = (email: string) => keys.indexOf(email);
  return rows
    .map((row) => ({ ...row, email: Buffer.from(row.email).toString('utf8') }))
    .sort((a, b) => b.priority - a.priority || rank(a.email) - rank(b.email));
}

/**
 * The priority README.lookups recommends for a users key, so rows never tie: 9 for a full address
 * (8 without its extension is the same row here), 5 for @domain, 3/2/1 for @.sub.example.com /
 * @.example.com / @.com (deeper patterns 4), 0 for the catch-all @.
 */
export function keyPriority(key: string): number {
  if (key === '@.') return 0;
  if (key.startsWith('@.')) return Math.min(4, key.slice(2).split('.').length);
  if (key.startsWith('@')) return 5;
  return 9;
}

export type PolicyRow = AmavisStore['t']['policyTable']['$inferSelect'];

export interface MatchedUsersRow {
  usersId: number;
  email: string;
  priority: number;
  policyId: number;
  /** Null when the row points to a policy that does not exist (amavisd then sees only NULLs). */
  policy: PolicyRow | null;
}

/**
 * Every users row amavisd would match for `address`, with its whole policy, in the order amavisd reads
 * them (priority, highest first; rows of equal priority by key specificity, which amavisd does not
 * promise: see `ties`).
 */
export async function matchingUsersRows(
  store: AmavisStore,
  address: string,
  recipientDelimiter: string,
): Promise<{ keys: string[]; rows: MatchedUsersRow[]; ties: boolean }> {
  const keys = lookupKeys(address, recipientDelimiter);
  const u = store.t.usersTable;
  const p = store.t.policyTable;
  const found = await store.connection.db
    .select({ usersId: u.id, email: u.email, priority: u.priority, policyId: u.policyId, policy: p })
    .from(u)
    .leftJoin(p, eq(p.id, u.policyId))
    .where(
      inArray(
        u.email,
        keys.map((k) => Buffer.from(k, 'utf8')),
      ),
    )
    .orderBy(desc(u.priority));
  const rank = (email: string) => keys.indexOf(email);
  const rows = found
    .map((row) => ({
      ...row,
      email: Buffer.from(row.email).toString('utf8'),
      policy: row.policy?.id == null ? null : row.policy,
    }))
    .sort((a, b) => b.priority - a.priority || rank(a.email) - rank(b.email));
  const ties = rows.some((row, i) => i > 0 && rows[i - 1]?.priority === row.priority);
  return { keys, rows, ties };
}

/**
 * The SpamAssassin username amavisd scans `address` with: the first non-NULL policy.sa_username of
 * the matching rows; amavisd's default user when there is none or it is empty.
 */
export async function scanUsername(
  store: AmavisStore,
  address: string,
  recipientDelimiter: string,
  defaultUser: string,
): Promise<string> {
  const found = (await matchingPolicies(store, address, recipientDelimiter)).find(
    (m) => m.saUsername !== null,
  );
  return found?.saUsername?.trim() || defaultUser;
}
