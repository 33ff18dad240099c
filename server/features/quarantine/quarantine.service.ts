// Listing quarantined mail: one entry per (message, recipient), newest first, keyset pagination.
import { and, asc, desc, eq, exists, isNotNull, ne, or, type SQL, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { decodeOctets } from '../../amavis/address.ts';
import { keyToBinary } from '../../db/binary.ts';
import type { AmavisStore } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';

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

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface QuarantinePage {
  entries: QuarantineEntry[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

interface Cursor extends EntryKey {
  timeNum: number;
}

export function encodeCursor(entry: Cursor): string {
  return Buffer.from(
    JSON.stringify([entry.timeNum, entry.partitionTag, entry.mailId, entry.rseqnum]),
  ).toString('base64url');
}

export function decodeCursor(cursor: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 4 &&
      Number.isSafeInteger(value[0]) &&
      Number.isSafeInteger(value[1]) &&
      typeof value[2] === 'string' &&
      value[2].length > 0 &&
      value[2].length <= 16 &&
      Number.isSafeInteger(value[3])
    ) {
      return { timeNum: value[0], partitionTag: value[1], mailId: value[2], rseqnum: value[3] };
    }
  } catch {
    // fall through to the same error as a well-formed but wrong cursor
  }
  throw new InputError('invalid cursor: pass a cursor returned by this list');
}

function pageSize(value: number | null | undefined, name: string): number {
  if (value === null || value === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE_SIZE) {
    throw new InputError(`${name} must be between 0 and ${MAX_PAGE_SIZE}`);
  }
  return value;
}

/**
 * The rows the quarantine shows: amavisd finished processing the message (content set) and stored it
 * in the SQL quarantine (chunk 1 exists), and nobody deleted it for this recipient.
 */
function quarantineQuery(store: AmavisStore, where: SQL | undefined) {
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

export async function listQuarantine(store: AmavisStore, args: PageArgs): Promise<QuarantinePage> {
  const { t } = store;
  const m = t.msgsTable;
  const r = t.msgrcptTable;
  if ((args.first != null || args.after != null) && (args.last != null || args.before != null)) {
    throw new InputError('page forwards (first/after) or backwards (last/before), not both');
  }
  const backwards = args.last != null || args.before != null;
  const limit = backwards ? pageSize(args.last, 'last') : pageSize(args.first, 'first');
  const cursorArg = backwards ? args.before : args.after;
  const cursor = cursorArg ? decodeCursor(cursorArg) : undefined;
  const keyset = [m.timeNum, m.partitionTag, m.mailId, r.rseqnum];
  let where: SQL | undefined;
  if (cursor) {
    const columns = sql.join(keyset, sql`, `);
    const values = sql`${cursor.timeNum}, ${cursor.partitionTag}, ${keyToBinary(cursor.mailId)}, ${cursor.rseqnum}`;
    where = backwards ? sql`(${columns}) > (${values})` : sql`(${columns}) < (${values})`;
  }
  const rows = await quarantineQuery(store, where)
    .orderBy(...keyset.map((column) => (backwards ? asc(column) : desc(column))))
    .limit(limit + 1);
  const more = rows.length > limit;
  const page = rows.slice(0, limit).map(toEntry);
  if (backwards) page.reverse();
  return {
    entries: page,
    hasNextPage: backwards ? Boolean(cursor) : more,
    hasPreviousPage: backwards ? more : Boolean(cursor),
  };
}

/** Loads entries by key (for Relay's node field), in the order asked, null where not visible. */
export async function findQuarantineEntries(
  store: AmavisStore,
  keys: readonly EntryKey[],
): Promise<(QuarantineEntry | null)[]> {
  if (keys.length === 0) return [];
  const m = store.t.msgsTable;
  const r = store.t.msgrcptTable;
  const rows = await quarantineQuery(
    store,
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
