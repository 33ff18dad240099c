// Optional indexes on amavisd's own tables that make the quarantine listing's selective views cheaper
// (`npm run amavis:create-indexes`, README "Using it with your amavisd"). The console never creates them
// by itself: they are amavisd's tables, and every index costs amavisd something on each insert. The
// listing returns the same rows with or without them; only its plans change.
//
// Each index is here because EXPLAIN showed the listing using it (checked on 104 k msgs / 24 k
// quarantined; the 1 M-row figures are the benchmark's job):
// - maddr (email): a user's view looks recipients up by exact address; amavisd's own UNIQUE
//   (partition_tag, email) leads with partition_tag, which the listing does not constrain.
// - maddr (domain): a domain admin's view and the recipient domain filter look recipients up by
//   (reversed) domain; without it both databases scan maddr, and MariaDB's bounded count scans msgs.
// - PostgreSQL, msgrcpt (partition_tag, mail_id) WHERE rs = 'p': the pending-requests view starts from
//   the few rows waiting for an admin. amavisd inserts rs = ' ', so its inserts never touch it.
// - MariaDB, msgrcpt (partition_tag, mail_id, rs, content, rid): the listing's per-message recipient
//   test (status, verdict, recipient) reads this index only, not the clustered rows.
// - amavis_console_listing (listing-accelerator.ts): not an index but a side table kept by triggers,
//   which every date-ordered view (one domain, one user, a type filter, a search) pages through instead
//   of walking amavisd's messages. At 1 M messages it takes a domain admin's page from ~45 ms (PostgreSQL)
//   and seconds (MariaDB) to a couple of milliseconds; the benchmark (npm run bench) has the numbers.
import { sql } from 'drizzle-orm';
import type { Dialect } from '../config.ts';
import type { Connection } from '../db/database.ts';
import {
  ACCELERATOR_TABLE,
  acceleratorCreateStatements,
  acceleratorDropStatements,
  acceleratorState,
  dropAccelerator,
  installAccelerator,
} from './listing-accelerator.ts';

export interface ListingIndex {
  name: string;
  table: 'maddr' | 'msgrcpt' | 'msgs';
  columns: readonly string[];
  /** PostgreSQL partial-index predicate. */
  where?: string;
  purpose: string;
  /** The listing accelerator: a side table with triggers (listing-accelerator.ts), not one index. */
  accelerator?: true;
}

/** Every name starts with this, so dropping them never touches amavisd's or anyone else's indexes. */
export const LISTING_INDEX_PREFIX = 'amavis_console_';

const MADDR_EMAIL: ListingIndex = {
  name: 'amavis_console_maddr_email',
  table: 'maddr',
  columns: ['email'],
  purpose: "a user's own quarantine (recipients by exact address)",
};

const MADDR_DOMAIN: ListingIndex = {
  name: 'amavis_console_maddr_domain',
  table: 'maddr',
  columns: ['domain'],
  purpose: "a domain admin's quarantine and the recipient domain filter",
};

const ACCELERATOR: ListingIndex = {
  name: ACCELERATOR_TABLE,
  table: 'msgrcpt',
  columns: [],
  purpose:
    'the listing accelerator: a side table of quarantined entries by date, recipient domain and address, ' +
    "kept by triggers on amavisd's msgs, msgrcpt and quarantine",
  accelerator: true,
};

export const LISTING_INDEXES: Record<Dialect, readonly ListingIndex[]> = {
  pg: [
    MADDR_EMAIL,
    MADDR_DOMAIN,
    {
      name: 'amavis_console_msgrcpt_pending',
      table: 'msgrcpt',
      columns: ['partition_tag', 'mail_id'],
      where: "rs = 'p'",
      purpose: 'the pending release requests view (partial: only rows with rs = p)',
    },
    ACCELERATOR,
  ],
  mysql: [
    MADDR_EMAIL,
    MADDR_DOMAIN,
    {
      name: 'amavis_console_msgrcpt_listing',
      table: 'msgrcpt',
      columns: ['partition_tag', 'mail_id', 'rs', 'content', 'rid'],
      purpose: "the listing's per-message recipient test, read from the index alone",
    },
    ACCELERATOR,
  ],
};

/**
 * The statement that creates `index`. PostgreSQL builds it CONCURRENTLY and MariaDB online
 * (ALGORITHM=INPLACE, LOCK=NONE), so amavisd keeps inserting while it is built.
 */
export function createIndexStatement(dialect: Dialect, index: ListingIndex, embedded = false): string {
  if (index.accelerator) return acceleratorCreateStatements(dialect).join(';\n');
  const columns = index.columns.join(', ');
  if (dialect === 'mysql') {
    return `CREATE INDEX ${index.name} ON ${index.table} (${columns}) ALGORITHM=INPLACE LOCK=NONE`;
  }
  const concurrently = embedded ? '' : 'CONCURRENTLY ';
  const where = index.where ? ` WHERE ${index.where}` : '';
  return `CREATE INDEX ${concurrently}IF NOT EXISTS ${index.name} ON ${index.table} (${columns})${where}`;
}

export function dropIndexStatement(dialect: Dialect, index: ListingIndex, embedded = false): string {
  if (index.accelerator) return acceleratorDropStatements(dialect).join(';\n');
  // InnoDB drops a secondary index in place, without blocking writes
  if (dialect === 'mysql') return `DROP INDEX ${index.name} ON ${index.table}`;
  return `DROP INDEX ${embedded ? '' : 'CONCURRENTLY '}IF EXISTS ${index.name}`;
}

export type IndexState = 'valid' | 'invalid' | 'absent';

/**
 * Whether each listing index exists in the connection's schema/database. 'invalid' is PostgreSQL's
 * leftover of an interrupted CREATE INDEX CONCURRENTLY: it costs inserts and serves no query.
 */
export async function listingIndexStates(connection: Connection): Promise<Map<string, IndexState>> {
  const indexes = LISTING_INDEXES[connection.dialect];
  const names = sql.join(
    indexes.filter((index) => !index.accelerator).map((index) => sql`${index.name}`),
    sql`, `,
  );
  const rows =
    connection.dialect === 'pg'
      ? await connection.rows<{ name: string; valid: boolean }>(
          sql`select c.relname as name, i.indisvalid as valid
              from pg_index i join pg_class c on c.oid = i.indexrelid
              join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = current_schema() and c.relname in (${names})`,
        )
      : await connection.rows<{ name: string; valid: number }>(
          sql`select distinct index_name as name, 1 as valid from information_schema.statistics
              where table_schema = database() and index_name in (${names})`,
        );
  const states = new Map<string, IndexState>(indexes.map((index) => [index.name, 'absent']));
  for (const row of rows) states.set(row.name, row.valid ? 'valid' : 'invalid');
  const accelerator = await acceleratorState(connection);
  states.set(
    ACCELERATOR_TABLE,
    accelerator === 'complete' ? 'valid' : accelerator === 'building' ? 'invalid' : 'absent',
  );
  return states;
}

export interface IndexChange {
  /** Indexes this call created or dropped. */
  changed: string[];
  /** Indexes that were already there (create) or already gone (drop). */
  unchanged: string[];
}

/**
 * Creates the listing indexes that are missing (rebuilding invalid leftovers), and the listing accelerator
 * unless `accelerator` is false; idempotent.
 */
export async function createListingIndexes(
  connection: Connection,
  options: { accelerator?: boolean } = {},
): Promise<IndexChange> {
  const { dialect, embedded } = connection;
  const states = await listingIndexStates(connection);
  const result: IndexChange = { changed: [], unchanged: [] };
  for (const index of LISTING_INDEXES[dialect]) {
    if (index.accelerator && options.accelerator === false) continue;
    const state = states.get(index.name);
    if (state === 'valid') {
      result.unchanged.push(index.name);
      continue;
    }
    if (index.accelerator) {
      await installAccelerator(connection);
      result.changed.push(index.name);
      continue;
    }
    if (state === 'invalid')
      await connection.db.execute(sql.raw(dropIndexStatement(dialect, index, embedded)));
    await connection.db.execute(sql.raw(createIndexStatement(dialect, index, embedded)));
    result.changed.push(index.name);
  }
  return result;
}

/** Drops the listing indexes that exist; idempotent, and touches no other index. */
export async function dropListingIndexes(connection: Connection): Promise<IndexChange> {
  const { dialect, embedded } = connection;
  const states = await listingIndexStates(connection);
  const result: IndexChange = { changed: [], unchanged: [] };
  for (const index of LISTING_INDEXES[dialect]) {
    if (states.get(index.name) === 'absent') {
      result.unchanged.push(index.name);
      continue;
    }
    if (index.accelerator) await dropAccelerator(connection);
    else await connection.db.execute(sql.raw(dropIndexStatement(dialect, index, embedded)));
    result.changed.push(index.name);
  }
  return result;
}
