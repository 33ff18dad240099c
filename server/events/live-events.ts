// The live events of one replica. Every replica listens on the bus and hands published batches to its
// subscribers. One replica at a time (the holder of the detector lease in the console database) also
// detects what amavisd quarantined, logs it, and publishes the log: LISTEN/NOTIFY when the PostgreSQL
// trigger is installed (amavis-notify.ts), else polling every LIVE_POLL_INTERVAL_MS. When it dies, its
// lease runs out and another replica takes over, catching up from amavisd's tables and the log.
import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../config.ts';
import { holderName, withLease } from '../db/leases.ts';
import type { Stores } from '../db/stores.ts';
import type { Logger } from '../log.ts';
import { listenForQuarantine, liveTriggerInstalled, type NotifyListener } from './amavis-notify.ts';
import { createQuarantineScanner } from './amavis-scanner.ts';
import { openDetectorStore } from './detector-store.ts';
import { busChannel, createEventBus, type EventBus } from './event-bus.ts';
import { createLogTailer } from './log-tailer.ts';
import { eventsRecorded, type QuarantineEvent } from './quarantine-events.ts';

export const DETECTOR_LEASE = 'live-events-detector';
const LEASE_TTL_MS = 15_000;
/** With the trigger, a slow poll still runs, in case a notification was lost while nobody listened. */
const LISTEN_SAFETY_POLL_MS = 30_000;
/** How often the detector checks whether the trigger was installed or dropped meanwhile. */
const MODE_CHECK_MS = 60_000;

export type DetectionMode = 'listen' | 'poll';

export interface LiveEventsStatus {
  started: boolean;
  leader: boolean;
  mode: DetectionMode | null;
  bus: EventBus['kind'];
}

export interface DetectorConnections {
  /** The scanning connection: PostgreSQL backend pid or MariaDB thread id. */
  scanConnectionId: number;
  /** application_name of the LISTEN connection, in listen mode. */
  listenApplicationName: string | null;
}

export interface LiveEvents {
  /** Starts taking part (listening on the bus, competing for the detector lease); idempotent. */
  start(): void;
  /** Receives every published batch; the same array reaches every listener. Returns the unsubscribe. */
  onEvents(listener: (events: QuarantineEvent[]) => void): () => void;
  status(): LiveEventsStatus;
  /** The detector's connections while this replica detects (tests kill them to make a gap). */
  detectorConnections(): Promise<DetectorConnections | null>;
  close(): Promise<void>;
}

export interface LiveEventsOptions {
  config: Config;
  stores: Stores;
  log: Logger;
}

/** Runs `task` one at a time; asking while it runs runs it once more afterwards. */
function serialised(task: () => Promise<void>): { request: () => void; idle: () => Promise<void> } {
  let running: Promise<void> | null = null;
  let again = false;
  const run = (): Promise<void> => {
    running = task().finally(() => {
      running = null;
      if (again) {
        again = false;
        run();
      }
    });
    return running;
  };
  return {
    request: () => {
      if (running) again = true;
      else void run();
    },
    idle: async () => {
      while (running) await running;
    },
  };
}

export function createLiveEvents({ config, stores, log }: LiveEventsOptions): LiveEvents {
  const listeners = new Set<(events: QuarantineEvent[]) => void>();
  const holder = holderName();
  const controller = new AbortController();
  let bus: EventBus | null = null;
  let stopBus: (() => void) | null = null;
  let loop: Promise<void> | null = null;
  let leader: {
    mode: DetectionMode;
    requestTick: () => void;
    connections: () => Promise<DetectorConnections>;
  } | null = null;

  // A publisher that takes over republishes its last seconds, and an old one that has not noticed it
  // lost the lease may announce an entry again: both repeats are dropped here, once for the replica.
  const seenIds = new Set<number>();
  const seenEntries = new Set<string>();
  const remember = <T>(set: Set<T>, value: T) => {
    set.add(value);
    if (set.size > 100_000) {
      let drop = 50_000;
      for (const old of set) {
        set.delete(old);
        if (--drop === 0) break;
      }
    }
  };
  const deliver = (published: QuarantineEvent[]) => {
    const events = published.filter((e) => {
      if (seenIds.has(e.id)) return false;
      remember(seenIds, e.id);
      if (e.kind !== 'quarantined') return true;
      const key = `${e.partitionTag}:${e.mailId}:${e.rseqnum}`;
      if (seenEntries.has(key)) return false;
      remember(seenEntries, key);
      return true;
    });
    if (events.length === 0) return;
    for (const listener of listeners) {
      try {
        listener(events);
      } catch (error) {
        log.error({ err: error }, 'a live events listener failed');
      }
    }
  };

  const onRecorded = () => {
    if (leader) leader.requestTick();
    else bus?.publish({ type: 'wake' });
  };

  /**
   * This replica holds the lease: detect and publish until the lease is lost, the app closes, or the
   * trigger came or went (true: start again in the other mode).
   */
  async function lead(signal: AbortSignal): Promise<boolean> {
    const detector = openDetectorStore(config.amavisDatabase, stores.amavis);
    const scanner = createQuarantineScanner(detector.store, stores.console);
    const tailer = createLogTailer(stores.console, (events) => bus?.publish({ type: 'events', events }));
    const tick = serialised(async () => {
      try {
        await tailer.tick();
      } catch (error) {
        log.warn({ err: error }, 'live events: reading the event log failed; retrying');
      }
    });
    const scan = serialised(async () => {
      try {
        if ((await scanner.scan()) > 0) tick.request();
      } catch (error) {
        // the next scan, on the next notification or poll, reconnects and catches up
        log.warn({ err: error }, 'live events: scanning the amavis tables failed; retrying');
      }
    });
    let listener: NotifyListener | null = null;
    let mode: DetectionMode = 'poll';
    try {
      const target = config.amavisDatabase;
      if (
        target.kind === 'url' &&
        (await liveTriggerInstalled(detector.store.connection).catch(() => false))
      ) {
        listener = await listenForQuarantine(target.url, () => scan.request());
        mode = 'listen';
      }
    } catch (error) {
      log.warn({ err: error }, 'live events: cannot LISTEN; polling instead');
    }
    leader = {
      mode,
      requestTick: tick.request,
      connections: async () => ({
        scanConnectionId: await detector.connectionId(),
        listenApplicationName: listener?.applicationName ?? null,
      }),
    };
    log.info({ mode, intervalMs: config.livePollIntervalMs }, 'live events: this replica detects');
    const scanEvery = mode === 'listen' ? LISTEN_SAFETY_POLL_MS : config.livePollIntervalMs;
    const scanTimer = setInterval(scan.request, scanEvery);
    const tickTimer = setInterval(tick.request, config.livePollIntervalMs);
    scan.request();
    tick.request();
    let modeTimer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<boolean>((resolve) => {
        if (signal.aborted || controller.signal.aborted) resolve(false);
        signal.addEventListener('abort', () => resolve(false), { once: true });
        controller.signal.addEventListener('abort', () => resolve(false), { once: true });
        if (config.amavisDatabase.kind === 'url' && config.amavisDatabase.dialect === 'pg') {
          modeTimer = setInterval(() => {
            liveTriggerInstalled(detector.store.connection).then(
              (installed) => {
                if (installed !== (mode === 'listen')) resolve(true);
              },
              () => {},
            );
          }, MODE_CHECK_MS);
        }
      });
    } finally {
      clearInterval(modeTimer);
      leader = null;
      clearInterval(scanTimer);
      clearInterval(tickTimer);
      await listener?.close().catch(() => {});
      await scan.idle();
      await tick.idle();
      await detector.close().catch(() => {});
    }
  }

  async function compete(): Promise<void> {
    while (!controller.signal.aborted) {
      try {
        const result = await withLease(stores.console, DETECTOR_LEASE, holder, LEASE_TTL_MS, (lease) =>
          lead(lease.signal),
        );
        if (result.acquired && result.value) {
          log.info('live events: the trigger was installed or dropped; detecting again');
          continue;
        }
        if (result.acquired && !controller.signal.aborted) {
          log.warn('live events: lost the detector lease');
        }
      } catch (error) {
        log.warn({ err: error }, 'live events: cannot take part in the detector lease; retrying');
      }
      await delay(LEASE_TTL_MS / 3, undefined, { signal: controller.signal }).catch(() => {});
    }
  }

  return {
    start() {
      if (loop || controller.signal.aborted) return;
      bus = createEventBus({
        redisUrl: config.redisUrl,
        channel: busChannel(stores.console.connection.display),
      });
      stopBus = bus.subscribe((message) => {
        if (message.type === 'events') deliver(message.events);
        else leader?.requestTick();
      });
      eventsRecorded.on('recorded', onRecorded);
      loop = compete();
    },
    onEvents(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    status: () => ({
      started: loop !== null,
      leader: leader !== null,
      mode: leader?.mode ?? null,
      bus: config.redisUrl ? 'redis' : 'memory',
    }),
    detectorConnections: async () => (leader ? leader.connections() : null),
    async close() {
      controller.abort();
      eventsRecorded.off('recorded', onRecorded);
      await loop;
      stopBus?.();
      await bus?.close();
      listeners.clear();
    },
  };
}
