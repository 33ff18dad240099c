// How events travel between the replicas: graphql-yoga's pubsub, in memory for one instance, or over
// Redis (its Redis event target) when REDIS_URL is set. Two kinds of messages: a batch of logged events
// (published by the replica that holds the detector lease), and a wake-up (any replica that logged an
// event asks the publisher to read the log now instead of on its next poll).
import { createHash } from 'node:crypto';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { QuarantineEvent } from './quarantine-events.ts';

export type BusMessage = { type: 'events'; events: QuarantineEvent[] } | { type: 'wake' };

export interface EventBus {
  /** 'memory' or 'redis'. */
  kind: 'memory' | 'redis';
  publish(message: BusMessage): void;
  /** Calls `handler` for every message; returns the unsubscribe function. */
  subscribe(handler: (message: BusMessage) => void): () => void;
  close(): Promise<void>;
}

/**
 * Replicas that share a console database share a channel; consoles on other databases (tests, other
 * installations on the same Redis) do not hear each other.
 */
export function busChannel(consoleDatabase: string): string {
  return `amavis-console:${createHash('sha256').update(consoleDatabase).digest('hex').slice(0, 16)}:events`;
}

export function createEventBus(options: { redisUrl: string | null; channel: string }): EventBus {
  let clients: Redis[] = [];
  let eventTarget: ReturnType<typeof createRedisEventTarget> | undefined;
  if (options.redisUrl) {
    const connect = () =>
      new Redis(options.redisUrl as string, { lazyConnect: false, maxRetriesPerRequest: null });
    clients = [connect(), connect()];
    const [publisher, subscriber] = clients as [Redis, Redis];
    // ioredis reconnects (and resubscribes) on its own. A message published while Redis is away is
    // lost; clients resume from the log with since. The event target ignores the promises these
    // return, so their failures are swallowed here rather than left unhandled.
    for (const client of clients) client.on('error', () => {});
    const publishClient = {
      publish: (channel: string, message: string) => publisher.publish(channel, message).catch(() => 0),
    };
    const subscribeClient = {
      on: (event: 'message', listener: (channel: string, message: string) => void) =>
        subscriber.on(event, listener),
      subscribe: (channel: string) => subscriber.subscribe(channel).catch(() => 0),
      unsubscribe: (channel: string) => subscriber.unsubscribe(channel).catch(() => 0),
    };
    eventTarget = createRedisEventTarget({
      publishClient: publishClient as unknown as Redis,
      subscribeClient: subscribeClient as unknown as Redis,
    });
  }
  const pubsub = createPubSub<Record<string, [BusMessage]>>(eventTarget ? { eventTarget } : {});
  const topic = options.channel;
  const stops = new Set<() => void>();
  return {
    kind: options.redisUrl ? 'redis' : 'memory',
    publish: (message) => pubsub.publish(topic, message),
    subscribe: (handler) => {
      const iterator = pubsub.subscribe(topic)[Symbol.asyncIterator]();
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        stops.delete(stop);
        void iterator.return?.();
      };
      stops.add(stop);
      void (async () => {
        while (!stopped) {
          const next = await iterator.next();
          if (next.done) return;
          handler(next.value);
        }
      })();
      return stop;
    },
    close: async () => {
      for (const stop of [...stops]) stop();
      await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())));
    },
  };
}

/** Resolves once Redis answers (for tests and the start-up check); true for the memory bus. */
export async function redisReachable(url: string, timeoutMs = 2000): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
