// What a signed-in request reads before anything else — its session or token, the account's addresses,
// domains and look-alike addresses, and the settings — kept for a while per replica. Those reads were one
// or two round trips on every request (1.3–2.3 ms at the median on the bench's PostgreSQL, more than the
// whole of an anonymous `{ __typename }`), for data that changes a few times a day.
//
// Kept safely:
// - A change made through the console (this or any replica, the CLI included) calls accessChanged():
//   this replica drops what it kept at once, and the 'access' row of console_generations goes up.
// - Every replica reads that row every POLL_MS while it serves signed-in requests and drops everything
//   when it moved, so another replica's logout, role change or revoked token holds here within about a
//   second. When the row cannot be read (the database is away), nothing kept is used: the requests read
//   afresh and fail or succeed as they would have without the cache.
// - Nothing is kept longer than ACCESS_CACHE_SECONDS (edits made straight in the database, bypassing the
//   console, hold after that) nor past the session's or token's expiry. Unknown credentials are never
//   kept, so guessing costs what it did.
import { sql } from 'drizzle-orm';
import type { ConsoleStore } from '../db/stores.ts';
import type { Actor } from './actor.ts';

/** How often a replica in use reads the access generation. */
export const POLL_MS = 1000;
/** Polls missed before what was kept is no longer trusted. */
const POLLS_MISSED = 3;
/** A replica that served no signed-in request for this long stops polling (and starts afresh). */
const IDLE_MS = 60_000;
/** Credentials kept at most; the oldest go first. */
const MAX_ENTRIES = 10_000;

const NAME = 'access';

interface Kept<T> {
  value: T;
  /** The generation and local epoch it was read under. */
  stamp: string;
  /** Date.now() after which it is read again. */
  until: number;
}

/** A resolved credential and when it stops being valid on its own (null: it does not expire). */
export interface ResolvedCredentials {
  actor: Actor;
  expiresAt: Date | null;
}

export interface AccessCache {
  /** The actor for `key` (a credential's digest), read through `read` when nothing valid is kept. */
  actor(key: string, read: () => Promise<ResolvedCredentials>): Promise<Actor>;
  /** The settings, read through `read` when nothing valid is kept. */
  settings<T>(read: () => Promise<T>): Promise<T>;
  /** Drops everything this replica kept (a change was made here). */
  dropAll(): void;
  /** Stops polling. */
  close(): void;
}

/** Freezes the actor and the lists in it. */
function frozen(actor: Actor): void {
  for (const value of Object.values(actor)) if (Array.isArray(value)) Object.freeze(value);
  Object.freeze(actor);
}

async function readGeneration(store: ConsoleStore): Promise<number> {
  const rows = await store.connection.rows<{ value: number | string }>(
    sql`select value from console_generations where name = ${NAME}`,
  );
  return rows[0] ? Number(rows[0].value) : 0;
}

function createAccessCache(store: ConsoleStore, ttlMs: number): AccessCache {
  const actors = new Map<string, Kept<Actor>>();
  let settings: Kept<unknown> | null = null;
  // null until a poll has read it: nothing is kept before then
  let generation: number | null = null;
  let polledAt = 0;
  let epoch = 0;
  let usedAt = 0;
  let timer: NodeJS.Timeout | null = null;
  let polling = false;

  const dropAll = () => {
    epoch += 1;
    actors.clear();
    settings = null;
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
    generation = null;
    dropAll();
  };
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      const read = await readGeneration(store);
      if (read !== generation) {
        dropAll();
        generation = read;
      }
      polledAt = Date.now();
    } catch {
      // missed: after POLLS_MISSED of these, what was kept is not used (see stamp())
    } finally {
      polling = false;
    }
  };
  /** The stamp to read under now, or null when nothing may be kept or used. */
  const stamp = (): string | null => {
    const now = Date.now();
    usedAt = now;
    if (!timer) {
      void poll();
      timer = setInterval(() => {
        if (Date.now() - usedAt > IDLE_MS) stop();
        else void poll();
      }, POLL_MS);
      timer.unref();
    }
    if (generation === null || now - polledAt > POLLS_MISSED * POLL_MS) return null;
    return `${generation}:${epoch}`;
  };
  const valid = <T>(kept: Kept<T> | null | undefined, current: string | null): kept is Kept<T> =>
    !!kept && current !== null && kept.stamp === current && Date.now() < kept.until;

  return {
    async actor(key, read) {
      const current = stamp();
      const kept = actors.get(key);
      if (valid(kept, current)) return kept.value;
      const { actor, expiresAt } = await read();
      // an anonymous answer (unknown, expired or revoked credentials) is never kept
      if (current !== null && actor.kind !== 'anonymous') {
        // shared by every request with these credentials from now on: no request may change it
        frozen(actor);
        const until = Math.min(Date.now() + ttlMs, expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
        actors.delete(key);
        if (actors.size >= MAX_ENTRIES) actors.delete(actors.keys().next().value as string);
        actors.set(key, { value: actor, stamp: current, until });
      }
      return actor;
    },
    async settings<T>(read: () => Promise<T>): Promise<T> {
      const current = stamp();
      if (valid(settings, current)) return settings.value as T;
      const value = await read();
      if (current !== null) settings = { value, stamp: current, until: Date.now() + ttlMs };
      return value;
    },
    dropAll,
    close: stop,
  };
}

/** One cache per console database connection: the app's requests share it. */
const caches = new WeakMap<ConsoleStore['connection'], AccessCache>();

/** This store's cache; with `ttlMs` 0, none (every request reads afresh). */
export function accessCacheFor(store: ConsoleStore, ttlMs: number): AccessCache | null {
  if (ttlMs <= 0) return null;
  let cache = caches.get(store.connection);
  if (!cache) {
    cache = createAccessCache(store, ttlMs);
    caches.set(store.connection, cache);
  }
  return cache;
}

/** Stops the store's cache polling (the app is closing). */
export function closeAccessCache(store: ConsoleStore): void {
  caches.get(store.connection)?.close();
  caches.delete(store.connection);
}

/**
 * Call after a change to accounts, their addresses, domains, domain admins, sessions, API tokens or
 * settings has been committed: this replica forgets at once, the others at their next poll.
 */
export async function accessChanged(store: ConsoleStore): Promise<void> {
  caches.get(store.connection)?.dropAll();
  const row = sql`console_generations (name, value) values (${NAME}, 1)`;
  // The change itself is committed: failing the caller now would report as failed what was done. A
  // replica that misses this hears of it no later than ACCESS_CACHE_SECONDS.
  await store.connection.db
    .execute(
      store.connection.dialect === 'mysql'
        ? sql`insert into ${row} on duplicate key update value = value + 1`
        : sql`insert into ${row} on conflict (name) do update set value = console_generations.value + 1`,
    )
    .catch(() => {});
}
