// Noticing what amavisd quarantined, from its own tables. amavisd inserts msgs at reception (content
// NULL), writes the quarantine chunks while it processes, then sets msgs.content and inserts msgrcpt in
// its final transaction (facts §2.2). An entry counts as quarantined once its message has content and
// quarantine chunk 1 exists, the same rule as the listing's.
//
// No column says when a row reached that state, and time_num is the reception time, set long before
// (a spam check can take minutes; a transaction can commit late; hundreds of rows share one second).
// So a scan re-reads every quarantined entry received within the last `lookbackSeconds` (amavisd gives
// up on a message well within that: $child_timeout is 8 minutes) and announces those not announced yet.
// "Announced" is the event log itself (kind 'quarantined'), so nothing repeats across restarts or when
// another replica takes over; an in-memory set spares re-reading it on every scan.
import { and, asc, eq, exists, gte, isNotNull, sql } from 'drizzle-orm';
import { toBuffer } from '../db/binary.ts';
import type { AmavisStore, ConsoleStore } from '../db/stores.ts';
import { insertEvents, type NewEvent } from './quarantine-events.ts';

export const DEFAULT_LOOKBACK_SECONDS = 20 * 60;
/** Log entries older than the window plus this are not needed to know what was announced. */
const LOG_MARGIN_MS = 60 * 60_000;

export interface ScannerOptions {
  lookbackSeconds?: number;
}

export interface QuarantineScanner {
  /** Announces the entries quarantined since the last scan; returns how many. */
  scan(): Promise<number>;
}

function keyOf(e: { partitionTag: number; mailId: string; rseqnum: number }): string {
  return `${e.partitionTag}:${e.mailId}:${e.rseqnum}`;
}

/** Quarantined entries received in the window, oldest first. */
async function windowEntries(store: AmavisStore, lookbackSeconds: number) {
  const { db, dialect } = store.connection;
  const { msgsTable: m, msgrcptTable: r, maddrTable: a, quarantineTable: q } = store.t;
  // The database's clock, close to amavisd's (which wrote time_num), never this replica's.
  const from =
    dialect === 'mysql'
      ? sql`unix_timestamp() - ${lookbackSeconds}`
      : sql`cast(extract(epoch from now()) as integer) - ${lookbackSeconds}`;
  const chunk = db
    .select({ one: sql`1` })
    .from(q)
    .where(and(eq(q.partitionTag, m.partitionTag), eq(q.mailId, m.mailId), eq(q.chunkInd, 1)));
  return db
    .select({ partitionTag: m.partitionTag, mailId: m.mailId, rseqnum: r.rseqnum, email: a.email })
    .from(m)
    .innerJoin(r, and(eq(r.partitionTag, m.partitionTag), eq(r.mailId, m.mailId)))
    .innerJoin(a, eq(a.id, r.rid))
    .where(
      and(
        gte(m.timeNum, from),
        isNotNull(m.content),
        // MariaDB turns EXISTS into a semi-join starting from quarantine; a scalar subquery stays per row
        dialect === 'pg' ? exists(chunk) : sql`${chunk} is not null`,
      ),
    )
    .orderBy(asc(m.timeNum), asc(m.partitionTag), asc(m.mailId), asc(r.rseqnum));
}

export function createQuarantineScanner(
  amavis: AmavisStore,
  consoleStore: ConsoleStore,
  options: ScannerOptions = {},
): QuarantineScanner {
  const lookbackSeconds = options.lookbackSeconds ?? DEFAULT_LOOKBACK_SECONDS;
  const keepMs = lookbackSeconds * 1000 + LOG_MARGIN_MS;
  /** Announced keys, with when this process learned of them (for pruning). */
  const announced = new Map<string, number>();
  let loaded = false;

  async function loadAnnounced(): Promise<void> {
    const t = consoleStore.t.quarantineEventsTable;
    const rows = await consoleStore.connection.db
      .select({ partitionTag: t.partitionTag, mailId: t.mailId, rseqnum: t.rseqnum })
      .from(t)
      .where(and(eq(t.kind, 'quarantined'), gte(t.at, new Date(Date.now() - keepMs))));
    const now = Date.now();
    for (const row of rows) announced.set(keyOf(row), now);
    loaded = true;
  }

  return {
    async scan() {
      if (!loaded) await loadAnnounced();
      const now = Date.now();
      for (const [key, seen] of announced) {
        if (now - seen > keepMs) announced.delete(key);
      }
      const fresh: NewEvent[] = [];
      for (const row of await windowEntries(amavis, lookbackSeconds)) {
        const key = keyOf(row);
        if (announced.has(key)) continue;
        fresh.push({
          kind: 'quarantined',
          partitionTag: row.partitionTag,
          mailId: row.mailId,
          rseqnum: row.rseqnum,
          recipient: toBuffer(row.email).toString('utf8'),
          status: null,
          actor: null,
        });
      }
      if (fresh.length === 0) return 0;
      try {
        await insertEvents(consoleStore, fresh);
      } catch (error) {
        // some chunks may have gone in: the log, not this set, says what was announced
        loaded = false;
        announced.clear();
        throw error;
      }
      for (const event of fresh) announced.set(keyOf(event), now);
      return fresh.length;
    },
  };
}
