// A quarantined message's raw bytes: amavisd stores them in `quarantine` as chunks of at most
// 16 KiB numbered from 1 (chunk_ind). They are read in chunk_ind order, in batches (so a 50 MB
// message never sits in the driver twice over), and copied into one Buffer byte for byte. Gaps are
// reported, not hidden: amavisd writes every chunk, so a gap means rows were lost or deleted.
import { and, asc, count, eq, gt, max, min, sql } from 'drizzle-orm';
import type { AmavisStore } from '../db/stores.ts';

export interface QuarantineKey {
  partitionTag: number;
  mailId: string;
}

export interface QuarantinedMessage {
  raw: Buffer;
  /** Chunks found. */
  chunks: number;
  /** What is wrong with the stored chunks ("chunk 3 of 5 is missing"); empty when nothing is. */
  problems: string[];
}

export interface QuarantinedSize {
  /** Bytes of all chunks together. */
  bytes: number;
  chunks: number;
  firstChunk: number;
  lastChunk: number;
}

/** Chunks fetched per query: 64 × 16 KiB = 1 MiB (bigger batches only make the drivers hold more). */
const BATCH = 64;
const MAX_LISTED_GAPS = 10;

function where(store: AmavisStore, key: QuarantineKey) {
  const q = store.t.quarantineTable;
  return and(eq(q.partitionTag, key.partitionTag), eq(q.mailId, key.mailId));
}

/** Size and chunk range of a quarantined message without reading it; null when no chunk exists. */
export async function quarantinedSize(
  store: AmavisStore,
  key: QuarantineKey,
): Promise<QuarantinedSize | null> {
  const q = store.t.quarantineTable;
  const [row] = await store.connection.db
    .select({
      // length() of bytea (PostgreSQL) and of a blob (MariaDB) counts bytes
      bytes: sql<string | number | null>`sum(length(${q.mailText}))`,
      chunks: count(),
      firstChunk: min(q.chunkInd),
      lastChunk: max(q.chunkInd),
    })
    .from(q)
    .where(where(store, key));
  if (!row || Number(row.chunks) === 0) return null;
  return {
    bytes: Number(row.bytes ?? 0),
    chunks: Number(row.chunks),
    firstChunk: Number(row.firstChunk),
    lastChunk: Number(row.lastChunk),
  };
}

function describeGaps(present: number[], last: number): string[] {
  const problems: string[] = [];
  const runs: [number, number][] = [];
  let expected = 1;
  for (const index of present) {
    if (index > expected) runs.push([expected, index - 1]);
    expected = Math.max(expected, index + 1);
  }
  for (const [from, to] of runs.slice(0, MAX_LISTED_GAPS)) {
    problems.push(
      from === to ? `chunk ${from} of ${last} is missing` : `chunks ${from} to ${to} of ${last} are missing`,
    );
  }
  if (runs.length > MAX_LISTED_GAPS) {
    problems.push(`${runs.length - MAX_LISTED_GAPS} more gaps between the stored chunks`);
  }
  if (runs[0]?.[0] === 1) {
    problems.push('the start of the message (chunk 1) is missing, so its header section is incomplete');
  }
  if (present[0] === 0) problems.push('an unexpected chunk 0 is stored; it is shown first');
  return problems;
}

/**
 * The raw message of a quarantined mail, chunks joined in chunk_ind order; null when the quarantine
 * holds no chunk for it. Works the same on PostgreSQL, MariaDB/MySQL and PGlite.
 */
export async function loadQuarantinedMessage(
  store: AmavisStore,
  key: QuarantineKey,
): Promise<QuarantinedMessage | null> {
  const size = await quarantinedSize(store, key);
  if (!size) return null;
  const q = store.t.quarantineTable;
  let raw = Buffer.allocUnsafe(size.bytes);
  let filled = 0;
  const present: number[] = [];
  let after = -1;
  for (;;) {
    const rows = await store.connection.db
      .select({ chunkInd: q.chunkInd, mailText: q.mailText })
      .from(q)
      .where(and(where(store, key), gt(q.chunkInd, after)))
      .orderBy(asc(q.chunkInd))
      .limit(BATCH);
    for (const row of rows) {
      const text = row.mailText;
      if (filled + text.length > raw.length) {
        // chunks were added between the size query and now: grow instead of failing
        const bigger = Buffer.allocUnsafe(Math.max(raw.length * 2, filled + text.length));
        raw.copy(bigger, 0, 0, filled);
        raw = bigger;
      }
      text.copy(raw, filled);
      filled += text.length;
      present.push(Number(row.chunkInd));
      after = Number(row.chunkInd);
    }
    if (rows.length < BATCH) break;
  }
  if (present.length === 0) return null;
  const problems = describeGaps(present, Math.max(size.lastChunk, after));
  if (present.length !== size.chunks) {
    problems.push('the stored chunks changed while the message was read; read it again');
  }
  return { raw: filled === raw.length ? raw : raw.subarray(0, filled), chunks: present.length, problems };
}
