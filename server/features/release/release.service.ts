// Releasing quarantined mail through amavisd (AM.PDP), asking for a release, deciding requests, and
// deleting. Every action is per (message, recipient), scoped like the listing, reported per pair and
// audited per pair. msgrcpt.rs changes only after the fact it records: 'R' once amavisd confirmed.
import { and, asc, desc, eq, gt, inArray, isNull, lt, ne, or, type SQL, sql } from 'drizzle-orm';
import { type Actor, actorLabel } from '../../access/actor.ts';
import { AddressError, normaliseAddress } from '../../access/address-matching.ts';
import { ForbiddenError } from '../../access/forbidden-error.ts';
import { AmPdpError, AmPdpSession, describeEndpoint, type PdpEndpoint } from '../../amavis/am-pdp.client.ts';
import { describeContent } from '../../amavis/codes.ts';
import { endpointForHost, pdpRoutingFromSettings } from '../../amavis/pdp-endpoints.ts';
import type { AuditOutcome } from '../../audit/audit-log.ts';
import { changedRows } from '../../db/database.ts';
import {
  decodeCursor,
  encodeCursor,
  type Page,
  type PageArgs,
  pageOf,
  pageRequest,
} from '../../db/paging.ts';
import type { AmavisStore, ConsoleStore, Stores } from '../../db/stores.ts';
import { recordQuarantineEvents } from '../../events/quarantine-events.ts';
import { InputError } from '../../input-error.ts';
import type { Mailer } from '../../mail/mailer.ts';
import type { ClientInfo } from '../auth/auth.service.ts';
import {
  type EntryKey,
  entryKeyString,
  findQuarantineEntries,
  type QuarantineEntry,
  type Viewer,
} from '../quarantine/quarantine.service.ts';
import { overridesForDomains, userPermission } from './release-rules.service.ts';

/** The most pairs one call takes: a few pages of the listing. */
export const MAX_BATCH = 500;

export type ActionOutcome =
  | 'released'
  | 'requested'
  | 'alreadyReleased'
  | 'alreadyRequested'
  | 'alreadyDecided'
  | 'denied'
  | 'deleted'
  | 'learned'
  | 'failed'
  | 'notFound'
  | 'forbidden';

export interface ActionResult {
  /** What the caller named: the entry key, or the request id. */
  target: string;
  outcome: ActionOutcome;
  /** Why, for failures and refusals; amavisd's or SpamAssassin's own words where they have them. */
  message: string | null;
  recipient: string | null;
}

/** What every action needs besides its input. */
export interface ActionContext {
  stores: Stores;
  viewer: Viewer;
  mailer: Mailer;
  client: ClientInfo;
}

export interface ReleaseOptions {
  /** Admins only: deliver to these addresses instead of the original recipient. */
  to?: readonly string[];
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(at + 1).toLowerCase() : '';
}

/** Whether the actor administers this recipient (and so releases directly, whatever the rules). */
export function administers(actor: Actor, recipient: string): boolean {
  if (actor.kind === 'account' && actor.role === 'superadmin') return true;
  return (
    actor.kind === 'account' && actor.role === 'domainadmin' && actor.domains.includes(domainOf(recipient))
  );
}

/** The address the actor acts as: amavisd puts it in Resent-From, and outcomes are mailed to it. */
function actorAddress(actor: Actor): string {
  if (actor.kind === 'account') return actor.email;
  if (actor.kind === 'selfService') return actor.recipient;
  return '';
}

export function checkBatch(size: number): void {
  if (size === 0) throw new InputError('name at least one message');
  if (size > MAX_BATCH) throw new InputError(`at most ${MAX_BATCH} messages per call (got ${size})`);
}

export async function auditPairs(
  store: ConsoleStore,
  actor: Actor,
  action: string,
  results: readonly ActionResult[],
  client: ClientInfo,
  detail?: Record<string, unknown>,
): Promise<void> {
  if (results.length === 0) return;
  const outcome = (result: ActionResult): AuditOutcome => {
    if (result.outcome === 'failed') return 'failure';
    if (result.outcome === 'forbidden' || result.outcome === 'notFound') return 'denied';
    return 'success';
  };
  const now = new Date();
  await store.connection.db.insert(store.t.auditLogTable).values(
    results.map((result) => ({
      at: now,
      actorAccountId: actor.kind === 'account' ? actor.accountId : null,
      actor: actorLabel(actor).slice(0, 320),
      action,
      outcome: outcome(result),
      target: (result.recipient ? `${result.target} for ${result.recipient}` : result.target).slice(0, 2000),
      domain: result.recipient ? domainOf(result.recipient) : null,
      detail: { result: result.outcome, message: result.message, ...detail },
      ip: client.ip ?? null,
    })),
  );
}

async function visibleEntries(
  context: ActionContext,
  keys: readonly EntryKey[],
): Promise<Map<string, QuarantineEntry>> {
  const found = await findQuarantineEntries(context.stores.amavis, context.viewer, keys);
  return new Map(found.filter((e) => e !== null).map((e) => [entryKeyString(e), e]));
}

export interface EntrySlot {
  /** The position in the caller's list. */
  index: number;
  target: string;
  entry: QuarantineEntry;
}

/**
 * The entries the caller named that it may see, each with its position; `results` starts with a
 * notFound in every other position (unknown, invisible, or not an entry ID at all).
 */
export async function visibleSlots(
  context: ActionContext,
  keys: readonly (EntryKey | null)[],
): Promise<{ slots: EntrySlot[]; results: ActionResult[] }> {
  const entries = await visibleEntries(
    context,
    keys.filter((k) => k !== null),
  );
  const slots: EntrySlot[] = [];
  const results: ActionResult[] = keys.map((key, index) => {
    const target = key ? entryKeyString(key) : '(invalid id)';
    const entry = key ? entries.get(target) : undefined;
    if (entry) slots.push({ index, target, entry });
    return { target, outcome: 'notFound', message: 'no such message, or not yours', recipient: null };
  });
  return { slots, results };
}

function keyCondition(store: AmavisStore, keys: readonly EntryKey[]): SQL | undefined {
  const r = store.t.msgrcptTable;
  return or(
    ...keys.map((k) =>
      and(eq(r.partitionTag, k.partitionTag), eq(r.mailId, k.mailId), eq(r.rseqnum, k.rseqnum)),
    ),
  );
}

/** Sets rs for these entries, except where it already holds one of `keep`. */
export async function setStatus(
  store: AmavisStore,
  keys: readonly EntryKey[],
  rs: string,
  keep: readonly string[],
): Promise<void> {
  if (keys.length === 0) return;
  const r = store.t.msgrcptTable;
  await store.connection.db
    .update(r)
    .set({ rs })
    .where(and(keyCondition(store, keys), ...keep.map((code) => ne(r.rs, code))));
}

// ---------------------------------------------------------------------------------------------------
// Talking to amavisd

interface ReleaseTarget {
  entry: QuarantineEntry;
  secretId: string;
  quarType: string;
  host: string;
}

async function releaseTargets(
  store: AmavisStore,
  entries: readonly QuarantineEntry[],
): Promise<ReleaseTarget[]> {
  const m = store.t.msgsTable;
  const rows = await store.connection.db
    .select({
      partitionTag: m.partitionTag,
      mailId: m.mailId,
      secretId: m.secretId,
      quarType: m.quarType,
      host: m.host,
    })
    .from(m)
    .where(or(...entries.map((e) => and(eq(m.partitionTag, e.partitionTag), eq(m.mailId, e.mailId)))));
  const byMessage = new Map(rows.map((row) => [`${row.partitionTag}:${row.mailId}`, row]));
  return entries.flatMap((entry) => {
    const row = byMessage.get(`${entry.partitionTag}:${entry.mailId}`);
    if (!row) return [];
    return [
      {
        entry,
        secretId: row.secretId ?? '',
        quarType: (row.quarType ?? '').trim() || 'Q',
        host: row.host,
      },
    ];
  });
}

interface PdpResult {
  ok: boolean;
  message: string | null;
}

/**
 * Releases each target through the amavisd that quarantined it (msgs.host → endpoint), one
 * connection per endpoint. A transport failure fails that pair and the next pair gets a fresh
 * connection; an endpoint that cannot be reached fails its remaining pairs at once.
 */
async function releaseThroughAmavis(
  context: ActionContext,
  targets: readonly ReleaseTarget[],
  recipients: (target: ReleaseTarget) => string[],
): Promise<Map<ReleaseTarget, PdpResult>> {
  const results = new Map<ReleaseTarget, PdpResult>();
  let routing: ReturnType<typeof pdpRoutingFromSettings>;
  try {
    routing = pdpRoutingFromSettings(context.viewer.settings);
  } catch (error) {
    const message = `the AM.PDP settings are unusable: ${error instanceof Error ? error.message : String(error)}`;
    for (const target of targets) results.set(target, { ok: false, message });
    return results;
  }
  const groups = new Map<string, { endpoint: PdpEndpoint; targets: ReleaseTarget[] }>();
  for (const target of targets) {
    const endpoint = endpointForHost(routing, target.host);
    const key = describeEndpoint(endpoint);
    const group = groups.get(key) ?? { endpoint, targets: [] };
    group.targets.push(target);
    groups.set(key, group);
  }
  const requestedBy = actorAddress(context.viewer.actor);
  for (const { endpoint, targets: group } of groups.values()) {
    let session: AmPdpSession | null = null;
    let unreachable: string | null = null;
    for (const target of group) {
      if (unreachable) {
        results.set(target, { ok: false, message: unreachable });
        continue;
      }
      try {
        session ??= await AmPdpSession.open(endpoint);
      } catch (error) {
        unreachable = error instanceof Error ? error.message : String(error);
        results.set(target, { ok: false, message: unreachable });
        continue;
      }
      try {
        const outcome = await session.release({
          mailId: target.entry.mailId,
          secretId: target.secretId,
          partitionTag: target.entry.partitionTag,
          quarType: target.quarType,
          recipients: recipients(target),
          ...(requestedBy ? { requestedBy } : {}),
        });
        results.set(target, { ok: outcome.ok, message: outcome.ok ? null : outcome.error });
      } catch (error) {
        if (!(error instanceof AmPdpError)) throw error;
        results.set(target, { ok: false, message: error.message });
        await session.close().catch(() => {});
        session = null;
      }
    }
    await session?.close().catch(() => {});
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------
// Release

function validateTo(to: readonly string[] | undefined, settings: Viewer['settings']): string[] | undefined {
  if (!to) return undefined;
  if (to.length === 0 || to.length > 10) throw new InputError('to: give 1 to 10 addresses');
  return to.map((address) => {
    try {
      return normaliseAddress(address, settings);
    } catch (error) {
      if (error instanceof AddressError) throw new InputError(`to: ${error.message}`);
      throw error;
    }
  });
}

/**
 * Releases entries: directly where the caller may (admins; users within the rules and
 * userCanRelease), as a release request where the rules say so, refused where they forbid it.
 */
export async function releaseMessages(
  context: ActionContext,
  keys: readonly (EntryKey | null)[],
  options: ReleaseOptions = {},
): Promise<ActionResult[]> {
  checkBatch(keys.length);
  const { actor, settings } = context.viewer;
  const to = validateTo(options.to, settings);
  if (to && !(actor.kind === 'account' && actor.role !== 'user')) {
    throw new ForbiddenError('only admins release to another address');
  }
  const { slots, results } = await visibleSlots(context, keys);
  const recipientDomains = slots.map((slot) => domainOf(slot.entry.recipient));
  const overrides = await overridesForDomains(context.stores.console, recipientDomains);

  const direct: { index: number; entry: QuarantineEntry }[] = [];
  const requests: { index: number; entry: QuarantineEntry }[] = [];
  for (const { index, target, entry } of slots) {
    const reply = (outcome: ActionOutcome, message: string | null = null) => {
      results[index] = { target, outcome, message, recipient: entry.recipient };
    };
    const admin = administers(actor, entry.recipient);
    if (to && !admin) reply('forbidden', 'you release to another address only for your domains');
    else if (!to && entry.statusCode === 'R') reply('alreadyReleased');
    else if (admin) direct.push({ index, entry });
    else {
      const kind = describeContent(entry.contentCode);
      const permission = userPermission(settings, overrides.get(domainOf(entry.recipient)), kind.kind);
      if (permission === 'none') reply('forbidden', `${kind.label} messages are released by an admin only`);
      else if (permission === 'release') direct.push({ index, entry });
      else if (entry.statusCode === 'p') reply('alreadyRequested');
      else requests.push({ index, entry });
    }
  }

  for (const result of await releaseEntries(
    context,
    direct.map((d) => d.entry),
    to,
  )) {
    const { index } = direct[result.position] as { index: number };
    results[index] = result.result;
  }
  const requested = await createRequests(
    context,
    requests.map((r) => r.entry),
  );
  requested.forEach((result, i) => {
    results[(requests[i] as { index: number }).index] = result;
  });
  await auditPairs(
    context.stores.console,
    actor,
    'message.release',
    results,
    context.client,
    to ? { to } : undefined,
  );
  return results;
}

/** Releases through amavisd and records the outcome: rs 'R' and pending requests approved. */
async function releaseEntries(
  context: ActionContext,
  entries: readonly QuarantineEntry[],
  to: string[] | undefined,
): Promise<{ position: number; result: ActionResult }[]> {
  if (entries.length === 0) return [];
  const { amavis } = context.stores;
  const targets = await releaseTargets(amavis, entries);
  const released = await releaseThroughAmavis(context, targets, (t) => to ?? [t.entry.recipient]);
  const byEntry = new Map(targets.map((t) => [t.entry, released.get(t)]));
  const confirmed = entries.filter((e) => byEntry.get(e)?.ok);
  // Released elsewhere, the recipient still has not got it: rs stays.
  if (!to) {
    await setStatus(amavis, confirmed, 'R', ['R']);
    await recordQuarantineEvents(context.stores.console, 'released', confirmed, context.viewer.actor, 'R');
    await closeRequests(context, confirmed, 'approved', null);
  }
  return entries.map((entry, position) => {
    const outcome = byEntry.get(entry);
    const target = entryKeyString(entry);
    const result: ActionResult = outcome?.ok
      ? {
          target,
          outcome: 'released',
          message: to ? `released to ${to.join(', ')}` : null,
          recipient: entry.recipient,
        }
      : {
          target,
          outcome: 'failed',
          message: outcome?.message ?? 'the message is no longer in the quarantine',
          recipient: entry.recipient,
        };
    return { position, result };
  });
}

// ---------------------------------------------------------------------------------------------------
// Release requests

function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (code === '23505' || code === 'ER_DUP_ENTRY' || (e as { errno?: unknown }).errno === 1062) return true;
  }
  return false;
}

async function createRequests(
  context: ActionContext,
  entries: readonly QuarantineEntry[],
): Promise<ActionResult[]> {
  const { actor } = context.viewer;
  const store = context.stores.console;
  const table = store.t.releaseRequestsTable;
  const results: ActionResult[] = [];
  const created: QuarantineEntry[] = [];
  const address = actorAddress(actor);
  for (const entry of entries) {
    const target = entryKeyString(entry);
    try {
      await store.connection.db.insert(table).values({
        partitionTag: entry.partitionTag,
        mailId: entry.mailId,
        rseqnum: entry.rseqnum,
        recipient: entry.recipient.slice(0, 320),
        recipientDomain: domainOf(entry.recipient).slice(0, 255),
        subject: entry.subject.slice(0, 255),
        sender: entry.envelopeSender.slice(0, 320),
        contentCode: entry.contentCode.trim().slice(0, 1),
        status: 'pending',
        pendingKey: target,
        requestedByAccountId: actor.kind === 'account' ? actor.accountId : null,
        requestedBy: actorLabel(actor).slice(0, 320),
        notifyAddress: (address || entry.recipient).slice(0, 320),
      });
      created.push(entry);
      results.push({ target, outcome: 'requested', message: null, recipient: entry.recipient });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      results.push({ target, outcome: 'alreadyRequested', message: null, recipient: entry.recipient });
    }
  }
  // 'p' is what amavisd-era tools show; learned marks give way to it, a release or deletion does not
  await setStatus(context.stores.amavis, created, 'p', ['R', 'D', 'p']);
  await recordQuarantineEvents(store, 'requested', created, actor, 'p');
  return results;
}

/** Ends the pending requests of these entries (released directly, deleted) and tells requesters. */
async function closeRequests(
  context: ActionContext,
  entries: readonly QuarantineEntry[],
  status: 'approved' | 'cancelled',
  reason: string | null,
): Promise<void> {
  if (entries.length === 0) return;
  const store = context.stores.console;
  const table = store.t.releaseRequestsTable;
  const keys = entries.map(entryKeyString);
  const open = await store.connection.db.select().from(table).where(inArray(table.pendingKey, keys));
  if (open.length === 0) return;
  await decide(context, open, status, reason);
}

export type ReleaseRequestRow = ConsoleStore['t']['releaseRequestsTable']['$inferSelect'];

async function decide(
  context: ActionContext,
  rows: readonly ReleaseRequestRow[],
  status: 'approved' | 'denied' | 'cancelled' | 'expired',
  reason: string | null,
): Promise<void> {
  const store = context.stores.console;
  const table = store.t.releaseRequestsTable;
  const { actor } = context.viewer;
  await store.connection.db
    .update(table)
    .set({
      status,
      pendingKey: null,
      decidedAt: new Date(),
      decidedBy: actorLabel(actor).slice(0, 320),
      decidedByAccountId: actor.kind === 'account' ? actor.accountId : null,
      reason,
    })
    .where(
      inArray(
        table.id,
        rows.map((r) => r.id),
      ),
    );
  if (status === 'approved') await recordQuarantineEvents(store, 'approved', rows, actor, 'R');
  if (status === 'approved' || status === 'denied') {
    for (const row of rows) await notifyRequester(context, row, status, reason);
  }
}

async function notifyRequester(
  context: ActionContext,
  row: ReleaseRequestRow,
  status: 'approved' | 'denied',
  reason: string | null,
): Promise<void> {
  const what = `"${row.subject || '(no subject)'}" from ${row.sender || '<>'} to ${row.recipient}`;
  const text =
    status === 'approved'
      ? `Your request to release the quarantined message ${what} was approved. The message has been delivered.\n`
      : `Your request to release the quarantined message ${what} was denied.\n\nReason: ${reason ?? '(none given)'}\n`;
  await context.mailer.send({
    from: context.viewer.settings.notificationsSender,
    to: row.notifyAddress,
    subject: status === 'approved' ? 'Release request approved' : 'Release request denied',
    text,
  });
}

/** Pending requests an admin may decide: their domains' (superadmins: all). */
function decidableBy(actor: Actor, table: ConsoleStore['t']['releaseRequestsTable']): SQL | undefined {
  if (actor.kind === 'account' && actor.role === 'superadmin') return undefined;
  if (actor.kind === 'account' && actor.role === 'domainadmin' && actor.domains.length > 0) {
    return inArray(table.recipientDomain, actor.domains);
  }
  return sql`1 = 0`;
}

/** A claim older than this is a crashed approval; another admin may take it over. */
const CLAIM_TIMEOUT_MS = 10 * 60_000;

async function requestsById(
  context: ActionContext,
  ids: readonly number[],
): Promise<Map<number, ReleaseRequestRow>> {
  const store = context.stores.console;
  const table = store.t.releaseRequestsTable;
  const rows = ids.length
    ? await store.connection.db
        .select()
        .from(table)
        .where(and(inArray(table.id, [...ids]), decidableBy(context.viewer.actor, table)))
    : [];
  return new Map(rows.map((row) => [row.id, row]));
}

function requestResult(
  row: ReleaseRequestRow,
  outcome: ActionOutcome,
  message: string | null = null,
): ActionResult {
  return { target: `request ${row.id}`, outcome, message, recipient: row.recipient };
}

function alreadyDecided(row: ReleaseRequestRow): ActionResult {
  return requestResult(
    row,
    row.status === 'approved' ? 'alreadyReleased' : 'alreadyDecided',
    `already ${row.status}`,
  );
}

/**
 * Approves requests: each is claimed (so two admins never release it twice), released through
 * amavisd, and marked approved; a failed release leaves it pending with amavisd's reason.
 */
export async function approveReleaseRequests(
  context: ActionContext,
  ids: readonly number[],
): Promise<ActionResult[]> {
  checkBatch(ids.length);
  const store = context.stores.console;
  const table = store.t.releaseRequestsTable;
  const found = await requestsById(context, ids);
  const claimed: ReleaseRequestRow[] = [];
  const results = new Map<number, ActionResult>();
  for (const id of ids) {
    const row = found.get(id);
    if (!row) {
      results.set(id, {
        target: `request ${id}`,
        outcome: 'notFound',
        message: 'no such request, or not yours',
        recipient: null,
      });
      continue;
    }
    const stale = new Date(Date.now() - CLAIM_TIMEOUT_MS);
    const claim = await store.connection.db
      .update(table)
      .set({ status: 'approving', decidedAt: new Date() })
      .where(
        and(
          eq(table.id, id),
          or(eq(table.status, 'pending'), and(eq(table.status, 'approving'), lt(table.decidedAt, stale))),
        ),
      );
    if (changedRows(claim) === 1) claimed.push(row);
    else {
      const [now] = await store.connection.db.select().from(table).where(eq(table.id, id));
      results.set(id, now ? alreadyDecided(now) : requestResult(row, 'notFound'));
    }
  }
  if (claimed.length > 0) {
    const keys = claimed.map((row) => ({
      partitionTag: row.partitionTag,
      mailId: row.mailId,
      rseqnum: row.rseqnum,
    }));
    // the admin's own view of the entries: they must still exist and be theirs to release
    const entries = await visibleEntries(context, keys);
    // released meanwhile (directly, by another admin): approving is then only bookkeeping
    const done = claimed.filter((row) => entries.get(entryKeyString(row))?.statusCode === 'R');
    if (done.length > 0) await decide(context, done, 'approved', null);
    const present = claimed.filter((row) => entries.has(entryKeyString(row)) && !done.includes(row));
    const released = await releaseEntries(
      context,
      present.map((row) => entries.get(entryKeyString(row)) as QuarantineEntry),
      undefined,
    );
    const outcomeByKey = new Map(released.map((r) => [r.result.target, r.result]));
    const gone = claimed.filter((row) => !entries.has(entryKeyString(row)));
    if (gone.length > 0) await decide(context, gone, 'expired', 'the message is no longer in the quarantine');
    for (const row of claimed) {
      const outcome = outcomeByKey.get(entryKeyString(row));
      if (done.includes(row)) {
        results.set(row.id, requestResult(row, 'alreadyReleased'));
      } else if (!outcome) {
        results.set(row.id, requestResult(row, 'failed', 'the message is no longer in the quarantine'));
      } else if (outcome.outcome === 'released') {
        results.set(row.id, requestResult(row, 'released'));
      } else {
        // give the claim back: the request stays pending, with the reason amavisd gave
        await store.connection.db
          .update(table)
          .set({ status: 'pending', decidedAt: null, reason: outcome.message })
          .where(eq(table.id, row.id));
        results.set(row.id, requestResult(row, 'failed', outcome.message));
      }
    }
  }
  const ordered = ids.map((id) => results.get(id) as ActionResult);
  await auditPairs(store, context.viewer.actor, 'releaseRequest.approve', ordered, context.client);
  return ordered;
}

/** Denies pending requests with a reason, which is mailed to the requester; rs 'p' goes back to 'V'. */
export async function denyReleaseRequests(
  context: ActionContext,
  ids: readonly number[],
  reason: string,
): Promise<ActionResult[]> {
  checkBatch(ids.length);
  const why = reason.trim();
  if (why.length === 0 || why.length > 1000) throw new InputError('reason: 1 to 1000 characters');
  const store = context.stores.console;
  const table = store.t.releaseRequestsTable;
  const found = await requestsById(context, ids);
  const results: ActionResult[] = [];
  const denied: ReleaseRequestRow[] = [];
  for (const id of ids) {
    const row = found.get(id);
    if (!row) {
      results.push({
        target: `request ${id}`,
        outcome: 'notFound',
        message: 'no such request, or not yours',
        recipient: null,
      });
      continue;
    }
    const update = await store.connection.db
      .update(table)
      .set({ status: 'denied', decidedAt: new Date(), pendingKey: null, reason: why })
      .where(and(eq(table.id, id), eq(table.status, 'pending')));
    if (changedRows(update) === 1) {
      denied.push(row);
      results.push(requestResult(row, 'denied'));
    } else {
      const [now] = await store.connection.db.select().from(table).where(eq(table.id, id));
      results.push(now ? alreadyDecided(now) : requestResult(row, 'notFound'));
    }
  }
  if (denied.length > 0) {
    await decide(context, denied, 'denied', why);
    const r = context.stores.amavis.t.msgrcptTable;
    const keys = denied.map((row) => ({
      partitionTag: row.partitionTag,
      mailId: row.mailId,
      rseqnum: row.rseqnum,
    }));
    await context.stores.amavis.connection.db
      .update(r)
      .set({ rs: 'V' })
      .where(and(keyCondition(context.stores.amavis, keys), eq(r.rs, 'p')));
    await recordQuarantineEvents(store, 'denied', denied, context.viewer.actor, 'V');
  }
  await auditPairs(store, context.viewer.actor, 'releaseRequest.deny', results, context.client, {
    reason: why,
  });
  return results;
}

/**
 * Expires pending requests created before `before` or whose message is gone (the cleanup job's
 * part of the workflow). Returns how many expired.
 */
export async function expireReleaseRequests(stores: Stores, before: Date): Promise<number> {
  const table = stores.console.t.releaseRequestsTable;
  const { db } = stores.console.connection;
  const pending = await db.select().from(table).where(eq(table.status, 'pending'));
  if (pending.length === 0) return 0;
  const m = stores.amavis.t.msgsTable;
  const present = new Set<string>();
  for (let i = 0; i < pending.length; i += 500) {
    const chunk = pending.slice(i, i + 500);
    const rows = await stores.amavis.connection.db
      .select({ partitionTag: m.partitionTag, mailId: m.mailId })
      .from(m)
      .where(or(...chunk.map((p) => and(eq(m.partitionTag, p.partitionTag), eq(m.mailId, p.mailId)))));
    for (const row of rows) present.add(`${row.partitionTag}:${row.mailId}`);
  }
  const expired = pending.filter(
    (p) => p.createdAt < before || !present.has(`${p.partitionTag}:${p.mailId}`),
  );
  if (expired.length === 0) return 0;
  await db
    .update(table)
    .set({ status: 'expired', pendingKey: null, decidedAt: new Date(), decidedBy: 'cleanup' })
    .where(
      and(
        inArray(
          table.id,
          expired.map((p) => p.id),
        ),
        eq(table.status, 'pending'),
      ),
    );
  // an old request's message may still be here: it is no longer pending, so the user may ask again
  const r = stores.amavis.t.msgrcptTable;
  for (let i = 0; i < expired.length; i += 500) {
    const keys = expired.slice(i, i + 500);
    await stores.amavis.connection.db
      .update(r)
      .set({ rs: 'V' })
      .where(and(keyCondition(stores.amavis, keys), eq(r.rs, 'p')));
  }
  await recordQuarantineEvents(stores.console, 'expired', expired, 'cleanup', 'V');
  return expired.length;
}

// ---------------------------------------------------------------------------------------------------
// Delete

/**
 * Deletes entries for their recipient only (rs 'D'); the cleanup job removes a message once every
 * recipient is done with it. Pending requests for them are cancelled.
 */
export async function deleteMessages(
  context: ActionContext,
  keys: readonly (EntryKey | null)[],
): Promise<ActionResult[]> {
  checkBatch(keys.length);
  const { slots, results } = await visibleSlots(context, keys);
  for (const { index, target, entry } of slots) {
    results[index] = { target, outcome: 'deleted', message: null, recipient: entry.recipient };
  }
  const found = slots.map((slot) => slot.entry);
  await setStatus(context.stores.amavis, found, 'D', ['D']);
  await recordQuarantineEvents(context.stores.console, 'deleted', found, context.viewer.actor, 'D');
  await closeRequests(context, found, 'cancelled', 'the message was deleted');
  await auditPairs(context.stores.console, context.viewer.actor, 'message.delete', results, context.client);
  return results;
}

// ---------------------------------------------------------------------------------------------------
// Reading requests

export interface RequestFilter {
  status?: 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';
}

/**
 * The requests the actor may see, newest first: admins their domains' (superadmins all), users and
 * self-service links the ones they made.
 */
export function visibleRequests(
  actor: Actor,
  table: ConsoleStore['t']['releaseRequestsTable'],
): SQL | undefined {
  if (actor.kind === 'account' && actor.role === 'superadmin') return undefined;
  if (actor.kind === 'account') {
    const own = eq(table.requestedByAccountId, actor.accountId);
    return actor.role === 'domainadmin' && actor.domains.length > 0
      ? or(own, inArray(table.recipientDomain, actor.domains))
      : own;
  }
  if (actor.kind === 'selfService') {
    return and(
      isNull(table.requestedByAccountId),
      eq(table.partitionTag, actor.partitionTag),
      eq(table.mailId, actor.mailId),
      eq(table.recipient, actor.recipient),
    );
  }
  return sql`1 = 0`;
}

export const REQUEST_STATUSES = [
  'pending',
  'approving',
  'approved',
  'denied',
  'expired',
  'cancelled',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** A page of the requests the actor may see, newest first (keyset on id). */
export async function listReleaseRequests(
  store: ConsoleStore,
  actor: Actor,
  statuses: readonly RequestStatus[],
  args: PageArgs,
): Promise<Page<ReleaseRequestRow>> {
  const table = store.t.releaseRequestsTable;
  const request = pageRequest(args, (cursor) => decodeCursor(cursor, ['int'] as const)[0]);
  const { cursor, backwards } = request;
  const rows = await store.connection.db
    .select()
    .from(table)
    .where(
      and(
        visibleRequests(actor, table),
        statuses.length > 0 ? inArray(table.status, [...statuses]) : undefined,
        cursor === undefined ? undefined : backwards ? gt(table.id, cursor) : lt(table.id, cursor),
      ),
    )
    .orderBy(backwards ? asc(table.id) : desc(table.id))
    .limit(request.limit + 1);
  return pageOf(rows, request);
}

export function encodeRequestCursor(row: ReleaseRequestRow): string {
  return encodeCursor([row.id]);
}

/** Requests by id, as the actor may see them (null where not). */
export async function findReleaseRequests(
  store: ConsoleStore,
  actor: Actor,
  ids: readonly number[],
): Promise<(ReleaseRequestRow | null)[]> {
  const table = store.t.releaseRequestsTable;
  const rows = ids.length
    ? await store.connection.db
        .select()
        .from(table)
        .where(and(visibleRequests(actor, table), inArray(table.id, [...ids])))
    : [];
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
