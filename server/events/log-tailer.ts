// Reads the event log in id order and hands each event to `publish` once. Ids are handed out when a
// row is inserted but become visible when it commits, so id 11 can be read before id 10: a hole in the
// ids is watched for `gapTimeoutMs` (the log's inserts are single statements, committed within
// milliseconds) and whatever fills it is published late rather than never; a hole that stays (a rolled
// back insert, MariaDB's auto-increment jumps) is given up after that.
import { lt, max } from 'drizzle-orm';
import type { ConsoleStore } from '../db/stores.ts';
import { type QuarantineEvent, readEventsSince } from './quarantine-events.ts';

const BATCH = 1000;

export interface LogTailerOptions {
  gapTimeoutMs?: number;
  /** On the first read, republish what was logged this long ago (a previous publisher may have died before). */
  replayMs?: number;
}

export interface LogTailer {
  /** Reads what is new and publishes it; returns how many events it published. */
  tick(): Promise<number>;
}

interface Gap {
  end: number;
  since: number;
  found: Set<number>;
}

export function createLogTailer(
  store: ConsoleStore,
  publish: (events: QuarantineEvent[]) => void,
  options: LogTailerOptions = {},
): LogTailer {
  const gapTimeoutMs = options.gapTimeoutMs ?? 5000;
  const replayMs = options.replayMs ?? 10_000;
  let highWater: number | null = null;
  const gaps = new Map<number, Gap>();

  async function start(): Promise<number> {
    const t = store.t.quarantineEventsTable;
    const [row] = await store.connection.db
      .select({ id: max(t.id) })
      .from(t)
      .where(lt(t.at, new Date(Date.now() - replayMs)));
    return Number(row?.id ?? 0);
  }

  async function readGaps(now: number): Promise<QuarantineEvent[]> {
    const late: QuarantineEvent[] = [];
    for (const [start, gap] of gaps) {
      if (now - gap.since > gapTimeoutMs) {
        gaps.delete(start);
        continue;
      }
      for (const event of await readEventsSince(store, start - 1, BATCH, gap.end)) {
        if (gap.found.has(event.id)) continue;
        gap.found.add(event.id);
        late.push(event);
      }
      if (gap.found.size === gap.end - start + 1) gaps.delete(start);
    }
    return late;
  }

  return {
    async tick() {
      highWater ??= await start();
      const now = Date.now();
      let published = 0;
      const late = await readGaps(now);
      if (late.length > 0) {
        publish(late);
        published += late.length;
      }
      for (;;) {
        const events = await readEventsSince(store, highWater, BATCH);
        let expected = highWater + 1;
        for (const event of events) {
          if (event.id > expected) gaps.set(expected, { end: event.id - 1, since: now, found: new Set() });
          expected = event.id + 1;
        }
        if (events.length === 0) break;
        highWater = (events[events.length - 1] as QuarantineEvent).id;
        publish(events);
        published += events.length;
        if (events.length < BATCH) break;
      }
      return published;
    },
  };
}
