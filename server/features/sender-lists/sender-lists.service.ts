// Sender allow/block lists in amavisd's own tables: a wblist row (rid = the recipient's users row,
// sid = a mailaddr row for the sender pattern, wb = W, B or a soft score). amavisd checks the envelope
// sender and the From address against every users row the recipient matches (address first, then
// @domain, then @.), taking mailaddr rows by priority; the first W or B decides, scores add up.
// What wblist cannot hold (who added an entry, when it expires) lives in console_sender_list_entries.
import { and, count, eq, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import { type Actor, ANONYMOUS } from '../../access/actor.ts';
import {
  AddressError,
  type AddressSettings,
  normaliseAddress,
  normaliseDomain,
  reverseDomain,
} from '../../access/address-matching.ts';
import { keyPriority, withoutExtension } from '../../amavis/policy-lookup.ts';
import { type AuditFacts, recordAction, recordAudit, refuseAction } from '../../audit/audit-log.ts';
import { retryingTransaction } from '../../db/database.ts';
import type { ConsoleStore } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';
import type { ClientInfo } from '../auth/auth.service.ts';
import {
  type AmavisTx,
  ensureUsersRow,
  findUsersRow,
  insertUnlessTaken,
  mayRead,
  type Owner,
  type PolicyStores,
  parseOwner,
  policyValues,
  purgeOrphanMailaddr,
  purgeUsersRows,
  readableOwner,
} from '../policies/policies.service.ts';
import { type EntryKey, findQuarantineEntries } from '../quarantine/quarantine.service.ts';
import { getSettings, type Settings } from '../settings/settings.service.ts';

export type SenderAction = 'allow' | 'block' | 'score';
/** address: one sender; domain: @example.com exactly; subdomains: @.example.com, the domain and below. */
export type SenderKind = 'address' | 'domain' | 'subdomains';

export interface SenderPattern {
  /** The mailaddr.email: 'user@example.com', '@example.com' or '@.example.com'. */
  email: string;
  kind: SenderKind;
  /** mailaddr.priority, README.lookups' order: 9 address, 5 domain, 1–4 subdomain patterns. */
  priority: number;
}

export interface SenderEntry {
  /** The users key the entry belongs to: an address, '@domain' or '@.' (everyone). */
  owner: string;
  sender: string;
  kind: SenderKind;
  action: SenderAction;
  /** The soft score (added to SpamAssassin's) when action is score. */
  score: number | null;
  /** wblist.wb as stored. */
  wb: string;
  priority: number;
  createdBy: string | null;
  createdAt: Date | null;
  expiresAt: Date | null;
}

const MAX_SCORE = 999;
const MAX_EXPIRY_MS = 10 * 366 * 24 * 3600 * 1000;

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** A sender address, '@domain', '@.domain' (the domain and its subdomains) or a bare domain. */
export function parseSender(raw: string, settings: AddressSettings): SenderPattern {
  const text = raw.trim();
  try {
    if (text === '@.' || text === '' || text === '@') {
      throw new InputError('sender: an address, @domain or @.domain (every sender is a policy matter)');
    }
    if (text.startsWith('@.')) {
      const email = `@.${normaliseDomain(text.slice(2))}`;
      return { email, kind: 'subdomains', priority: keyPriority(email) };
    }
    if (!text.includes('@') || text.startsWith('@')) {
      const email = `@${normaliseDomain(text.replace(/^@/, ''))}`;
      return { email, kind: 'domain', priority: keyPriority(email) };
    }
    return { email: normaliseAddress(text, settings), kind: 'address', priority: 9 };
  } catch (error) {
    if (error instanceof AddressError) throw new InputError(`sender: ${error.message}`);
    throw error;
  }
}

function kindOf(email: string): SenderKind {
  if (email.startsWith('@.')) return 'subdomains';
  return email.startsWith('@') ? 'domain' : 'address';
}

/** wblist.wb for an action: W, B, or the score as amavisd parses it (no exponent). */
function wbOf(action: SenderAction, score: number | null | undefined): string {
  if (action === 'allow') return 'W';
  if (action === 'block') return 'B';
  if (typeof score !== 'number' || !Number.isFinite(score) || score === 0) {
    throw new InputError('score: a non-zero number (negative lets mail through, positive pushes it to spam)');
  }
  if (Math.abs(score) > MAX_SCORE) throw new InputError(`score: between -${MAX_SCORE} and ${MAX_SCORE}`);
  return String(Math.round(score * 100) / 100);
}

/** What amavisd makes of a wb value (SpamControl.pm white_black_list). */
function actionOf(wb: string): { action: SenderAction; score: number | null } {
  const numeric = /^ *([+-]?\d+(?:\.\d*)?) *$/.exec(wb);
  if (numeric) return { action: 'score', score: Number(numeric[1]) };
  if (/^[BbNnFf] *$/.test(wb)) return { action: 'block', score: null };
  return { action: 'allow', score: null };
}

/** Who may change the owner's list: its admins, a user its own addresses' (when the setting allows). */
function mayManage(actor: Actor, owner: Owner, settings: Settings): boolean {
  if (
    actor.kind !== 'account' ||
    actor.access !== 'full' ||
    !mayRead(actor, owner, settings.recipientDelimiter)
  )
    return false;
  if (actor.role !== 'user') return true;
  return settings.userSenderLists && owner.scope === 'address';
}

/** The users keys an owner's list is written to: a domain's list applies to its alias domains too. */
async function ownerKeys(store: ConsoleStore, owner: Owner): Promise<string[]> {
  if (owner.scope !== 'domain' || !owner.domain) return [owner.key];
  const { domainsTable: d, domainAliasesTable: al } = store.t;
  const aliases = await store.connection.db
    .select({ name: al.name })
    .from(al)
    .innerJoin(d, eq(d.id, al.domainId))
    .where(eq(d.name, owner.domain));
  return [owner.key, ...aliases.map((a) => `@${a.name}`)];
}

async function ensureMailaddr(stores: PolicyStores, tx: AmavisTx, sender: SenderPattern): Promise<number> {
  const m = stores.amavis.t.mailaddrTable;
  const email = Buffer.from(sender.email, 'utf8');
  const [found] = await tx.select({ id: m.id }).from(m).where(eq(m.email, email));
  if (found) return found.id;
  await insertUnlessTaken(
    stores.amavis,
    tx,
    sql`insert into ${m} (priority, email) values (${sender.priority}, ${email})`,
  );
  const [created] = await tx.select({ id: m.id }).from(m).where(eq(m.email, email)).for('update');
  if (!created) throw new Error(`the mailaddr row ${sender.email} was not stored`);
  return created.id;
}

/**
 * Drops an address's (or the catch-all's) users row when nothing is left in it: no list entries, every
 * policy field NULL. A domain's row stays with its domain.
 */
async function pruneEmptyAddressRow(stores: PolicyStores, tx: AmavisTx, key: string): Promise<void> {
  if (key.startsWith('@') && key !== '@.') return;
  const { policyTable: p, wblistTable: w } = stores.amavis.t;
  const row = await findUsersRow(stores.amavis, tx, key);
  if (!row) return;
  const [listed] = await tx.select({ n: count() }).from(w).where(eq(w.rid, row.usersId));
  if (Number(listed?.n ?? 0) > 0) return;
  const [policy] = await tx.select().from(p).where(eq(p.id, row.policyId));
  const empty = !policy || Object.values(policyValues(policy)).every((v) => v === null);
  if (empty) await purgeUsersRows(stores.amavis, tx, [row.usersId]);
}

/** Removes the wblist rows of (owner keys, sender) and whatever they alone kept alive. */
async function deleteWblist(stores: PolicyStores, keys: readonly string[], sender: string): Promise<number> {
  const { amavis } = stores;
  const { usersTable: u, wblistTable: w, mailaddrTable: m } = amavis.t;
  return retryingTransaction(amavis.connection, async (tx) => {
    const [addr] = await tx
      .select({ id: m.id })
      .from(m)
      .where(eq(m.email, Buffer.from(sender, 'utf8')));
    if (!addr) return 0;
    const owners = await tx
      .select({ id: u.id })
      .from(u)
      .where(
        inArray(
          u.email,
          keys.map((k) => Buffer.from(k, 'utf8')),
        ),
      );
    if (owners.length === 0) return 0;
    const ids = owners.map((o) => o.id);
    const [existing] = await tx
      .select({ n: count() })
      .from(w)
      .where(and(inArray(w.rid, ids), eq(w.sid, addr.id)));
    await tx.delete(w).where(and(inArray(w.rid, ids), eq(w.sid, addr.id)));
    await purgeOrphanMailaddr(amavis, tx, [addr.id]);
    for (const key of keys) await pruneEmptyAddressRow(stores, tx, key);
    return Number(existing?.n ?? 0);
  });
}

export interface SetSenderEntryInput {
  /** The recipient address, '@domain' (an alias domain means its domain) or '@.' for everyone. */
  owner: string;
  /** An address, '@domain' or '@.domain'. */
  sender: string;
  action: SenderAction;
  /** For action score. */
  score?: number | null;
  /** When the entry goes by itself (expireSenderEntries); none: it stays. */
  expiresAt?: Date | null;
}

/** Adds or replaces an entry in a sender list. */
export async function setSenderEntry(
  stores: PolicyStores,
  actor: Actor,
  input: SetSenderEntryInput,
  client: ClientInfo = {},
): Promise<SenderEntry> {
  const settings = await getSettings(stores.console);
  const owner = await parseOwner(stores.console, input.owner, settings);
  const sender = parseSender(input.sender, settings);
  const facts: AuditFacts = {
    action: 'senderList.set',
    target: `${sender.email} for ${owner.key}`,
    domains: [owner.domain],
    detail: { owner: owner.key, sender: sender.email, action: input.action },
  };
  if (!mayManage(actor, owner, settings)) {
    return refuseAction(stores.console, actor, client, facts, 'you may not change this sender list');
  }
  const wb = wbOf(input.action, input.score);
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt) {
    const ms = expiresAt.getTime() - Date.now();
    if (!Number.isFinite(ms) || ms <= 0) throw new InputError('expiresAt: a moment in the future');
    if (ms > MAX_EXPIRY_MS) throw new InputError('expiresAt: at most ten years ahead');
  }
  const keys = await ownerKeys(stores.console, owner);
  const { amavis } = stores;
  const w = amavis.t.wblistTable;
  await retryingTransaction(amavis.connection, async (tx) => {
    const main = await ensureUsersRow(amavis, tx, keys[0] as string);
    const sid = await ensureMailaddr(stores, tx, sender);
    for (const [i, key] of keys.entries()) {
      const row = i === 0 ? main : await ensureUsersRow(amavis, tx, key, { policyId: main.policyId });
      // an upsert, not delete + insert: deleting a missing row gap-locks the index on MariaDB, and two
      // lists taking the same new sender then deadlock on each other's gap
      await tx.execute(
        amavis.connection.dialect === 'pg'
          ? sql`insert into ${w} (rid, sid, wb) values (${row.usersId}, ${sid}, ${wb}) on conflict (rid, sid) do update set wb = excluded.wb`
          : sql`insert into ${w} (rid, sid, wb) values (${row.usersId}, ${sid}, ${wb}) on duplicate key update wb = values(wb)`,
      );
    }
  });
  const e = stores.console.t.senderListEntriesTable;
  const createdBy = actor.kind === 'account' ? actor.email : 'system';
  const createdAt = new Date();
  await stores.console.connection.db.transaction(async (tx) => {
    await tx.delete(e).where(and(eq(e.owner, owner.key), eq(e.sender, sender.email)));
    await tx.insert(e).values({
      owner: owner.key,
      sender: sender.email,
      createdByAccountId: actor.kind === 'account' ? actor.accountId : null,
      createdBy,
      createdAt,
      expiresAt,
    });
  });
  await recordAction(stores.console, actor, client, 'success', {
    ...facts,
    detail: { ...facts.detail, wb, expiresAt: expiresAt?.toISOString() ?? null },
  });
  return {
    owner: owner.key,
    sender: sender.email,
    kind: sender.kind,
    ...actionOf(wb),
    wb,
    priority: sender.priority,
    createdBy,
    createdAt,
    expiresAt,
  };
}

/**
 * Always allow or always block a sender for a recipient address or '@domain' (the digest's one-click
 * actions call this). An extension address (user+tag@, with the recipient delimiter set) means its base
 * address, which amavisd also looks up for it, so the entry covers all of the user's mail. Checks the
 * caller's rights and audits like every other change.
 */
export async function addSenderEntry(
  stores: PolicyStores,
  actor: Actor,
  input: { owner: string; sender: string; action: 'allow' | 'block'; expiresAt?: Date | null },
  client: ClientInfo = {},
): Promise<SenderEntry> {
  const { recipientDelimiter } = await getSettings(stores.console);
  const owner = input.owner.trim().startsWith('@')
    ? input.owner
    : withoutExtension(input.owner.trim(), recipientDelimiter);
  return setSenderEntry(stores, actor, { ...input, owner }, client);
}

/** Removes an entry; amavisd then treats the sender as it did before. Returns whether there was one. */
export async function removeSenderEntry(
  stores: PolicyStores,
  actor: Actor,
  input: { owner: string; sender: string },
  client: ClientInfo = {},
): Promise<boolean> {
  const settings = await getSettings(stores.console);
  const owner = await parseOwner(stores.console, input.owner, settings);
  const sender = parseSender(input.sender, settings);
  const facts: AuditFacts = {
    action: 'senderList.remove',
    target: `${sender.email} for ${owner.key}`,
    domains: [owner.domain],
    detail: { owner: owner.key, sender: sender.email },
  };
  if (!mayManage(actor, owner, settings)) {
    return refuseAction(stores.console, actor, client, facts, 'you may not change this sender list');
  }
  const removed = await deleteWblist(stores, await ownerKeys(stores.console, owner), sender.email);
  const e = stores.console.t.senderListEntriesTable;
  await stores.console.connection.db.delete(e).where(and(eq(e.owner, owner.key), eq(e.sender, sender.email)));
  await recordAction(stores.console, actor, client, 'success', {
    ...facts,
    detail: { ...facts.detail, removed },
  });
  return removed > 0;
}

/** An owner's sender list, most specific senders first (the order amavisd tries them). */
export async function listSenderEntries(
  stores: PolicyStores,
  actor: Actor,
  input: { owner: string },
  client: ClientInfo = {},
): Promise<SenderEntry[]> {
  const { owner } = await readableOwner(
    stores,
    actor,
    input.owner,
    client,
    'senderList.view',
    'you may not see this sender list',
  );
  const { amavis } = stores;
  const { usersTable: u, wblistTable: w, mailaddrTable: m } = amavis.t;
  const rows = await amavis.connection.db
    .select({ sender: m.email, priority: m.priority, wb: w.wb })
    .from(w)
    .innerJoin(u, eq(u.id, w.rid))
    .innerJoin(m, eq(m.id, w.sid))
    .where(eq(u.email, Buffer.from(owner.key, 'utf8')));
  const e = stores.console.t.senderListEntriesTable;
  const meta = await stores.console.connection.db.select().from(e).where(eq(e.owner, owner.key));
  return rows
    .map((row) => {
      const sender = Buffer.from(row.sender).toString('utf8');
      const info = meta.find((x) => x.sender === sender);
      return {
        owner: owner.key,
        sender,
        kind: kindOf(sender),
        ...actionOf(row.wb),
        wb: row.wb,
        priority: row.priority,
        createdBy: info?.createdBy ?? null,
        createdAt: info?.createdAt ?? null,
        expiresAt: info?.expiresAt ?? null,
      };
    })
    .sort((a, b) => b.priority - a.priority || a.sender.localeCompare(b.sender));
}

/** How many entries expireSenderEntries would remove at `now` (the cleanup job's dry run). */
export async function countExpiredSenderEntries(
  stores: PolicyStores,
  now: Date = new Date(),
): Promise<number> {
  const e = stores.console.t.senderListEntriesTable;
  const [row] = await stores.console.connection.db
    .select({ n: count() })
    .from(e)
    .where(and(isNotNull(e.expiresAt), lte(e.expiresAt, now)));
  return Number(row?.n ?? 0);
}

/**
 * Removes the entries whose expiry has passed (the cleanup job calls this): their wblist rows, the
 * mailaddr rows and empty address rows they alone kept, and their console metadata. Audited as the
 * system. Returns how many entries went.
 */
export async function expireSenderEntries(
  stores: PolicyStores,
  now: Date = new Date(),
): Promise<{ removed: number }> {
  const e = stores.console.t.senderListEntriesTable;
  const due = await stores.console.connection.db
    .select({ owner: e.owner, sender: e.sender, expiresAt: e.expiresAt })
    .from(e)
    .where(and(isNotNull(e.expiresAt), lte(e.expiresAt, now)));
  let removed = 0;
  for (const entry of due) {
    const owner: Owner = entry.owner.startsWith('@')
      ? {
          key: entry.owner,
          scope: entry.owner === '@.' ? 'global' : 'domain',
          domain: entry.owner.slice(1) || null,
        }
      : { key: entry.owner, scope: 'address', domain: domainOf(entry.owner) };
    await deleteWblist(stores, await ownerKeys(stores.console, owner), entry.sender);
    await stores.console.connection.db
      .delete(e)
      .where(and(eq(e.owner, entry.owner), eq(e.sender, entry.sender), lte(e.expiresAt, now)));
    await recordAudit(stores.console, {
      actor: ANONYMOUS,
      claimedActor: 'system (sender-list expiry)',
      action: 'senderList.expire',
      outcome: 'success',
      target: `${entry.sender} for ${entry.owner}`,
      domain: owner.scope === 'global' ? null : owner.domain,
      detail: { owner: entry.owner, sender: entry.sender, expiresAt: entry.expiresAt?.toISOString() },
    });
    removed++;
  }
  return { removed };
}

// ---------------------------------------------------------------------------------------------------
// "Always allow / block this sender" from a quarantined message

export interface SenderSuggestion {
  /** The list the entry would go to: the recipient's address, or its domain's for its admins. */
  owner: string;
  sender: string;
  kind: SenderKind;
  /** How many quarantined messages (not deleted) the recipient has from senders this entry covers. */
  quarantinedFromSender: number;
  /** Whether the caller may add it. */
  allowed: boolean;
}

export interface SenderSuggestions {
  recipient: string;
  envelopeSender: string;
  suggestions: SenderSuggestion[];
}

async function quarantinedFrom(
  stores: PolicyStores,
  recipient: string,
  sender: SenderPattern,
): Promise<number> {
  const { amavis } = stores;
  const { msgsTable: mm, msgrcptTable: r, maddrTable: a } = amavis.t;
  const senderDomain = sender.email.replace(/^@\.?/, '');
  const senderCondition =
    sender.kind === 'address'
      ? sql`s.email = ${Buffer.from(sender.email, 'utf8')}`
      : sender.kind === 'domain'
        ? sql`s.domain = ${reverseDomain(senderDomain)}`
        : sql`(s.domain = ${reverseDomain(senderDomain)} or s.domain like ${`${reverseDomain(senderDomain)}.%`})`;
  const rows = await amavis.connection.rows<{ n: number | string }>(sql`
    select count(*) as n
    from ${mm} m
    join ${a} s on s.id = m.sid
    join ${r} r on r.partition_tag = m.partition_tag and r.mail_id = m.mail_id
    join ${a} rc on rc.id = r.rid
    where m.quar_type = 'Q' and m.content is not null and r.rs <> 'D'
      and rc.email = ${Buffer.from(recipient, 'utf8')} and ${senderCondition}`);
  return Number(rows[0]?.n ?? 0);
}

/**
 * What "always allow/block this sender" would add for one quarantined message: the sender's address
 * and its domain, for the recipient (and for the recipient's domain when the caller administers it),
 * each with how many quarantined messages from it the recipient has now.
 */
export async function suggestSenderEntries(
  stores: PolicyStores,
  actor: Actor,
  key: EntryKey,
): Promise<SenderSuggestions | null> {
  const settings = await getSettings(stores.console);
  const [entry] = await findQuarantineEntries(stores.amavis, { actor, settings }, [key]);
  if (!entry) return null;
  const envelopeSender = entry.envelopeSender;
  if (!envelopeSender.includes('@') || envelopeSender.endsWith('@')) {
    throw new InputError('the message has no sender address (a bounce): there is nothing to list');
  }
  const patterns = [
    parseSender(envelopeSender, settings),
    parseSender(`@${domainOf(envelopeSender)}`, settings),
  ];
  // the base address: amavisd looks it up for user+tag@ too, so the entry covers all the user's mail
  const base = withoutExtension(entry.recipient, settings.recipientDelimiter);
  const recipientOwner: Owner = { key: base, scope: 'address', domain: domainOf(base) };
  const owners: Owner[] = [recipientOwner];
  if (actor.kind === 'account' && actor.role !== 'user') {
    try {
      const domainOwner = await parseOwner(stores.console, `@${domainOf(entry.recipient)}`, settings);
      if (mayRead(actor, domainOwner, settings.recipientDelimiter)) owners.push(domainOwner);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
    }
  }
  const suggestions: SenderSuggestion[] = [];
  for (const owner of owners) {
    for (const pattern of patterns) {
      suggestions.push({
        owner: owner.key,
        sender: pattern.email,
        kind: pattern.kind,
        quarantinedFromSender: await quarantinedFrom(stores, entry.recipient, pattern),
        allowed: mayManage(actor, owner, settings),
      });
    }
  }
  return { recipient: entry.recipient, envelopeSender, suggestions };
}
