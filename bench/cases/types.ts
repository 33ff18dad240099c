// What a bench case gets and gives back. A case is one module in bench/cases/ listed in index.ts; it
// measures through the running console (HTTP) and, where it can, the same work without it.

import type { AmavisStore, ConsoleStore } from '../../server/db/stores.ts';
import type { Viewer } from '../../server/features/quarantine/quarantine.service.ts';
import type { RawSql } from '../lib/raw-sql.ts';
import type { ConsoleProcess, GraphQLClient } from '../lib/server.ts';

export type Setup = 'accelerated' | 'indexes' | 'plain';

export interface BenchOptions {
  /** Measured rounds per case (each round runs every variant once). */
  requests: number;
  warmup: number;
  modoboaRuns: number;
  modoboaTimeoutMs: number;
  /** Openings of the 25 MB message (each: GraphQL, raw download, attachment download). */
  messageRuns: number;
  /** Messages per round of the amavisd-inserts case. */
  insertMessages: number;
  /** Add EXPLAIN output of the console's statements to each listing case. */
  explain: boolean;
  /** (message, recipient) pairs the bulk release case releases through the lab's amavisd. */
  releasePairs: number;
  /** How long the concurrent load case runs. */
  loadSeconds: number;
  /** The cleanup case's batch size; the cleanup's own default when undefined. */
  cleanupBatch?: number;
  /** The cleanup case deletes the expired half of the data: true on generated data or when asked. */
  allowCleanup: boolean;
}

export interface CapturedQuery {
  sql: string;
  params: unknown[];
}

/** Who the bench logs in as; seedBenchAccounts made them, all with the same password. */
export interface BenchAccounts {
  superadmin: string;
  domainAdmin: string;
  user: string;
  password: string;
}

export interface BenchContext {
  dialect: 'pg' | 'mysql';
  setup: Setup;
  options: BenchOptions;
  console: ConsoleProcess;
  anonymous: GraphQLClient;
  /** A logged-in client per account (one session each, kept for the run). */
  client(email: string): Promise<GraphQLClient>;
  /** The account as the console resolves it, for calling services in this process. */
  viewer(email: string): Promise<Viewer>;
  /** This process's own connection, opened like the console's, for the console's SQL in-process. */
  store: AmavisStore;
  consoleStore: ConsoleStore;
  /** SQL the in-process connection ran since the last reset. */
  captured: CapturedQuery[];
  raw: RawSql;
  accounts: BenchAccounts;
  /** The recipient domain of the domain-admin case (its admin is accounts.domainAdmin). */
  domain: string;
  /** Measured by the floor case: the p95 of an anonymous `{ __typename }`. */
  floorP95: number | null;
}

export type CaseResult = Record<string, unknown>;

export interface BenchCase {
  name: string;
  /** One line of the report (merged with the run's common fields). */
  run(context: BenchContext): Promise<CaseResult>;
}
