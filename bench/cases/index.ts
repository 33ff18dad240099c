// Every bench case, in the order they run; `--cases` picks by name. A new case (release, cleanup,
// subscriptions, load) is a module exporting BenchCase objects, added to this list.
import { amavisdInsertsCase } from './amavisd-inserts.ts';
import { floorCase } from './floor.ts';
import { listingCases } from './listing.ts';
import { messageOpenCase } from './message-open.ts';
import type { BenchCase } from './types.ts';

export const CASES: readonly BenchCase[] = [floorCase, ...listingCases, messageOpenCase, amavisdInsertsCase];
