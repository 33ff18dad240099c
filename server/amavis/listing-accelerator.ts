// The listing accelerator: a console-owned side table, amavis_console_listing, with one row per quarantined
// recipient entry (msgrcpt row whose message has a msgs row and quarantine chunk 1), holding the entry's
// key, msgs.time_num, the recipient's maddr.domain and maddr.email, and msgrcpt.content. Its indexes put
// every view the console pages through in date order next to each other: everything, one recipient domain
// (a domain admin's view), one recipient address (a user's view); content rides along for the type filter.
// No index over amavisd's own tables can do that, because the date lives in msgs and the recipient in
// maddr (through msgrcpt).
//
// Triggers on amavisd's msgs, msgrcpt and quarantine keep it exact whatever order rows arrive in
// (amavisd writes msgs, then quarantine, then msgrcpt; other tools differ), and follow updates of the
// copied columns and deletions. Installing creates the table and the triggers first, then copies what is
// already there in small batches (plain reads, so amavisd is never blocked for long), then marks the table
// complete. The listing only uses a complete table, and still checks every row against amavisd's tables
// (visibility, status, filters, quarantine chunk): the side table only decides which rows to look at.
//
// What amavisd pays: the triggers run inside its transactions, one small indexed INSERT … SELECT per
// msgrcpt row (and a probe per msgs row and per first quarantine chunk), writing rows only for quarantined
// mail. At 1 M messages EXPLAIN ANALYZE puts them at ~20–40 µs each on PostgreSQL (~80 µs a message);
// replaying amavisd's statements (npm run bench, case amavisd-inserts) shows ~3% on PostgreSQL and up to
// ~0.5 ms a message on MariaDB, whose triggers also read with shared locks like any INSERT … SELECT.
//
// `npm run amavis:create-indexes` installs it with the optional indexes (listing-indexes.ts); `--drop`
// removes the triggers and the table together. Never drop the table alone: on MariaDB the triggers would
// then make amavisd's inserts fail.
import { sql } from 'drizzle-orm';
import { int, char as mysqlChar, mysqlTable, varchar as mysqlVarchar } from 'drizzle-orm/mysql-core';
import { char, integer, pgTable, varchar } from 'drizzle-orm/pg-core';
import type { Dialect } from '../config.ts';
import { toBuffer } from '../db/binary.ts';
import { bytea, byteaKey, varbinary, varbinaryKey } from '../db/binary-columns.ts';
import type { Connection } from '../db/database.ts';

export const ACCELERATOR_TABLE = 'amavis_console_listing';
const COMPLETE = 'amavis-console listing accelerator 1: complete';
const BUILDING = 'amavis-console listing accelerator 1: building';

export const ACCELERATOR_INDEXES = {
  time: `${ACCELERATOR_TABLE}_time`,
  domain: `${ACCELERATOR_TABLE}_domain`,
  email: `${ACCELERATOR_TABLE}_email`,
} as const;

// ---------------------------------------------------------------------------------------------------
// Query definitions (the MariaDB one stands in for the PostgreSQL one, as in amavis-tables.ts)

const pgListing = pgTable(ACCELERATOR_TABLE, {
  partitionTag: integer('partition_tag').notNull(),
  mailId: byteaKey('mail_id').notNull(),
  rseqnum: integer('rseqnum').notNull(),
  timeNum: integer('time_num').notNull(),
  domain: varchar('domain', { length: 255 }).notNull(),
  email: bytea('email').notNull(),
  content: char('content', { length: 1 }).notNull(),
});

const mysqlListing = mysqlTable(ACCELERATOR_TABLE, {
  partitionTag: int('partition_tag').notNull(),
  mailId: varbinaryKey('mail_id', { length: 16 }).notNull(),
  rseqnum: int('rseqnum').notNull(),
  timeNum: int('time_num', { unsigned: true }).notNull(),
  // varbinary in the database (exact bytes); typed as text so domainCondition treats it as MariaDB's
  domain: mysqlVarchar('domain', { length: 255 }).notNull(),
  email: varbinary('email', { length: 255 }).notNull(),
  content: mysqlChar('content', { length: 1 }).notNull(),
});

export type ListingTable = typeof pgListing;

export function listingTable(dialect: Dialect): ListingTable {
  return dialect === 'pg' ? pgListing : (mysqlListing as unknown as ListingTable);
}

// ---------------------------------------------------------------------------------------------------
// DDL

const COLUMNS = 'partition_tag, mail_id, rseqnum, time_num, domain, email, content';

/** INSERT of the entries of msgrcpt rows matching `where` (over r = msgrcpt), refreshing existing rows. */
function pgUpsert(where: string): string {
  return `INSERT INTO ${ACCELERATOR_TABLE} (${COLUMNS})
    SELECT r.partition_tag, r.mail_id, r.rseqnum, m.time_num, a.domain, a.email, r.content
    FROM msgrcpt r
    JOIN msgs m ON m.partition_tag = r.partition_tag AND m.mail_id = r.mail_id
    JOIN maddr a ON a.id = r.rid
    WHERE ${where}
      AND EXISTS (SELECT 1 FROM quarantine q
                  WHERE q.partition_tag = r.partition_tag AND q.mail_id = r.mail_id AND q.chunk_ind = 1)
    ON CONFLICT (partition_tag, mail_id, rseqnum) DO UPDATE SET time_num = excluded.time_num,
      domain = excluded.domain, email = excluded.email, content = excluded.content`;
}

function mysqlUpsert(where: string): string {
  return `INSERT INTO ${ACCELERATOR_TABLE} (${COLUMNS})
    SELECT r.partition_tag, r.mail_id, r.rseqnum, m.time_num, a.domain, a.email, r.content
    FROM msgrcpt r
    JOIN msgs m ON m.partition_tag = r.partition_tag AND m.mail_id = r.mail_id
    JOIN maddr a ON a.id = r.rid
    WHERE ${where}
      AND EXISTS (SELECT 1 FROM quarantine q
                  WHERE q.partition_tag = r.partition_tag AND q.mail_id = r.mail_id AND q.chunk_ind = 1)
    ON DUPLICATE KEY UPDATE time_num = VALUES(time_num), domain = VALUES(domain), email = VALUES(email),
      content = VALUES(content)`;
}

interface PgTrigger {
  name: string;
  table: 'msgs' | 'msgrcpt' | 'quarantine';
  /** Everything between CREATE TRIGGER name and EXECUTE FUNCTION. */
  when: string;
  body: string;
}

const SAME_MESSAGE = (row: string) => `r.partition_tag = ${row}.partition_tag AND r.mail_id = ${row}.mail_id`;
const SAME_RECIPIENT = (row: string) => `${SAME_MESSAGE(row)} AND r.rseqnum = ${row}.rseqnum`;

function pgTriggers(): PgTrigger[] {
  const t = ACCELERATOR_TABLE;
  return [
    {
      name: `${t}_msgs_insert`,
      table: 'msgs',
      when: 'AFTER INSERT ON msgs FOR EACH ROW',
      body: pgUpsert(SAME_MESSAGE('NEW')),
    },
    {
      name: `${t}_msgs_update`,
      table: 'msgs',
      when: 'AFTER UPDATE OF time_num ON msgs FOR EACH ROW WHEN (OLD.time_num IS DISTINCT FROM NEW.time_num)',
      body: `UPDATE ${t} SET time_num = NEW.time_num
             WHERE partition_tag = NEW.partition_tag AND mail_id = NEW.mail_id`,
    },
    {
      name: `${t}_msgs_delete`,
      table: 'msgs',
      when: 'AFTER DELETE ON msgs REFERENCING OLD TABLE AS gone FOR EACH STATEMENT',
      body: `DELETE FROM ${t} s USING gone
             WHERE s.partition_tag = gone.partition_tag AND s.mail_id = gone.mail_id`,
    },
    {
      name: `${t}_msgrcpt_insert`,
      table: 'msgrcpt',
      when: 'AFTER INSERT ON msgrcpt FOR EACH ROW',
      body: pgUpsert(SAME_RECIPIENT('NEW')),
    },
    {
      name: `${t}_msgrcpt_update`,
      table: 'msgrcpt',
      when:
        'AFTER UPDATE OF rid, content ON msgrcpt FOR EACH ROW ' +
        'WHEN (OLD.rid IS DISTINCT FROM NEW.rid OR OLD.content IS DISTINCT FROM NEW.content)',
      body: pgUpsert(SAME_RECIPIENT('NEW')),
    },
    {
      name: `${t}_msgrcpt_delete`,
      table: 'msgrcpt',
      when: 'AFTER DELETE ON msgrcpt REFERENCING OLD TABLE AS gone FOR EACH STATEMENT',
      body: `DELETE FROM ${t} s USING gone WHERE s.partition_tag = gone.partition_tag
             AND s.mail_id = gone.mail_id AND s.rseqnum = gone.rseqnum`,
    },
    {
      name: `${t}_quarantine_insert`,
      table: 'quarantine',
      when: 'AFTER INSERT ON quarantine FOR EACH ROW WHEN (NEW.chunk_ind = 1)',
      body: pgUpsert(SAME_MESSAGE('NEW')),
    },
    {
      name: `${t}_quarantine_delete`,
      table: 'quarantine',
      when: 'AFTER DELETE ON quarantine REFERENCING OLD TABLE AS gone FOR EACH STATEMENT',
      body: `DELETE FROM ${t} s USING gone WHERE gone.chunk_ind = 1
             AND s.partition_tag = gone.partition_tag AND s.mail_id = gone.mail_id`,
    },
    ...(['msgs', 'msgrcpt', 'quarantine'] as const).map((table) => ({
      name: `${t}_${table}_truncate`,
      table,
      when: `AFTER TRUNCATE ON ${table} FOR EACH STATEMENT`,
      body: `DELETE FROM ${t}`,
    })),
  ];
}

interface MysqlTrigger {
  name: string;
  /** One statement: MariaDB takes it without BEGIN/END, so the DDL prints without DELIMITER tricks. */
  statement: string;
}

function mysqlTriggers(): MysqlTrigger[] {
  const t = ACCELERATOR_TABLE;
  return [
    {
      name: `${t}_msgs_insert`,
      statement: `AFTER INSERT ON msgs FOR EACH ROW ${mysqlUpsert(SAME_MESSAGE('NEW'))}`,
    },
    {
      // amavisd's final UPDATE of every message fires this; the constant condition makes it a no-op
      name: `${t}_msgs_update`,
      statement: `AFTER UPDATE ON msgs FOR EACH ROW UPDATE ${t} SET time_num = NEW.time_num
        WHERE NOT (NEW.time_num <=> OLD.time_num)
          AND partition_tag = NEW.partition_tag AND mail_id = NEW.mail_id`,
    },
    {
      name: `${t}_msgs_delete`,
      statement: `AFTER DELETE ON msgs FOR EACH ROW DELETE FROM ${t}
        WHERE partition_tag = OLD.partition_tag AND mail_id = OLD.mail_id`,
    },
    {
      name: `${t}_msgrcpt_insert`,
      statement: `AFTER INSERT ON msgrcpt FOR EACH ROW ${mysqlUpsert(SAME_RECIPIENT('NEW'))}`,
    },
    {
      name: `${t}_msgrcpt_update`,
      statement: `AFTER UPDATE ON msgrcpt FOR EACH ROW ${mysqlUpsert(
        `(NOT (NEW.rid <=> OLD.rid) OR NOT (CAST(NEW.content AS BINARY) <=> CAST(OLD.content AS BINARY)))
         AND ${SAME_RECIPIENT('NEW')}`,
      )}`,
    },
    {
      name: `${t}_msgrcpt_delete`,
      statement: `AFTER DELETE ON msgrcpt FOR EACH ROW DELETE FROM ${t}
        WHERE partition_tag = OLD.partition_tag AND mail_id = OLD.mail_id AND rseqnum = OLD.rseqnum`,
    },
    {
      name: `${t}_quarantine_insert`,
      statement: `AFTER INSERT ON quarantine FOR EACH ROW ${mysqlUpsert(`NEW.chunk_ind = 1 AND ${SAME_MESSAGE('NEW')}`)}`,
    },
    {
      name: `${t}_quarantine_delete`,
      statement: `AFTER DELETE ON quarantine FOR EACH ROW DELETE FROM ${t}
        WHERE OLD.chunk_ind = 1 AND partition_tag = OLD.partition_tag AND mail_id = OLD.mail_id`,
    },
  ];
}

export const ACCELERATOR_TRIGGER_COUNT: Record<Dialect, number> = {
  pg: pgTriggers().length,
  mysql: mysqlTriggers().length,
};

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function tableStatements(dialect: Dialect): string[] {
  const t = ACCELERATOR_TABLE;
  const { time, domain, email } = ACCELERATOR_INDEXES;
  if (dialect === 'mysql') {
    // Same types as amavisd's columns; domain as bytes, so equality is exact whatever the collation.
    return [
      `CREATE TABLE ${t} (
        partition_tag int NOT NULL,
        mail_id varbinary(16) NOT NULL,
        rseqnum int NOT NULL,
        time_num int unsigned NOT NULL,
        domain varbinary(255) NOT NULL,
        email varbinary(255) NOT NULL,
        content char(1) NOT NULL,
        PRIMARY KEY (partition_tag, mail_id, rseqnum),
        KEY ${time} (time_num, partition_tag, mail_id, rseqnum, content),
        KEY ${domain} (domain, time_num, partition_tag, mail_id, rseqnum),
        KEY ${email} (email, time_num, partition_tag, mail_id, rseqnum)
      ) ENGINE=InnoDB COMMENT='${BUILDING}'`,
    ];
  }
  return [
    `CREATE TABLE ${t} (
      partition_tag integer NOT NULL,
      mail_id bytea NOT NULL,
      rseqnum integer NOT NULL,
      time_num integer NOT NULL,
      domain varchar(255) NOT NULL,
      email bytea NOT NULL,
      content char(1) NOT NULL,
      PRIMARY KEY (partition_tag, mail_id, rseqnum)
    )`,
    `CREATE INDEX ${time} ON ${t} (time_num, partition_tag, mail_id, rseqnum) INCLUDE (content)`,
    `CREATE INDEX ${domain} ON ${t} (domain, time_num, partition_tag, mail_id, rseqnum)`,
    `CREATE INDEX ${email} ON ${t} (email, time_num, partition_tag, mail_id, rseqnum)`,
    `COMMENT ON TABLE ${t} IS '${BUILDING}'`,
  ];
}

/**
 * The triggers. PostgreSQL runs them as SECURITY DEFINER functions with a fixed search_path, so amavisd's
 * database user needs no rights on the side table; MariaDB runs triggers with their definer's rights.
 */
function triggerStatements(dialect: Dialect, schema: string): string[] {
  if (dialect === 'mysql') {
    return mysqlTriggers().map((trigger) => `CREATE TRIGGER ${trigger.name} ${trigger.statement}`);
  }
  return pgTriggers().flatMap((trigger) => [
    `CREATE FUNCTION ${trigger.name}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
       SET search_path = ${quoteIdent(schema)}, pg_temp AS $fn$
     BEGIN
       ${trigger.body};
       RETURN NULL;
     END $fn$`,
    `CREATE TRIGGER ${trigger.name} ${trigger.when} EXECUTE FUNCTION ${trigger.name}()`,
  ]);
}

function dropStatements(dialect: Dialect): string[] {
  if (dialect === 'mysql') {
    return [
      ...mysqlTriggers().map((trigger) => `DROP TRIGGER IF EXISTS ${trigger.name}`),
      `DROP TABLE IF EXISTS ${ACCELERATOR_TABLE}`,
    ];
  }
  return [
    ...pgTriggers().flatMap((trigger) => [
      `DROP TRIGGER IF EXISTS ${trigger.name} ON ${trigger.table}`,
      `DROP FUNCTION IF EXISTS ${trigger.name}()`,
    ]),
    `DROP TABLE IF EXISTS ${ACCELERATOR_TABLE}`,
  ];
}

function completeStatement(dialect: Dialect): string {
  return dialect === 'mysql'
    ? `ALTER TABLE ${ACCELERATOR_TABLE} COMMENT = '${COMPLETE}'`
    : `COMMENT ON TABLE ${ACCELERATOR_TABLE} IS '${COMPLETE}'`;
}

/**
 * The whole installation as SQL for a DBA (`npm run amavis:create-indexes -- --print`): the backfill is
 * one INSERT … SELECT here, where the command copies in batches.
 */
export function acceleratorCreateStatements(dialect: Dialect, schema = 'public'): string[] {
  const backfill =
    dialect === 'mysql'
      ? mysqlUpsert('1 = 1').replace(
          /ON DUPLICATE KEY UPDATE[\s\S]*$/,
          'ON DUPLICATE KEY UPDATE partition_tag = partition_tag',
        )
      : pgUpsert('true').replace(/ON CONFLICT[\s\S]*$/, 'ON CONFLICT DO NOTHING');
  return [
    ...tableStatements(dialect),
    ...triggerStatements(dialect, schema),
    backfill,
    dialect === 'mysql' ? `ANALYZE TABLE ${ACCELERATOR_TABLE}` : `ANALYZE ${ACCELERATOR_TABLE}`,
    completeStatement(dialect),
  ];
}

export function acceleratorDropStatements(dialect: Dialect): string[] {
  return dropStatements(dialect);
}

// ---------------------------------------------------------------------------------------------------
// State

export type AcceleratorState = 'complete' | 'building' | 'absent';

export async function acceleratorState(connection: Connection): Promise<AcceleratorState> {
  const rows =
    connection.dialect === 'pg'
      ? await connection.rows<{ note: string | null; triggers: unknown }>(
          sql`select obj_description(c.oid, 'pg_class') as note,
                (select count(*) from pg_trigger t
                  where t.tgname like ${`${ACCELERATOR_TABLE}!_%`} escape '!' and not t.tgisinternal
                    and t.tgrelid in (select c2.oid from pg_class c2 where c2.relnamespace = c.relnamespace
                                        and c2.relname in ('msgs', 'msgrcpt', 'quarantine'))) as triggers
              from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = current_schema() and c.relname = ${ACCELERATOR_TABLE} and c.relkind = 'r'`,
        )
      : await connection.rows<{ note: string | null; triggers: unknown }>(
          sql`select table_comment as note,
                (select count(*) from information_schema.triggers
                  where trigger_schema = database() and trigger_name like ${`${ACCELERATOR_TABLE}!_%`} escape '!'
                    and event_object_table in ('msgs', 'msgrcpt', 'quarantine')) as triggers
              from information_schema.tables
              where table_schema = database() and table_name = ${ACCELERATOR_TABLE}`,
        );
  const row = rows[0];
  if (!row) return 'absent';
  const complete =
    row.note === COMPLETE && Number(row.triggers) === ACCELERATOR_TRIGGER_COUNT[connection.dialect];
  return complete ? 'complete' : 'building';
}

const STATE_TTL_MS = 30_000;
const cached = new WeakMap<Connection, { usable: Promise<boolean>; at: number }>();

/**
 * Whether the listing may use the accelerator, checked at most every 30 s per connection: a console that
 * is running when the accelerator gets installed picks it up within that time. Dropping it makes queries
 * on it fail; the listing then calls forgetAcceleratorState and falls back.
 */
export function acceleratorUsable(connection: Connection): Promise<boolean> {
  const now = Date.now();
  const entry = cached.get(connection);
  if (entry && now - entry.at < STATE_TTL_MS) return entry.usable;
  const usable = acceleratorState(connection).then(
    (state) => state === 'complete',
    () => false,
  );
  cached.set(connection, { usable, at: now });
  return usable;
}

export function forgetAcceleratorState(connection: Connection): void {
  cached.delete(connection);
}

// ---------------------------------------------------------------------------------------------------
// Install and drop

const BATCH_MESSAGES = 2000;
const INSERT_ROWS = 500;

interface CopiedRow {
  partition_tag: unknown;
  mail_id: unknown;
  rseqnum: unknown;
  time_num: unknown;
  domain: unknown;
  email: unknown;
  content: unknown;
}

/**
 * Copies the entries already in amavisd's tables, one batch of quarantined messages at a time (in
 * quarantine's key order). Plain reads: nothing amavisd writes waits for them. The triggers exist
 * before the first batch, so an entry written meanwhile is either in a later batch or added by them.
 */
async function backfill(connection: Connection): Promise<void> {
  // Batches never span partition tags, so every range is an equality and a mail_id interval.
  let partitionTag: number | null = null;
  for (;;) {
    const [next]: { tag: unknown }[] = await connection.rows<{ tag: unknown }>(
      sql`select min(partition_tag) as tag from quarantine
          where chunk_ind = 1 ${partitionTag === null ? sql`` : sql`and partition_tag > ${partitionTag}`}`,
    );
    if (next?.tag === null || next?.tag === undefined) return;
    partitionTag = Number(next.tag);
    let last: Buffer | null = null;
    for (;;) {
      const keys = await connection.rows<{ mail_id: unknown }>(
        sql`select mail_id from quarantine where partition_tag = ${partitionTag} and chunk_ind = 1
            ${last ? sql`and mail_id > ${last}` : sql``} order by mail_id limit ${BATCH_MESSAGES}`,
      );
      const end = keys.at(-1);
      if (!end) break;
      const to = toBuffer(end.mail_id);
      await copyBatch(connection, partitionTag, last, to);
      last = to;
      if (keys.length < BATCH_MESSAGES) break;
    }
  }
}

async function copyBatch(
  connection: Connection,
  partitionTag: number,
  from: Buffer | null,
  to: Buffer,
): Promise<void> {
  const { dialect } = connection;
  const range = sql`r.partition_tag = ${partitionTag} ${from ? sql`and r.mail_id > ${from}` : sql``}
    and r.mail_id <= ${to}`;
  const select = sql`select r.partition_tag, r.mail_id, r.rseqnum, m.time_num, a.domain, a.email, r.content
          from msgrcpt r
          join msgs m on m.partition_tag = r.partition_tag and m.mail_id = r.mail_id
          join maddr a on a.id = r.rid
          where ${range}
            and exists (select 1 from quarantine q where q.partition_tag = r.partition_tag
                          and q.mail_id = r.mail_id and q.chunk_ind = 1)`;
  const table = sql.raw(`${ACCELERATOR_TABLE} (${COLUMNS})`);
  if (dialect === 'pg') {
    // PostgreSQL's INSERT … SELECT locks nothing it reads. Never overwrite: a trigger may have written
    // a fresher row since this batch's snapshot.
    await connection.db.execute(sql`insert into ${table} ${select} on conflict do nothing`);
  } else {
    // InnoDB's INSERT … SELECT would lock the rows it reads; a plain SELECT does not.
    const rows = await connection.rows<CopiedRow>(select);
    for (let at = 0; at < rows.length; at += INSERT_ROWS) {
      const values = sql.join(
        rows.slice(at, at + INSERT_ROWS).map(
          (row) =>
            sql`(${Number(row.partition_tag)}, ${toBuffer(row.mail_id)}, ${Number(row.rseqnum)},
                   ${Number(row.time_num)}, ${String(row.domain)}, ${toBuffer(row.email)}, ${String(row.content ?? ' ')})`,
        ),
        sql`, `,
      );
      await connection.db.execute(
        sql`insert into ${table} values ${values} on duplicate key update partition_tag = partition_tag`,
      );
    }
  }
}

async function execute(connection: Connection, statements: readonly string[]): Promise<void> {
  for (const statement of statements) await connection.db.execute(sql.raw(statement));
}

/**
 * Removes or recreates only the triggers, leaving the table: for measuring what the triggers cost amavisd
 * (npm run bench, case amavisd-inserts). Without its triggers the side table falls behind, the state is no
 * longer complete and the listing stops using it until they are back.
 */
export async function setAcceleratorTriggers(connection: Connection, present: boolean): Promise<void> {
  const { dialect } = connection;
  const drop = dropStatements(dialect).filter((statement) => !statement.startsWith('DROP TABLE'));
  if (dialect === 'mysql') {
    await execute(connection, [...drop, ...(present ? triggerStatements(dialect, '') : [])]);
  } else {
    const [row] = await connection.rows<{ schema: string }>(sql`select current_schema() as schema`);
    const create = present ? triggerStatements(dialect, row?.schema ?? 'public') : [];
    await connection.db.transaction(async (tx) => {
      for (const statement of [...drop, ...create]) await tx.execute(sql.raw(statement));
    });
  }
  forgetAcceleratorState(connection);
}

/** Removes the triggers and the table (PostgreSQL: in one transaction, so nothing sees half of it). */
export async function dropAccelerator(connection: Connection): Promise<boolean> {
  forgetAcceleratorState(connection);
  if ((await acceleratorState(connection)) === 'absent') return false;
  const statements = dropStatements(connection.dialect);
  if (connection.dialect === 'pg') {
    await connection.db.transaction(async (tx) => {
      for (const statement of statements) await tx.execute(sql.raw(statement));
    });
  } else {
    await execute(connection, statements);
  }
  forgetAcceleratorState(connection);
  return true;
}

/**
 * Installs the accelerator unless it is complete already (an interrupted installation is started
 * over). Returns whether it did anything.
 */
export async function installAccelerator(connection: Connection): Promise<boolean> {
  const { dialect } = connection;
  forgetAcceleratorState(connection);
  const state = await acceleratorState(connection);
  if (state === 'complete') return false;
  if (state === 'building') await dropAccelerator(connection);
  await execute(connection, tableStatements(dialect));
  if (dialect === 'pg') {
    const [row] = await connection.rows<{ schema: string }>(sql`select current_schema() as schema`);
    // One transaction: amavisd's inserts wait for it only while the triggers are created.
    await connection.db.transaction(async (tx) => {
      for (const statement of triggerStatements(dialect, row?.schema ?? 'public'))
        await tx.execute(sql.raw(statement));
    });
  } else {
    await execute(connection, triggerStatements(dialect, ''));
  }
  await backfill(connection);
  await connection.db.execute(
    sql.raw(dialect === 'mysql' ? `ANALYZE TABLE ${ACCELERATOR_TABLE}` : `ANALYZE ${ACCELERATOR_TABLE}`),
  );
  await connection.db.execute(sql.raw(completeStatement(dialect)));
  forgetAcceleratorState(connection);
  return true;
}
