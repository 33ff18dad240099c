// Subscribing to the console's live events as a browser would (graphql-ws over a WebSocket with the
// session cookie) or as a script would (an API token in connectionParams), collecting what arrives.
import { max } from 'drizzle-orm';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { ConsoleStore } from '../../server/db/stores.ts';

export const EVENTS = `subscription($since: String) {
  quarantineEvents(since: $since) {
    cursor kind recipient statusCode entryId
    entry { id mailId recipient subject status { code } }
  }
}`;

export const PENDING = 'subscription { pendingReleaseRequests { value exact } }';

export interface LiveEvent {
  cursor: string;
  kind: string;
  recipient: string;
  statusCode: string | null;
  entryId: string;
  entry: { id: string; mailId: string; recipient: string; subject: string; status: { code: string } } | null;
}

export interface Subscription<T> {
  received: T[];
  errors: unknown[];
  completed: boolean;
  /** Resolves with the first received item matching `match` (waiting up to `ms`). */
  waitFor(match: (item: T) => boolean, ms?: number): Promise<T>;
  close(): Promise<void>;
}

export interface Credentials {
  session?: string | null;
  token?: string | null;
}

function socketClass(cookie: string | null) {
  return class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, cookie ? { headers: { cookie } } : {});
    }
  };
}

/** Subscribes over graphql-ws; `pick` takes the item (or the list of items) out of each payload. */
export function subscribe<T>(
  baseUrl: string,
  credentials: Credentials,
  query: string,
  variables: Record<string, unknown>,
  pick: (data: Record<string, unknown>) => T | T[],
): Subscription<T> {
  const client: WsClient = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: socketClass(credentials.session ? `ac_session=${credentials.session}` : null),
    connectionParams: credentials.token ? { authorization: `Bearer ${credentials.token}` } : {},
    retryAttempts: 0,
    lazy: false,
    // a closed socket reaches the subscription's error callback; no console noise besides
    onNonLazyError: () => {},
  });
  const received: T[] = [];
  const errors: unknown[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  const state: Subscription<T> = {
    received,
    errors,
    completed: false,
    waitFor: (match, ms = 20_000) =>
      new Promise<T>((resolve, reject) => {
        const check = () => {
          const found = received.find(match);
          if (found !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          } else if (errors.length > 0 || state.completed) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`subscription ended: ${JSON.stringify(errors)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`nothing matching within ${ms} ms; received ${JSON.stringify(received)}`));
        }, ms);
        waiters.add(check);
        check();
      }),
    close: async () => {
      await client.dispose();
    },
  };
  client.subscribe(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(value.errors);
        if (value.data) {
          const picked = pick(value.data as Record<string, unknown>);
          if (Array.isArray(picked)) received.push(...picked);
          else received.push(picked);
        }
        notify();
      },
      error: (error) => {
        errors.push(error instanceof Error ? error.message : error);
        notify();
      },
      complete: () => {
        state.completed = true;
        notify();
      },
    },
  );
  return state;
}

/** Subscribes to quarantineEvents. */
export function subscribeEvents(
  baseUrl: string,
  credentials: Credentials,
  since: string | null,
): Subscription<LiveEvent> {
  return subscribe(baseUrl, credentials, EVENTS, { since }, (data) => data.quarantineEvents as LiveEvent[]);
}

/** The newest event cursor in the log: subscribing with it as since misses nothing that follows. */
export async function latestCursor(store: ConsoleStore): Promise<string> {
  const t = store.t.quarantineEventsTable;
  const [row] = await store.connection.db.select({ id: max(t.id) }).from(t);
  return String(row?.id ?? 0);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
