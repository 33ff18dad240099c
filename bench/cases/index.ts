// Every bench case, in the order they run; `--cases` picks by name. A new case is a module exporting
// BenchCase objects, added to this list. Cleanup deletes half the data, so it stays last.
import { amavisdInsertsCase } from './amavisd-inserts.ts';
import { cleanupCase } from './cleanup.ts';
import { floorCase } from './floor.ts';
import { listingCases } from './listing.ts';
import { loadCase } from './load.ts';
import { messageOpenCase } from './message-open.ts';
import { releaseCase } from './release.ts';
import { subscriptionsCase } from './subscriptions.ts';
import type { BenchCase } from './types.ts';

export const CASES: readonly BenchCase[] = [
  floorCase,
  ...listingCases,
  messageOpenCase,
  loadCase,
  amavisdInsertsCase,
  releaseCase,
  subscriptionsCase,
  cleanupCase,
];
