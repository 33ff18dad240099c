// What one subscriber receives from the live quarantine events: exactly the entries its listing could
// show (the same visibleTo rule, decided in SQL), the newest state of each, and nothing twice. Rights are
// looked up again before a batch is delivered once they are older than RECHECK_MS, and every
// SESSION_CHECK_MS without events, so a changed role, a removed domain or an ended session takes effect
// within seconds. Subscribers that see the same (same rights, same settings) share one query per batch.
import { setTimeout as delay } from 'node:timers/promises';
import { and, eq, or } from 'drizzle-orm';
import { type Actor, isAdmin } from '../../access/actor.ts';
import { ForbiddenError } from '../../access/forbidden-error.ts';
import { visibleTo } from '../../access/quarantine-visibility.ts';
import type { Stores } from '../../db/stores.ts';
import type { LiveEvents } from '../../events/live-events.ts';
import { latestEventId, type QuarantineEvent, readEventsSince } from '../../events/quarantine-events.ts';
import { InputError } from '../../input-error.ts';
import {
  countQuarantine,
  type EntryKey,
  entryKeyString,
  findQuarantineEntries,
  type QuarantineCount,
  type QuarantineEntry,
  type Viewer,
} from '../quarantine/quarantine.service.ts';
import { getSettings } from '../settings/settings.service.ts';

export const RECHECK_MS = 5000;
export const SESSION_CHECK_MS = 15_000;
/** Events a subscriber that fell behind gets in one payload at most. */
const MERGE_LIMIT = 1000;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;
/** A client further behind than this reloads its listing instead of replaying. */
export const MAX_REPLAY = 10_000;
const KEY_CHUNK = 200;
/** Kinds that can change how many release requests are pending. */
const PENDING_KINDS = new Set(['requested', 'approved', 'denied', 'released', 'expired', 'deleted']);

export interface LiveDeps {
  stores: Stores;
  live: LiveEvents;
}

/** The subscriber, and how to look its rights up again. */
export interface LiveSubscriber {
  actor: Actor;
  reresolveActor(): Promise<Actor>;
}

export interface DeliveredEvent {
  event: QuarantineEvent;
  /** The entry as it is now; null when the listing no longer shows it (deleted) but the subscriber may see it. */
  entry: QuarantineEntry | null;
}

export class SessionEndedError extends ForbiddenError {
  override name = 'SessionEndedError';
}

/** Parses a `since` cursor (an event id). */
export function parseSince(value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  if (!/^\d{1,15}$/.test(value)) throw new InputError('since must be a cursor from an earlier event');
  return Number(value);
}

// ---------------------------------------------------------------------------------------------------
// Visibility, shared per batch between subscribers who see the same

/** Two viewers with equal signatures see the same rows. */
function signature(viewer: Viewer): string {
  const { actor } = viewer;
  const who =
    actor.kind === 'account'
      ? {
          role: actor.role,
          addresses: actor.addresses,
          others: actor.othersAddresses,
          domains: actor.domains,
          // a user's own mail matches through their addresses; the account id keeps logs apart only
        }
      : actor;
  return JSON.stringify([who, viewer.settings]);
}

type Visible = Map<string, QuarantineEntry | null>;

/** What subscribers who see the same get of one batch: the same objects, so GraphQL can execute them once. */
interface SharedView {
  visible: Visible;
  /** The batch's events this view may see; shared, never to be changed. */
  delivered: readonly DeliveredEvent[];
}

const shared = new WeakMap<readonly QuarantineEvent[], Map<string, Promise<SharedView>>>();

function keyOf(event: EntryKey): string {
  return entryKeyString(event);
}

/** Of these keys, those the viewer may see although the listing hides them (deleted for the recipient). */
async function visibleHidden(stores: Stores, viewer: Viewer, keys: readonly EntryKey[]): Promise<string[]> {
  const { msgrcptTable: r, maddrTable: a } = stores.amavis.t;
  const rows = await stores.amavis.connection.db
    .select({ partitionTag: r.partitionTag, mailId: r.mailId, rseqnum: r.rseqnum })
    .from(r)
    .innerJoin(a, eq(a.id, r.rid))
    .where(
      and(
        visibleTo(viewer.actor, viewer.settings, {
          partitionTag: r.partitionTag,
          mailId: r.mailId,
          email: a.email,
          domain: a.domain,
        }),
        or(
          ...keys.map((k) =>
            and(eq(r.partitionTag, k.partitionTag), eq(r.mailId, k.mailId), eq(r.rseqnum, k.rseqnum)),
          ),
        ),
      ),
    );
  return rows.map(keyOf);
}

async function computeVisible(
  stores: Stores,
  viewer: Viewer,
  batch: readonly QuarantineEvent[],
): Promise<SharedView> {
  const unique = new Map<string, EntryKey>();
  for (const event of batch) unique.set(keyOf(event), event);
  const keys = [...unique.values()];
  const visible: Visible = new Map();
  for (let i = 0; i < keys.length; i += KEY_CHUNK) {
    const chunk = keys.slice(i, i + KEY_CHUNK);
    const entries = await findQuarantineEntries(stores.amavis, viewer, chunk);
    const missing: EntryKey[] = [];
    entries.forEach((entry, j) => {
      if (entry) visible.set(keyOf(entry), entry);
      else missing.push(chunk[j] as EntryKey);
    });
    if (missing.length > 0) {
      for (const key of await visibleHidden(stores, viewer, missing)) visible.set(key, null);
    }
  }
  const delivered: DeliveredEvent[] = [];
  for (const event of batch) {
    const key = keyOf(event);
    if (visible.has(key)) delivered.push({ event, entry: visible.get(key) ?? null });
  }
  return { visible, delivered };
}

function visibleIn(stores: Stores, viewer: Viewer, batch: readonly QuarantineEvent[]): Promise<SharedView> {
  let byViewer = shared.get(batch);
  if (!byViewer) {
    byViewer = new Map();
    shared.set(batch, byViewer);
  }
  const sig = signature(viewer);
  let visible = byViewer.get(sig);
  if (!visible) {
    visible = computeVisible(stores, viewer, batch);
    // a failed lookup is not cached: the next subscriber asks again
    visible.catch(() => byViewer.delete(sig));
    byViewer.set(sig, visible);
  }
  return visible;
}

// ---------------------------------------------------------------------------------------------------
// The subscriber's stream

/**
 * An async generator whose return() also wakes it: a generator's own return() waits until it next
 * yields, which a subscriber who sees nothing would never do.
 */
function cancellable<T>(body: (signal: AbortSignal) => AsyncGenerator<T>): AsyncIterableIterator<T> {
  const controller = new AbortController();
  const inner = body(controller.signal);
  return {
    next: () => inner.next(),
    return: (value?: unknown) => {
      controller.abort();
      return inner.return(value as T);
    },
    throw: (error?: unknown) => {
      controller.abort();
      return inner.throw(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Batches from the bus (and the replay), in order, with a wait that ends early on a batch or abort. */
function batchQueue(live: LiveEvents, signal: AbortSignal) {
  const queue: QuarantineEvent[][] = [];
  let wake: (() => void) | null = null;
  const unsubscribe = live.onEvents((batch) => {
    queue.push(batch);
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort);
  /** Resolves when a batch is queued or after `ms`. */
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (queue.length > 0 || signal.aborted) return resolve();
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });
  return {
    queue,
    stop: () => {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    },
    /**
     * The next batch; null after SESSION_CHECK_MS without one, once `whenIdle` (the session check) has
     * run, so a quiet subscription still notices an ended session.
     */
    next: async (whenIdle: () => Promise<unknown>): Promise<QuarantineEvent[] | null> => {
      const batch = queue.shift();
      if (batch) return batch;
      await wait(SESSION_CHECK_MS);
      if (queue.length === 0 && !signal.aborted) await whenIdle();
      return null;
    },
  };
}

/** Re-resolved rights, shared for RECHECK_MS by the subscriptions of one session or token. */
const recent = new Map<string, { at: number; viewer: Promise<Viewer> }>();

function credentialKey(actor: Actor): string | null {
  if (actor.kind === 'account') {
    if (actor.sessionId) return `session:${actor.sessionId}`;
    if (actor.tokenId !== undefined) return `token:${actor.tokenId}`;
    return null;
  }
  return actor.kind === 'selfService' ? `session:${actor.sessionId}` : null;
}

async function lookUpAgain(stores: Stores, subscriber: LiveSubscriber): Promise<Viewer> {
  const key = credentialKey(subscriber.actor);
  const now = Date.now();
  const cached = key ? recent.get(key) : undefined;
  if (cached && now - cached.at < RECHECK_MS) return cached.viewer;
  const viewer = (async () => ({
    actor: await subscriber.reresolveActor(),
    settings: await getSettings(stores.console),
  }))();
  if (key) {
    if (recent.size > 10_000) {
      for (const [k, v] of recent) if (now - v.at >= RECHECK_MS) recent.delete(k);
    }
    recent.set(key, { at: now, viewer });
    viewer.catch(() => recent.delete(key));
  }
  return viewer;
}

/** Keeps the subscriber's rights fresh; throws SessionEndedError when they are gone. */
function rightsKeeper(stores: Stores, subscriber: LiveSubscriber, still: (actor: Actor) => boolean) {
  let viewer: Viewer | null = null;
  let checkedAt = 0;
  return async (maxAgeMs: number): Promise<Viewer> => {
    if (viewer && Date.now() - checkedAt < maxAgeMs) return viewer;
    let next: Viewer;
    if (!viewer) next = { actor: subscriber.actor, settings: await getSettings(stores.console) };
    else {
      try {
        next = await lookUpAgain(stores, subscriber);
      } catch {
        // The console database is away (a restart): nobody can change the rights meanwhile, so the
        // subscription keeps the ones it had and asks again next time instead of ending.
        return viewer;
      }
    }
    if (next.actor.kind === 'anonymous') throw new SessionEndedError('your session ended; log in again');
    if (!still(next.actor)) throw new SessionEndedError('your rights changed; subscribe again');
    viewer = next;
    checkedAt = Date.now();
    return viewer;
  };
}

/**
 * Runs `task` until it succeeds (database errors: a restart, a lost connection), waiting longer each
 * time; null once the subscription is cancelled. A session that ended is not retried.
 */
async function untilDone<T>(signal: AbortSignal, task: () => Promise<T>): Promise<T | null> {
  for (let wait = RETRY_MIN_MS; ; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
    if (signal.aborted) return null;
    try {
      return await task();
    } catch (error) {
      if (error instanceof SessionEndedError || signal.aborted) throw error;
    }
    await delay(wait, undefined, { signal }).catch(() => {});
  }
}

/**
 * The events `subscriber` may see, a batch at a time (what happened together arrives together): first
 * those after `since` (from the log), then live ones. Ends with SessionEndedError when the session ends.
 */
export function quarantineEvents(
  deps: LiveDeps,
  subscriber: LiveSubscriber,
  since: number | null,
): AsyncIterableIterator<readonly DeliveredEvent[]> {
  return cancellable((signal) => eventStream(deps, subscriber, since, signal));
}

async function* eventStream(
  deps: LiveDeps,
  subscriber: LiveSubscriber,
  since: number | null,
  signal: AbortSignal,
): AsyncGenerator<readonly DeliveredEvent[]> {
  const { stores, live } = deps;
  live.start();
  const rights = rightsKeeper(stores, subscriber, () => true);
  await rights(0);
  const batches = batchQueue(live, signal);
  const deliver = async (
    batch: readonly QuarantineEvent[],
    after: number,
  ): Promise<readonly DeliveredEvent[]> => {
    if (!batch.some((e) => e.id > after)) return [];
    // a batch is never dropped over a database error: it waits (later ones queue behind it)
    const view = await untilDone(signal, async () => visibleIn(stores, await rights(RECHECK_MS), batch));
    if (!view) return [];
    // the whole batch is new to this subscriber (the usual case): the shared array itself
    return view.delivered.every((d) => d.event.id > after)
      ? view.delivered
      : view.delivered.filter((d) => d.event.id > after);
  };
  try {
    // Events up to here are the client's past (or come from the log below). Live batches repeat what a
    // publisher republishes after a takeover; LiveEvents drops those repeats once for the replica.
    let seenUpTo = since ?? (await latestEventId(stores.console));
    if (since !== null) {
      // subscribed to the bus first: what arrives while the log is read waits in the queue
      let replayed = 0;
      for (;;) {
        const page = await readEventsSince(stores.console, seenUpTo, 1000);
        if (page.length === 0) break;
        replayed += page.length;
        if (replayed > MAX_REPLAY) {
          throw new InputError(
            `more than ${MAX_REPLAY} events happened since that cursor; reload the list and subscribe without since`,
          );
        }
        const delivered = await deliver(page, seenUpTo);
        seenUpTo = (page[page.length - 1] as QuarantineEvent).id;
        if (delivered.length > 0) yield delivered;
      }
    }
    while (!signal.aborted) {
      const batch = await batches.next(() => rights(0));
      if (!batch) continue;
      const delivered = await deliver(batch, seenUpTo);
      // A subscriber that fell behind (a burst while the server is busy) gets what queued meanwhile in
      // the same payload: one execution and one message instead of one per batch. Each batch's
      // visibility is still looked up once for everyone who sees the same; a subscriber that keeps up
      // yields the shared array itself, which GraphQL then executes once for all of them.
      const parts = [delivered];
      let merged = delivered.length;
      for (let next = batches.queue[0]; next && merged < MERGE_LIMIT; next = batches.queue[0]) {
        batches.queue.shift();
        const part = await deliver(next, seenUpTo);
        parts.push(part);
        merged += part.length;
      }
      // merged into a new array: the shared ones stay as others receive them
      const payload = parts.length === 1 ? delivered : parts.flat();
      if (payload.length > 0) yield payload;
    }
  } finally {
    batches.stop();
  }
}

/**
 * How many release requests the admin may act on are pending: the count now, then again whenever an
 * event the admin may see could have changed it (and only when it did change).
 */
export function pendingRequestCounts(
  deps: LiveDeps,
  subscriber: LiveSubscriber,
): AsyncIterableIterator<QuarantineCount> {
  return cancellable((signal) => countStream(deps, subscriber, signal));
}

async function* countStream(
  deps: LiveDeps,
  subscriber: LiveSubscriber,
  signal: AbortSignal,
): AsyncGenerator<QuarantineCount> {
  const { stores, live } = deps;
  live.start();
  const rights = rightsKeeper(stores, subscriber, isAdmin);
  const batches = batchQueue(live, signal);
  const count = (viewer: Viewer) => countQuarantine(stores.amavis, viewer, { pendingRequests: true });
  try {
    let last = await count(await rights(0));
    yield last;
    while (!signal.aborted) {
      const batch = await batches.next(() => rights(0));
      if (!batch) continue;
      const relevant = batch.filter((e) => PENDING_KINDS.has(e.kind));
      if (relevant.length === 0) continue;
      const now = await untilDone(signal, async () => {
        const viewer = await rights(RECHECK_MS);
        const { visible } = await visibleIn(stores, viewer, batch);
        return relevant.some((e) => visible.has(keyOf(e))) ? count(viewer) : null;
      });
      if (!now) continue;
      if (now.value !== last.value || now.exact !== last.exact) {
        last = now;
        yield now;
      }
    }
  } finally {
    batches.stop();
  }
}
