// Listing quarantined mail: one entry per (message, recipient), newest first, keyset pagination.
import { and, asc, desc, eq, exists, isNotNull, ne, or, type SQL, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Actor } from '../../access/actor.ts';
import { visibleTo } from '../../access/quarantine-visibility.ts';
import { decodeOctets } from '../../amavis/address.ts';
import { keyToBinary } from '../../db/binary.ts';
import {
  decodeCursor,
  encodeCursor,
  type Page,
  type PageArgs,
  pageOf,
  pageRequest,
} from '../../db/paging.ts';
import type { AmavisStore } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';
import type { Settings } from '../settings/settings.service.ts';

/** Who is looking, with the settings that decide how their addresses match. */
export interface Viewer {
  actor: Actor;
  settings: Settings;
}

export interface EntryKey {
  partitionTag: number;
  mailId: string;
  rseqnum: number;
}

export interface QuarantineEntry extends EntryKey {
  timeNum: number;
  receivedAt: Date;
  recipient: string;
  envelopeSender: string;
  fromHeader: string;
  subject: string;
  size: number;
  contentCode: string;
  statusCode: string;
  score: number | null;
}

interface Cursor extends EntryKey {
  timeNum: number;
}

export function encodeEntryCursor(entry: Cursor): string {
  return encodeCursor([entry.timeNum, entry.partitionTag, entry.mailId, entry.rseqnum]);
}

function decodeEntryCursor(cursor: string): Cursor {
  const [timeNum, partitionTag, mailId, rseqnum] = decodeCursor(cursor, [
    'int',
    'int',
    'string',
    'int',
  ] as const);
  if (mailId.length > 16) throw new InputError('invalid cursor: pass a cursor returned by this list');
  return { timeNum, partitionTag, mailId, rseqnum };
}

/**
 * The rows the quarantine shows: amavisd finished processing the message (content set) and stored it
 * in the SQL quarantine (chunk 1 exists), nobody deleted it for this recipient, and the viewer may
 * see this recipient's mail.
 */
function quarantineQuery(store: AmavisStore, viewer: Viewer, where: SQL | undefined) {
  const { t, connection } = store;
  const m = t.msgsTable;
  const r = t.msgrcptTable;
  const q = t.quarantineTable;
  const rcpt = alias(t.maddrTable, 'rcpt');
  const sender = alias(t.maddrTable, 'sender');
  const db = connection.db;
  return db
    .select({
      partitionTag: m.partitionTag,
      mailId: m.mailId,
      rseqnum: r.rseqnum,
      timeNum: m.timeNum,
      recipient: rcpt.email,
      envelopeSender: sender.email,
      fromHeader: m.fromAddr,
      subject: m.subject,
      size: m.size,
      contentCode: r.content,
      statusCode: r.rs,
      score: r.bspamLevel,
    })
    .from(m)
    .innerJoin(r, and(eq(r.partitionTag, m.partitionTag), eq(r.mailId, m.mailId)))
    .innerJoin(rcpt, eq(rcpt.id, r.rid))
    .leftJoin(sender, eq(sender.id, m.sid))
    .where(
      and(
        visibleTo(viewer.actor, viewer.settings, {
          partitionTag: m.partitionTag,
          mailId: m.mailId,
          email: rcpt.email,
          domain: rcpt.domain,
        }),
        isNotNull(m.content),
        ne(r.rs, 'D'),
        exists(
          db
            .select({ one: sql`1` })
            .from(q)
            .where(and(eq(q.partitionTag, m.partitionTag), eq(q.mailId, m.mailId), eq(q.chunkInd, 1))),
        ),
        where,
      ),
    );
}

type Row = Awaited<ReturnType<ReturnType<typeof quarantineQuery>['execute']>>[number];

function toEntry(row: Row): QuarantineEntry {
  return {
    partitionTag: row.partitionTag,
    mailId: row.mailId,
    rseqnum: row.rseqnum,
    timeNum: row.timeNum,
    receivedAt: new Date(row.timeNum * 1000),
    recipient: decodeOctets(row.recipient),
    envelopeSender: decodeOctets(row.envelopeSender),
    fromHeader: row.fromHeader ?? '',
    subject: row.subject ?? '',
    size: row.size,
    contentCode: row.contentCode,
    statusCode: row.statusCode,
    score: row.score,
  };
}

export async function listQuarantine(
  store: AmavisStore,
  viewer: Viewer,
  args: PageArgs,
): Promise<Page<QuarantineEntry>> {
  const m = store.t.msgsTable;
  const r = store.t.msgrcptTable;
  const request = pageRequest(args, decodeEntryCursor);
  const { cursor, backwards } = request;
  const keyset = [m.timeNum, m.partitionTag, m.mailId, r.rseqnum];
  let where: SQL | undefined;
  if (cursor) {
    const columns = sql.join(keyset, sql`, `);
    const values = sql`${cursor.timeNum}, ${cursor.partitionTag}, ${keyToBinary(cursor.mailId)}, ${cursor.rseqnum}`;
    where = backwards ? sql`(${columns}) > (${values})` : sql`(${columns}) < (${values})`;
  }
  const rows = await quarantineQuery(store, viewer, where)
    .orderBy(...keyset.map((column) => (backwards ? asc(column) : desc(column))))
    .limit(request.limit + 1);
  return pageOf(rows.map(toEntry), request);
}

/** Loads entries by key (for Relay's node field), in the order asked, null where not visible. */
export async function findQuarantineEntries(
  store: AmavisStore,
  viewer: Viewer,
  keys: readonly EntryKey[],
): Promise<(QuarantineEntry | null)[]> {
  if (keys.length === 0) return [];
  const m = store.t.msgsTable;
  const r = store.t.msgrcptTable;
  const rows = await quarantineQuery(
    store,
    viewer,
    or(
      ...keys.map((key) =>
        and(eq(m.partitionTag, key.partitionTag), eq(m.mailId, key.mailId), eq(r.rseqnum, key.rseqnum)),
      ),
    ),
  );
  const byKey = new Map(rows.map((row) => [entryKeyString(row), toEntry(row)]));
  return keys.map((key) => byKey.get(entryKeyString(key)) ?? null);
}

export function entryKeyString(key: EntryKey): string {
  return `${key.partitionTag}:${key.mailId}:${key.rseqnum}`;
}

export function parseEntryKey(value: string): EntryKey | null {
  const first = value.indexOf(':');
  const last = value.lastIndexOf(':');
  if (first <= 0 || last === first) return null;
  const partitionTag = Number(value.slice(0, first));
  const rseqnum = Number(value.slice(last + 1));
  const mailId = value.slice(first + 1, last);
  if (!Number.isSafeInteger(partitionTag) || !Number.isSafeInteger(rseqnum) || mailId.length === 0)
    return null;
  return { partitionTag, mailId, rseqnum };
}
