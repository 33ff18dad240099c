import type { Config } from '../config.ts';
import type { Stores } from '../db/stores.ts';
import type { Logger } from '../log.ts';

/** What every resolver gets. Built per operation, over HTTP, SSE and WebSocket alike. */
export interface Context {
  config: Config;
  stores: Stores;
  log: Logger;
}
