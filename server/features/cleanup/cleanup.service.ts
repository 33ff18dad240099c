// Cleanup, the successor of modoboa-amavis's qcleanup. Removes, in this order:
//   marked    messages whose every recipient is rs 'D' (or 'R' with releasedMsgsCleanup),
//   aged      quarantined messages older than maxMessagesAge, and log-only messages (a msgs row without
//             any quarantine chunk: amavisd logs every message) older than their own retention,
//   orphans   msgrcpt and quarantine rows whose msgs row is gone (amavisd's README asks tools to),
//   addresses maddr rows no msgs.sid or msgrcpt.rid references,
// then expires release requests whose message is gone or too old, and sender-list entries past their expiry.
//
// Each walk reads a batch of candidate keys with a plain read (no locks), then deletes them in one small
// transaction, children first: modoboa's MariaDB installer adds msgrcpt.mail_id and quarantine.mail_id ->
// msgs(mail_id) ON DELETE CASCADE and msgs.sid / msgrcpt.rid -> maddr(id) ON DELETE RESTRICT, so msgs goes
// after its children and maddr last, and only rows nothing references. Walks carry a keyset cursor, so rows
// a walk keeps are never read twice; a run that stops part-way leaves nothing half-done that the next run
// would not pick up again, because each batch selects its candidates afresh.
//
// A dry run reads the same candidates in the same order and counts instead of deleting. Addresses and
// release requests depend on what the earlier steps delete, so for them the dry run asks whether the
// referencing messages are doomed (the same conditions in SQL) instead of whether they exist.
//
// partition_tag is part of every key used here. Whole partitions are never dropped: tables the database
// partitions natively are reported in the summary, and their rows are deleted like any others.
import { and, asc, eq, gt, inArray, lt, or, type SQL, sql } from 'drizzle-orm';
import { alias, type PgColumn, type PgTable } from 'drizzle-orm/pg-core';
import { ANONYMOUS } from '../../access/actor.ts';
import { recordAudit } from '../../audit/audit-log.ts';
import { keyToBinary } from '../../db/binary.ts';
import { changedRows, type SqlDb } from '../../db/database.ts';
import type { AmavisStore, Stores } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';
import { expireReleaseRequests } from '../release/release.service.ts';
import { countExpiredSenderEntries, expireSenderEntries } from '../sender-lists/sender-lists.service.ts';
import { getSettings, type Settings } from '../settings/settings.service.ts';

export const CLEANUP_STEPS = [
  'marked',
  'aged',
  'orphans',
  'addresses',
  'releaseRequests',
  'senderLists',
  'audit',
] as const;
export type CleanupStep = (typeof CLEANUP_STEPS)[number];

export const DEFAULT_BATCH_SIZE = 1000;
export const MAX_BATCH_SIZE = 20_000;
const ATTEMPTS = 3;
const DAY = 86_400;

export interface CleanupOptions {
  now?: Date;
  /** Count what would go, change nothing (not even the audit log). */
  dryRun?: boolean;
  /** Messages (or orphan keys, or addresses) per transaction. */
  batchSize?: number;
  /** How long log-only messages are kept; maxMessagesAge by default. */
  logRetentionDays?: number;
  onProgress?: (progress: CleanupProgress) => void;
  /** Stops between batches; the summary then says interrupted, and a later run carries on. */
  signal?: AbortSignal;
}

export interface TableCounts {
  msgs: number;
  msgrcpt: number;
  quarantine: number;
  maddr: number;
}

export interface MessageCounts {
  messages: number;
  msgrcpt: number;
  quarantine: number;
}

export interface CleanupProgress {
  step: CleanupStep;
  dryRun: boolean;
  /** Batches done so far in this run, all steps together. */
  batch: number;
  /** Rows removed (in a dry run: that would be) so far in this run. */
  tables: TableCounts;
  elapsedMs: number;
}

export interface CleanupFailure {
  step: CleanupStep;
  message: string;
}

export interface CleanupSummary {
  dryRun: boolean;
  /** Every step ran to its end without a failure. */
  complete: boolean;
  /** The signal stopped the run between two batches. */
  interrupted: boolean;
  startedAt: string;
  durationMs: number;
  cutoffs: {
    maxMessagesAge: number;
    logRetentionDays: number;
    /** Quarantined messages received before this go. */
    quarantinedBefore: string;
    /** Log-only messages received before this go. */
    logOnlyBefore: string;
    /** rs codes that mark a recipient done with: 'D', and 'R' with releasedMsgsCleanup. */
    markedStatuses: string[];
  };
  categories: {
    marked: MessageCounts;
    expired: MessageCounts;
    logOnly: MessageCounts;
    orphans: { msgrcpt: number; quarantine: number };
    addresses: { maddr: number };
  };
  /** Totals per amavis table. */
  tables: TableCounts;
  /** Messages removed per partition_tag. */
  messagesByPartition: Record<string, number>;
  releaseRequestsExpired: number;
  /** Sender allow/block entries whose expiry passed (features/sender-lists). */
  senderEntriesExpired: number;
  batchSize: number;
  batches: number;
  /** The longest delete transaction (dry run: count), the time amavisd could wait on our locks. */
  slowestBatchMs: number;
  schema: {
    /** amavis tables the database partitions natively (reported only; rows are deleted one by one). */
    nativePartitions: string[];
    /** Foreign keys on the amavis tables: "msgrcpt FOREIGN KEY (mail_id) REFERENCES msgs(mail_id) …". */
    foreignKeys: string[];
  };
  failures: CleanupFailure[];
}

interface MessageKey {
  partitionTag: number;
  mailId: string;
}

interface Run {
  store: AmavisStore;
  db: SqlDb;
  dialect: AmavisStore['connection']['dialect'];
  dryRun: boolean;
  batchSize: number;
  flags: string[];
  quarantinedBefore: number;
  logOnlyBefore: number;
  /** Dry run: the messages the first step counted, which the real run would have deleted by the second. */
  marked: Set<string>;
  /** Whether msgs has foreign keys pointing at it (see removeMessages). */
  msgsReferenced: boolean;
  mariadb: boolean;
  /** Tables with a foreign key to msgs: the database keeps them free of orphans. */
  keyedChildren: Set<string>;
  signal: AbortSignal | undefined;
  onProgress: ((progress: CleanupProgress) => void) | undefined;
  started: number;
  summary: CleanupSummary;
}

/** The driver's words first; drizzle's own message is the whole statement, so only its start. */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const first = error.message.split('\n')[0] ?? '';
  if (!(error.cause instanceof Error)) return first;
  return `${error.cause.message} (${first.length > 200 ? `${first.slice(0, 200)}…` : first})`;
}

function zeroMessages(): MessageCounts {
  return { messages: 0, msgrcpt: 0, quarantine: 0 };
}

function checkWhole(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InputError(`${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Runs the cleanup once. Bad options throw InputError; anything a batch hits is reported, per step. */
export async function runCleanup(stores: Stores, options: CleanupOptions = {}): Promise<CleanupSummary> {
  const batchSize = checkWhole(options.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize', 1, MAX_BATCH_SIZE);
  let settings: Settings;
  let schema: SchemaFacts;
  try {
    settings = await getSettings(stores.console);
    schema = await describeSchema(stores.amavis);
  } catch (error) {
    throw new Error(`cleanup could not start (reading the settings and the schema): ${messageOf(error)}`, {
      cause: error,
    });
  }
  const logRetentionDays = checkWhole(
    options.logRetentionDays ?? settings.maxMessagesAge,
    'logRetentionDays',
    1,
    3650,
  );
  const now = options.now ?? new Date();
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const quarantinedBefore = nowSeconds - settings.maxMessagesAge * DAY;
  const logOnlyBefore = nowSeconds - logRetentionDays * DAY;
  const flags = settings.releasedMsgsCleanup ? ['D', 'R'] : ['D'];
  const dryRun = options.dryRun ?? false;
  const store = stores.amavis;
  const run: Run = {
    store,
    db: store.connection.db,
    dialect: store.connection.dialect,
    dryRun,
    batchSize,
    flags,
    quarantinedBefore,
    logOnlyBefore,
    marked: new Set(),
    msgsReferenced: schema.foreignKeys.some((fk) => fk.target === 'msgs'),
    mariadb: schema.mariadb,
    keyedChildren: new Set(schema.foreignKeys.filter((fk) => fk.target === 'msgs').map((fk) => fk.table)),
    signal: options.signal,
    onProgress: options.onProgress,
    started: performance.now(),
    summary: {
      dryRun,
      complete: false,
      interrupted: false,
      startedAt: now.toISOString(),
      durationMs: 0,
      cutoffs: {
        maxMessagesAge: settings.maxMessagesAge,
        logRetentionDays,
        quarantinedBefore: new Date(quarantinedBefore * 1000).toISOString(),
        logOnlyBefore: new Date(logOnlyBefore * 1000).toISOString(),
        markedStatuses: flags,
      },
      categories: {
        marked: zeroMessages(),
        expired: zeroMessages(),
        logOnly: zeroMessages(),
        orphans: { msgrcpt: 0, quarantine: 0 },
        addresses: { maddr: 0 },
      },
      tables: { msgs: 0, msgrcpt: 0, quarantine: 0, maddr: 0 },
      messagesByPartition: {},
      releaseRequestsExpired: 0,
      senderEntriesExpired: 0,
      batchSize,
      batches: 0,
      slowestBatchMs: 0,
      schema: {
        nativePartitions: schema.nativePartitions,
        foreignKeys: schema.foreignKeys.map((fk) => `${fk.table} ${fk.definition}`),
      },
      failures: [],
    },
  };

  await step(run, 'marked', () => removeMarked(run));
  await step(run, 'aged', () => removeAged(run));
  await step(run, 'orphans', () => removeOrphans(run));
  await step(run, 'addresses', () => removeAddresses(run));
  await step(run, 'releaseRequests', async () => {
    const before = new Date(now.getTime() - settings.maxMessagesAge * DAY * 1000);
    run.summary.releaseRequestsExpired = await attempt(run, () =>
      dryRun ? countExpiringRequests(run, stores, before) : expireReleaseRequests(stores, before),
    );
  });
  await step(run, 'senderLists', async () => {
    run.summary.senderEntriesExpired = await attempt(run, async () =>
      dryRun ? countExpiredSenderEntries(stores, now) : (await expireSenderEntries(stores, now)).removed,
    );
  });

  const { summary } = run;
  summary.interrupted = options.signal?.aborted ?? false;
  summary.complete = !summary.interrupted && summary.failures.length === 0;
  summary.durationMs = Math.round(performance.now() - run.started);
  if (!dryRun) {
    try {
      await recordAudit(stores.console, {
        actor: ANONYMOUS,
        claimedActor: 'cleanup job',
        action: 'cleanup.run',
        outcome: summary.complete || summary.interrupted ? 'success' : 'failure',
        target: summary.interrupted ? 'amavis tables (interrupted)' : 'amavis tables',
        detail: {
          categories: summary.categories,
          tables: summary.tables,
          releaseRequestsExpired: summary.releaseRequestsExpired,
          senderEntriesExpired: summary.senderEntriesExpired,
          cutoffs: summary.cutoffs,
          durationMs: summary.durationMs,
          batches: summary.batches,
          failures: summary.failures,
        },
      });
    } catch (error) {
      summary.failures.push({ step: 'audit', message: messageOf(error) });
      summary.complete = false;
    }
  }
  return summary;
}

async function step(run: Run, name: CleanupStep, body: () => Promise<void>): Promise<void> {
  if (run.signal?.aborted) return;
  try {
    await body();
  } catch (error) {
    run.summary.failures.push({ step: name, message: messageOf(error) });
  }
}

/** Retries a batch a few times (deadlocks, lock timeouts, a reference that appeared meanwhile). */
async function attempt<T>(run: Run, work: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await work();
    } catch (error) {
      if (tries >= ATTEMPTS || run.signal?.aborted) {
        throw new Error(`gave up after ${tries} attempt(s): ${messageOf(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * tries));
    }
  }
}

/** Runs one write (or dry-run count) batch, timed, counts what it did, and reports progress. */
async function batch<T>(
  run: Run,
  name: CleanupStep,
  work: () => Promise<T>,
  count: (result: T) => void,
): Promise<void> {
  const started = performance.now();
  const result = await attempt(run, work);
  count(result);
  const summary = run.summary;
  summary.batches += 1;
  summary.slowestBatchMs = Math.max(summary.slowestBatchMs, Math.round(performance.now() - started));
  run.onProgress?.({
    step: name,
    dryRun: run.dryRun,
    batch: summary.batches,
    tables: { ...summary.tables },
    elapsedMs: Math.round(performance.now() - run.started),
  });
}

function tally(
  run: Run,
  category: MessageCounts,
  { keys, counts }: { keys: readonly MessageKey[]; counts: MessageCounts },
): void {
  const { tables, messagesByPartition } = run.summary;
  category.messages += counts.messages;
  category.msgrcpt += counts.msgrcpt;
  category.quarantine += counts.quarantine;
  tables.msgs += counts.messages;
  tables.msgrcpt += counts.msgrcpt;
  tables.quarantine += counts.quarantine;
  // In a real run `keys` are the messages actually deleted (see removeMessages).
  for (const key of keys) {
    messagesByPartition[key.partitionTag] = (messagesByPartition[key.partitionTag] ?? 0) + 1;
  }
}

// ---------------------------------------------------------------------------------------------------
// SQL pieces

type Keyed = { partitionTag: PgColumn; mailId: PgColumn };

function byPartition(keys: readonly MessageKey[]): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const key of keys) {
    const ids = groups.get(key.partitionTag) ?? [];
    ids.push(key.mailId);
    groups.set(key.partitionTag, ids);
  }
  return groups;
}

/** The rows of these messages; grouped by partition_tag so each group uses the primary key. */
function keysIn(table: Keyed, keys: readonly MessageKey[]): SQL {
  const parts = [...byPartition(keys)].map(
    ([tag, ids]) => and(eq(table.partitionTag, tag), inArray(table.mailId, ids)) as SQL,
  );
  return parts.length === 1 ? (parts[0] as SQL) : (or(...parts) as SQL);
}

/** A table under another name for a correlated subquery: its columns, and the FROM item naming it. */
function sub<T extends PgTable, N extends string>(table: T, name: N) {
  return { c: alias(table, name), from: sql`${table} ${sql.identifier(name)}` };
}

function sameMessage(a: Keyed, b: Keyed): SQL {
  return sql`${a.partitionTag} = ${b.partitionTag} and ${a.mailId} = ${b.mailId}`;
}

/** Our own one-letter rs codes; PostgreSQL gets them as literals so its plans see the values. */
function codeList(run: Run, codes: readonly string[]): SQL {
  return sql.join(
    codes.map((code) => (run.dialect === 'pg' ? sql.raw(`'${code.replaceAll("'", "''")}'`) : sql`${code}`)),
    sql`, `,
  );
}

/**
 * `column IN codes`, exactly. MariaDB's CHAR(1) columns usually compare case-insensitively; the plain IN
 * keeps an index on rs usable, the binary one makes it exact.
 */
function codeIn(run: Run, column: PgColumn, codes: readonly string[]): SQL {
  const list = codeList(run, codes);
  if (run.dialect === 'pg') return sql`${column} in (${list})`;
  return sql`(${column} in (${list}) and cast(${column} as binary) in (${list}))`;
}

function codeNotIn(run: Run, column: PgColumn, codes: readonly string[]): SQL {
  const list = codeList(run, codes);
  return run.dialect === 'pg'
    ? sql`${column} not in (${list})`
    : sql`cast(${column} as binary) not in (${list})`;
}

/** Keyset continuation after (partition_tag, mail_id); the leading bound lets MariaDB range-scan. */
function afterKey(table: Keyed, cursor: MessageKey | null): SQL | undefined {
  if (!cursor) return undefined;
  const id = keyToBinary(cursor.mailId);
  return sql`${table.partitionTag} >= ${cursor.partitionTag} and (${table.partitionTag} > ${cursor.partitionTag} or (${table.partitionTag} = ${cursor.partitionTag} and ${table.mailId} > ${id}))`;
}

/** Every recipient is done with the message: at least one, and all of them in `flags`. */
function markedCondition(run: Run, m: Keyed): SQL {
  const { msgrcptTable } = run.store.t;
  const done = sub(msgrcptTable, 'cd');
  const open = sub(msgrcptTable, 'co');
  return sql`(exists (select 1 from ${done.from} where ${sameMessage(done.c, m)} and ${codeIn(run, done.c.rs, run.flags)})
    and not exists (select 1 from ${open.from} where ${sameMessage(open.c, m)} and ${codeNotIn(run, open.c.rs, run.flags)}))`;
}

function quarantinedCondition(run: Run, m: Keyed): SQL {
  const q = sub(run.store.t.quarantineTable, 'cq');
  return sql`exists (select 1 from ${q.from} where ${sameMessage(q.c, m)})`;
}

/** What this run deletes of a msgs row `m`, as SQL: the dry run's stand-in for "deleted by now". */
function doomedCondition(run: Run, m: Keyed & { timeNum: PgColumn }): SQL {
  const quarantined = quarantinedCondition(run, m);
  return sql`(${markedCondition(run, m)}
    or (${m.timeNum} < ${run.quarantinedBefore} and ${quarantined})
    or (${m.timeNum} < ${run.logOnlyBefore} and not ${quarantined}))`;
}

// ---------------------------------------------------------------------------------------------------
// Messages

/**
 * Deletes (or counts) whole messages, children first, in one transaction. With `recheck`, the recipients
 * are locked and only messages still marked are deleted, so an rs the console changed after the walk
 * read it wins. Returns the messages removed and the row counts.
 */
async function removeMessages(
  run: Run,
  keys: readonly MessageKey[],
  recheck: boolean,
): Promise<{ keys: MessageKey[]; counts: MessageCounts }> {
  const { msgsTable: m, msgrcptTable: r, quarantineTable: q } = run.store.t;
  if (run.dryRun) {
    const count = async (table: Keyed & (typeof r | typeof q)) => {
      const [row] = await run.db.select({ n: sql<number>`count(*)` }).from(table).where(keysIn(table, keys));
      return Number(row?.n ?? 0);
    };
    return {
      keys: [...keys],
      counts: { messages: keys.length, msgrcpt: await count(r), quarantine: await count(q) },
    };
  }
  return run.db.transaction(async (tx) => {
    let targets = [...keys];
    if (recheck) {
      const rows = await tx
        .select({ partitionTag: r.partitionTag, mailId: r.mailId, rs: r.rs })
        .from(r)
        .where(keysIn(r, keys))
        .for('update');
      const open = new Set<string>();
      const seen = new Set<string>();
      for (const row of rows) {
        const key = `${row.partitionTag}:${row.mailId}`;
        seen.add(key);
        if (!run.flags.includes(row.rs)) open.add(key);
      }
      targets = targets.filter((k) => {
        const key = `${k.partitionTag}:${k.mailId}`;
        return seen.has(key) && !open.has(key);
      });
      if (targets.length === 0) return { keys: [], counts: zeroMessages() };
    }
    const msgrcpt = changedRows(await tx.delete(r).where(keysIn(r, targets)));
    const quarantine = changedRows(await tx.delete(q).where(keysIn(q, targets)));
    // The installer's foreign keys reference msgs(mail_id) alone, and InnoDB cascades a delete to every
    // child with that mail_id, another partition's message's too. The children are gone already, so the
    // statement turns the checks off instead of cascading.
    const deleteMessages = sql`delete from ${m} where ${keysIn(m, targets)}`;
    let messages: number;
    if (run.dialect !== 'mysql' || !run.msgsReferenced) {
      messages = changedRows(await tx.delete(m).where(keysIn(m, targets)));
    } else if (run.mariadb) {
      messages = changedRows(
        await tx.execute(sql`set statement foreign_key_checks = 0 for ${deleteMessages}`),
      );
    } else {
      // MySQL has no SET STATEMENT; the session setting goes back before the connection does
      await tx.execute(sql`set foreign_key_checks = 0`);
      try {
        messages = changedRows(await tx.execute(deleteMessages));
      } finally {
        await tx.execute(sql`set foreign_key_checks = 1`);
      }
    }
    return { keys: targets, counts: { messages, msgrcpt, quarantine } };
  });
}

async function removeMarked(run: Run): Promise<void> {
  const { msgsTable, msgrcptTable } = run.store.t;
  const r = alias(msgrcptTable, 'r');
  const open = sub(msgrcptTable, 'ro');
  const m = sub(msgsTable, 'rm');
  let cursor: MessageKey | null = null;
  for (;;) {
    if (run.signal?.aborted) return;
    const after = cursor;
    // Driven by msgrcpt: deleted recipients are few, and modoboa's installer indexes rs.
    const keys: MessageKey[] = await attempt(run, () =>
      run.db
        .select({ partitionTag: r.partitionTag, mailId: r.mailId })
        .from(r)
        .where(
          and(
            codeIn(run, r.rs, run.flags),
            afterKey(r, after),
            sql`exists (select 1 from ${m.from} where ${sameMessage(m.c, r)})`,
            sql`not exists (select 1 from ${open.from} where ${sameMessage(open.c, r)} and ${codeNotIn(run, open.c.rs, run.flags)})`,
          ),
        )
        .groupBy(r.partitionTag, r.mailId)
        .orderBy(asc(r.partitionTag), asc(r.mailId))
        .limit(run.batchSize),
    );
    if (keys.length === 0) return;
    cursor = keys[keys.length - 1] as MessageKey;
    await batch(
      run,
      'marked',
      () => removeMessages(run, keys, true),
      (removed) => {
        tally(run, run.summary.categories.marked, removed);
        if (run.dryRun) for (const key of removed.keys) run.marked.add(`${key.partitionTag}:${key.mailId}`);
      },
    );
    if (keys.length < run.batchSize) return;
  }
}

interface AgedRow extends MessageKey {
  timeNum: number;
  quarantined: boolean;
}

async function removeAged(run: Run): Promise<void> {
  const m = run.store.t.msgsTable;
  const until = Math.max(run.quarantinedBefore, run.logOnlyBefore);
  let cursor: AgedRow | null = null;
  for (;;) {
    if (run.signal?.aborted) return;
    const after: AgedRow | null = cursor;
    const rows: AgedRow[] = await attempt(run, () =>
      run.db
        .select({
          partitionTag: m.partitionTag,
          mailId: m.mailId,
          timeNum: m.timeNum,
          quarantined: quarantinedCondition(run, m).mapWith((v: unknown) => v === true || Number(v) === 1),
        })
        .from(m)
        .where(
          and(
            lt(m.timeNum, until),
            after
              ? sql`${m.timeNum} >= ${after.timeNum} and (${m.timeNum} > ${after.timeNum} or (${m.timeNum} = ${after.timeNum} and ${afterKey(m, after)}))`
              : undefined,
          ),
        )
        .orderBy(asc(m.timeNum), asc(m.partitionTag), asc(m.mailId))
        .limit(run.batchSize),
    );
    if (rows.length === 0) return;
    cursor = rows[rows.length - 1] as AgedRow;
    // a real run deleted the marked ones in the first step
    const candidates = rows.filter((row) => !run.marked.has(`${row.partitionTag}:${row.mailId}`));
    const expired = candidates.filter((row) => row.quarantined && row.timeNum < run.quarantinedBefore);
    const logOnly = candidates.filter((row) => !row.quarantined && row.timeNum < run.logOnlyBefore);
    if (expired.length > 0) {
      await batch(
        run,
        'aged',
        () => removeMessages(run, expired, false),
        (removed) => tally(run, run.summary.categories.expired, removed),
      );
    }
    if (logOnly.length > 0 && !run.signal?.aborted) {
      await batch(
        run,
        'aged',
        () => removeMessages(run, logOnly, false),
        (removed) => tally(run, run.summary.categories.logOnly, removed),
      );
    }
    if (rows.length < run.batchSize) return;
  }
}

// ---------------------------------------------------------------------------------------------------
// Orphans and addresses

async function removeOrphans(run: Run): Promise<void> {
  const { msgsTable, msgrcptTable, quarantineTable } = run.store.t;
  for (const [name, table] of [
    ['msgrcpt', msgrcptTable],
    ['quarantine', quarantineTable],
  ] as const) {
    // Scanning for orphans reads the whole table (on MariaDB all of quarantine's mail text), for nothing.
    if (run.keyedChildren.has(name)) continue;
    const x = alias(table, 'x');
    const m = sub(msgsTable, 'om');
    let cursor: MessageKey | null = null;
    for (;;) {
      if (run.signal?.aborted) return;
      const after = cursor;
      const keys: MessageKey[] = await attempt(run, () =>
        run.db
          .select({ partitionTag: x.partitionTag, mailId: x.mailId })
          .from(x)
          .where(
            and(afterKey(x, after), sql`not exists (select 1 from ${m.from} where ${sameMessage(m.c, x)})`),
          )
          .groupBy(x.partitionTag, x.mailId)
          .orderBy(asc(x.partitionTag), asc(x.mailId))
          .limit(run.batchSize),
      );
      if (keys.length === 0) break;
      cursor = keys[keys.length - 1] as MessageKey;
      await batch(
        run,
        'orphans',
        async () => {
          if (run.dryRun) {
            const [row] = await run.db
              .select({ n: sql<number>`count(*)` })
              .from(table)
              .where(keysIn(table, keys));
            return Number(row?.n ?? 0);
          }
          // Re-checked in the statement: a msgs row that appeared since the read keeps its children.
          return changedRows(
            await run.db
              .delete(table)
              .where(
                and(
                  keysIn(table, keys),
                  sql`not exists (select 1 from ${m.from} where ${sameMessage(m.c, table)})`,
                ),
              ),
          );
        },
        (rows) => {
          run.summary.categories.orphans[name] += rows;
          run.summary.tables[name] += rows;
        },
      );
      if (keys.length < run.batchSize) break;
    }
  }
}

/**
 * Deletes maddr rows that no msgs.sid and no msgrcpt.rid references, in id order.
 *
 * The race: amavisd looks an address up in maddr (inserting it when missing) and only later inserts the
 * msgs or msgrcpt row that references it. The NOT EXISTS re-check inside the DELETE closes the gap
 * between our read and our delete, but not amavisd's own gap between its lookup and its insert:
 * - its insert is in flight: with the installer's RESTRICT keys (MariaDB) the insert holds a lock on the
 *   maddr row, our delete waits for it, then fails on the key; the batch is retried with fresh candidates.
 * - its lookup came before our delete and its insert after: with the keys, amavisd's insert fails and
 *   amavisd retries its SQL storage, looking the address up again (a new maddr row). Without keys
 *   (README.sql-pg) the new row keeps a sid or rid with no maddr row behind it.
 * Both need a message from an address that had no other mail left, within milliseconds of our delete.
 */
async function removeAddresses(run: Run): Promise<void> {
  const { maddrTable } = run.store.t;
  const a = alias(maddrTable, 'a');
  let cursor = 0;
  for (;;) {
    if (run.signal?.aborted) return;
    const after = cursor;
    const query = run.db
      .select({ id: a.id })
      .from(a)
      .where(and(after > 0 ? gt(a.id, after) : undefined, unreferenced(run, a.id, run.dryRun)))
      .orderBy(asc(a.id))
      .limit(run.batchSize);
    // MariaDB materializes the anti-joins over all of msgs and msgrcpt for every batch (and, with the dry
    // run's conditions, evaluates them for every message: minutes at 1 M messages); probing the indexes on
    // sid and rid per address takes a fraction of that.
    const rows = await attempt(run, () =>
      run.mariadb
        ? run.store.connection.rows<{ id: unknown }>(
            sql`set statement optimizer_switch = 'materialization=off,semijoin=off,exists_to_in=off' for ${query.getSQL()}`,
          )
        : query,
    );
    const ids = rows.map((row) => Number(row.id));
    if (ids.length === 0) return;
    cursor = ids[ids.length - 1] as number;
    await batch(
      run,
      'addresses',
      async () =>
        run.dryRun
          ? ids.length
          : changedRows(
              await run.db
                .delete(maddrTable)
                .where(and(inArray(maddrTable.id, ids), unreferenced(run, maddrTable.id, false))),
            ),
      (removed) => {
        run.summary.categories.addresses.maddr += removed;
        run.summary.tables.maddr += removed;
      },
    );
    if (ids.length < run.batchSize) return;
  }
}

/** No message references the address; in a dry run, none that this run would keep. */
function unreferenced(run: Run, id: PgColumn, dryRun: boolean): SQL {
  const { msgsTable, msgrcptTable } = run.store.t;
  const s = sub(msgsTable, 'us');
  const r = sub(msgrcptTable, 'ur');
  if (!dryRun) {
    return sql`not exists (select 1 from ${s.from} where ${s.c.sid} = ${id})
      and not exists (select 1 from ${r.from} where ${r.c.rid} = ${id})`;
  }
  const rm = sub(msgsTable, 'urm');
  return sql`not exists (select 1 from ${s.from} where ${s.c.sid} = ${id} and not ${doomedCondition(run, s.c)})
    and not exists (select 1 from ${r.from} join ${rm.from} on ${sameMessage(rm.c, r.c)}
      where ${r.c.rid} = ${id} and not ${doomedCondition(run, rm.c)})`;
}

// ---------------------------------------------------------------------------------------------------
// Release requests (dry run) and the schema report

/** What expireReleaseRequests would expire once this run's deletions are done. */
async function countExpiringRequests(run: Run, stores: Stores, before: Date): Promise<number> {
  const table = stores.console.t.releaseRequestsTable;
  const pending = await stores.console.connection.db
    .select({ partitionTag: table.partitionTag, mailId: table.mailId, createdAt: table.createdAt })
    .from(table)
    .where(eq(table.status, 'pending'));
  const m = run.store.t.msgsTable;
  const kept = new Set<string>();
  for (let i = 0; i < pending.length; i += 500) {
    const chunk = pending.slice(i, i + 500);
    const rows = await run.db
      .select({
        partitionTag: m.partitionTag,
        mailId: m.mailId,
        doomed: doomedCondition(run, m).mapWith((v: unknown) => v === true || Number(v) === 1),
      })
      .from(m)
      .where(keysIn(m, chunk));
    for (const row of rows) if (!row.doomed) kept.add(`${row.partitionTag}:${row.mailId}`);
  }
  return pending.filter((p) => p.createdAt < before || !kept.has(`${p.partitionTag}:${p.mailId}`)).length;
}

const AMAVIS_STORAGE_TABLES = ['maddr', 'msgs', 'msgrcpt', 'quarantine'];

interface SchemaFacts {
  /** MariaDB rather than MySQL: SET STATEMENT works. */
  mariadb: boolean;
  nativePartitions: string[];
  foreignKeys: { table: string; definition: string; target: string }[];
}

async function describeSchema(store: AmavisStore): Promise<SchemaFacts> {
  const { connection } = store;
  const names = sql.join(
    AMAVIS_STORAGE_TABLES.map((name) => sql`${name}`),
    sql`, `,
  );
  if (connection.dialect === 'pg') {
    const partitioned = await connection.rows<{ name: string }>(sql`
      select c.relname as name from pg_class c
      where c.relnamespace = current_schema()::regnamespace and c.relname in (${names})
        and (c.relkind = 'p' or exists (select 1 from pg_inherits i where i.inhparent = c.oid))
      order by c.relname`);
    const keys = await connection.rows<{ table: string; definition: string; target: string }>(sql`
      select c.relname as "table", pg_get_constraintdef(k.oid) as definition, t.relname as target
      from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_class t on t.oid = k.confrelid
      where k.contype = 'f' and c.relnamespace = current_schema()::regnamespace and c.relname in (${names})
      order by c.relname, k.conname`);
    return { mariadb: false, nativePartitions: partitioned.map((row) => row.name), foreignKeys: keys };
  }
  const partitioned = await connection.rows<{ name: string }>(sql`
    select distinct table_name as name from information_schema.partitions
    where table_schema = database() and partition_name is not null and table_name in (${names})
    order by table_name`);
  const keys = await connection.rows<{
    table: string;
    columns: string;
    target: string;
    targetColumns: string;
    rule: string;
  }>(sql`
    select k.table_name as \`table\`, group_concat(k.column_name order by k.ordinal_position) as columns,
      k.referenced_table_name as target,
      group_concat(k.referenced_column_name order by k.ordinal_position) as targetColumns,
      c.delete_rule as rule
    from information_schema.key_column_usage k
    join information_schema.referential_constraints c
      on c.constraint_schema = k.constraint_schema and c.constraint_name = k.constraint_name
        and c.table_name = k.table_name
    where k.table_schema = database() and k.referenced_table_name is not null and k.table_name in (${names})
    group by k.table_name, k.constraint_name, k.referenced_table_name, c.delete_rule
    order by k.table_name, k.constraint_name`);
  const [version] = await connection.rows<{ version: string }>(sql`select version() as version`);
  return {
    mariadb: /mariadb/i.test(version?.version ?? ''),
    nativePartitions: partitioned.map((row) => row.name),
    foreignKeys: keys.map((row) => ({
      table: row.table,
      target: row.target,
      definition: `FOREIGN KEY (${row.columns}) REFERENCES ${row.target}(${row.targetColumns}) ON DELETE ${row.rule}`,
    })),
  };
}
