// Leases: one replica at a time does a thing (runs a job, watches amavisd's tables). A lease is a row in
// console_leases with a holder and an expiry; the holder renews it while it works, and a replica that dies
// simply lets it run out, so another takes over without anyone cleaning up. Times come from the database's
// clock, never the replicas', so clock skew between machines cannot hand a lease to two holders.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { changedRows } from './database.ts';
import type { ConsoleStore } from './stores.ts';

/** A name for this process as a lease holder: readable in job runs, unique across restarts. */
export function holderName(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`.slice(0, 128);
}

function expiry(store: ConsoleStore, ttlMs: number) {
  const ms = Math.max(1, Math.round(ttlMs));
  return store.connection.dialect === 'mysql'
    ? sql`now(3) + interval ${ms * 1000} microsecond`
    : sql`now() + make_interval(secs => ${ms / 1000})`;
}

const now = (store: ConsoleStore) => (store.connection.dialect === 'mysql' ? sql`now(3)` : sql`now()`);

/**
 * Takes the lease `name` for `ttlMs` if nobody holds it, it has run out, or `holder` already holds it
 * (which renews it). True when `holder` holds it afterwards.
 */
export async function acquireLease(
  store: ConsoleStore,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const { db, dialect } = store.connection;
  // Two statements that are each atomic on both databases: create the row if it is missing (only one
  // concurrent insert can win), else take it over if it ran out. An upsert with conditions would need
  // a different statement per dialect, and MySQL evaluates ON DUPLICATE KEY assignments in order.
  const row = sql`console_leases (name, holder, acquired_at, expires_at)
    values (${name}, ${holder}, ${now(store)}, ${expiry(store, ttlMs)})`;
  const inserted = await db.execute(
    dialect === 'mysql'
      ? sql`insert ignore into ${row}`
      : sql`insert into ${row} on conflict (name) do nothing`,
  );
  if (changedRows(inserted) === 1) return true;
  // acquired_at before holder: MySQL assigns left to right, so later terms see earlier assignments.
  const updated = await db.execute(sql`update console_leases
    set acquired_at = case when holder = ${holder} then acquired_at else ${now(store)} end,
        holder = ${holder}, expires_at = ${expiry(store, ttlMs)}
    where name = ${name} and (holder = ${holder} or expires_at < ${now(store)})`);
  return changedRows(updated) === 1;
}

/** Extends a lease `holder` still holds; false when it has lost it (it ran out and another took it). */
export async function renewLease(
  store: ConsoleStore,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const updated = await store.connection.db.execute(sql`update console_leases
    set expires_at = ${expiry(store, ttlMs)} where name = ${name} and holder = ${holder}`);
  return changedRows(updated) === 1;
}

/** Gives a lease up at once, so the next replica need not wait for it to run out. */
export async function releaseLease(store: ConsoleStore, name: string, holder: string): Promise<void> {
  await store.connection.db.execute(
    sql`delete from console_leases where name = ${name} and holder = ${holder}`,
  );
}

export interface LeaseHandle {
  /** Aborted when a renewal finds the lease lost: the work should stop. */
  signal: AbortSignal;
}

/**
 * Runs `work` while holding the lease, renewing it every third of its time to live, and gives it up at
 * the end. Returns `{ acquired: false }` without running anything when another holder has it.
 */
export async function withLease<T>(
  store: ConsoleStore,
  name: string,
  holder: string,
  ttlMs: number,
  work: (lease: LeaseHandle) => Promise<T>,
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  if (!(await acquireLease(store, name, holder, ttlMs))) return { acquired: false };
  const controller = new AbortController();
  const timer = setInterval(
    () => {
      renewLease(store, name, holder, ttlMs).then(
        (held) => {
          if (!held) controller.abort(new Error(`lost the lease ${name}`));
        },
        // A failed renewal (database briefly away) is retried on the next tick; the lease outlives it.
        () => {},
      );
    },
    Math.max(50, ttlMs / 3),
  );
  timer.unref();
  try {
    return { acquired: true, value: await work({ signal: controller.signal }) };
  } finally {
    clearInterval(timer);
    await releaseLease(store, name, holder).catch(() => {});
  }
}
