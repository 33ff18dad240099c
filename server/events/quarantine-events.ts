// The ordered log of what happened to quarantined entries (console_quarantine_events): amavisd
// quarantined a (message, recipient), or someone changed its status. Every replica, job and CLI run
// writes here; the replica that holds the detector lease reads it in id order and publishes it, and a
// client that reconnects resumes from the last id it saw. Services call recordQuarantineEvents after
// their writes to msgrcpt.rs.
import { EventEmitter } from 'node:events';
import { and, asc, gt, lte, max } from 'drizzle-orm';
import { type Actor, actorLabel } from '../access/actor.ts';
import type { ConsoleStore } from '../db/stores.ts';

export const EVENT_KINDS = [
  'quarantined',
  'viewed',
  'released',
  'requested',
  'approved',
  'denied',
  'expired',
  'learned',
  'deleted',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** One row of the log, as published to subscribers (JSON-safe: it crosses Redis). */
export interface QuarantineEvent {
  id: number;
  /** ISO 8601. */
  at: string;
  kind: EventKind;
  partitionTag: number;
  mailId: string;
  rseqnum: number;
  recipient: string;
  recipientDomain: string;
  /** msgrcpt.rs after the change; null for newly quarantined entries. */
  status: string | null;
  actor: string | null;
}

/** What an event is about: an entry key and its recipient. QuarantineEntry fits. */
export interface EventSubject {
  partitionTag: number;
  mailId: string;
  rseqnum: number;
  recipient: string;
}

/**
 * Rung in-process after this process wrote events, so the publisher need not wait for its next poll.
 * Jobs in worker threads and the CLI cannot reach it; the publisher's interval picks theirs up.
 */
export const eventsRecorded = new EventEmitter();
eventsRecorded.setMaxListeners(0);

export function domainOfAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(at + 1).toLowerCase() : '';
}

/**
 * Appends one event per subject. Never throws: the status change it records has already happened, and
 * failing the caller's action over the live feed would be worse than a missing live event (a client
 * that reloads the listing still sees the truth).
 */
export async function recordQuarantineEvents(
  store: ConsoleStore,
  kind: EventKind,
  subjects: readonly EventSubject[],
  by: Actor | string | null,
  status: string | null,
): Promise<void> {
  if (subjects.length === 0) return;
  const actor = by === null ? null : (typeof by === 'string' ? by : actorLabel(by)).slice(0, 320);
  try {
    await insertEvents(
      store,
      subjects.map((s) => ({ kind, ...s, status, actor })),
    );
  } catch {
    return;
  }
  eventsRecorded.emit('recorded');
}

export interface NewEvent extends EventSubject {
  kind: EventKind;
  status: string | null;
  actor: string | null;
}

const INSERT_CHUNK = 500;

/** Inserts events in order (ids follow the array); throws on failure. */
export async function insertEvents(store: ConsoleStore, events: readonly NewEvent[]): Promise<void> {
  const table = store.t.quarantineEventsTable;
  for (let i = 0; i < events.length; i += INSERT_CHUNK) {
    await store.connection.db.insert(table).values(
      events.slice(i, i + INSERT_CHUNK).map((e) => ({
        kind: e.kind,
        partitionTag: e.partitionTag,
        mailId: e.mailId.slice(0, 16),
        rseqnum: e.rseqnum,
        recipient: e.recipient.toLowerCase().slice(0, 320),
        recipientDomain: domainOfAddress(e.recipient).slice(0, 255),
        status: e.status === null ? null : e.status.slice(0, 1),
        actor: e.actor,
      })),
    );
  }
}

type EventRow = ConsoleStore['t']['quarantineEventsTable']['$inferSelect'];

export function toEvent(row: EventRow): QuarantineEvent {
  return {
    id: Number(row.id),
    at: row.at.toISOString(),
    kind: row.kind as EventKind,
    partitionTag: row.partitionTag,
    mailId: row.mailId,
    rseqnum: row.rseqnum,
    recipient: row.recipient,
    recipientDomain: row.recipientDomain,
    // MariaDB hands CHAR/VARCHAR ' ' back as ''
    status: row.status === null ? null : row.status === '' ? ' ' : row.status,
    actor: row.actor,
  };
}

/** The id of the newest event in the log (0 when empty). */
export async function latestEventId(store: ConsoleStore): Promise<number> {
  const table = store.t.quarantineEventsTable;
  const [row] = await store.connection.db.select({ id: max(table.id) }).from(table);
  return Number(row?.id ?? 0);
}

/** Events after `since` (an id), oldest first, at most `limit`, and none after `until` when given. */
export async function readEventsSince(
  store: ConsoleStore,
  since: number,
  limit: number,
  until?: number,
): Promise<QuarantineEvent[]> {
  const table = store.t.quarantineEventsTable;
  const rows = await store.connection.db
    .select()
    .from(table)
    .where(and(gt(table.id, since), until === undefined ? undefined : lte(table.id, until)))
    .orderBy(asc(table.id))
    .limit(limit);
  return rows.map(toEvent);
}
