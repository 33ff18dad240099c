// The cleanup job on each database: a world of messages in every state, the rows of every amavis table
// counted before and after, and exactly the expected survivors, whatever the batch size, the retention
// options, an interruption, a dry run or the CLI.
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../server/config.ts';
import { executeStatements, openDatabase } from '../../server/db/database.ts';
import { openStores, type Stores } from '../../server/db/stores.ts';
import {
  type CleanupOptions,
  type CleanupProgress,
  type CleanupSummary,
  runCleanup,
} from '../../server/features/cleanup/cleanup.service.ts';
import { createLogger } from '../../server/log.ts';
import { addMessage, addressId } from './factories.ts';
import type { DatabaseUnderTest } from './quarantine-listing.shared.ts';
import { CLI, runToExit } from './run-console.ts';

const DAY = 86_400;

type Category = 'marked' | 'expired' | 'logOnly';

interface Variant {
  releasedMsgsCleanup: boolean;
  /** The logRetentionDays option; maxMessagesAge (14) when undefined. */
  logRetentionDays?: number;
}

interface WorldMessage {
  mailId: string;
  partitionTag?: number;
  ageDays: number;
  sender: string;
  recipients: { email: string; rs: string }[];
  /** Quarantine chunks; 0 for a log-only message. */
  chunks: number;
  /** msgs.content NULL: amavisd still (or forever) processing it. */
  processing?: boolean;
  /** With a pending release request for its first recipient. */
  requested?: boolean;
  fate: (variant: Variant) => Category | 'kept';
}

const quarantinedByAge = (ageDays: number) => () => (ageDays > 14 ? 'expired' : 'kept');
const logOnlyByAge = (ageDays: number) => (v: Variant) =>
  ageDays > (v.logRetentionDays ?? 14) ? 'logOnly' : 'kept';
const releasedGoes = (v: Variant) => (v.releasedMsgsCleanup ? 'marked' : 'kept');

export const WORLD: WorldMessage[] = [
  // quarantined, by age; several chunks; just inside and just past maxMessagesAge
  {
    mailId: 'QuarOld00001',
    ageDays: 20,
    sender: 'frank@x.test',
    recipients: [{ email: 'alice@x.test', rs: ' ' }],
    chunks: 3,
    fate: quarantinedByAge(20),
  },
  {
    mailId: 'QuarFresh001',
    ageDays: 2,
    sender: 'sender@ext.test',
    recipients: [
      { email: 'alice@x.test', rs: ' ' },
      { email: 'bob@x.test', rs: 'V' },
      { email: 'frank@x.test', rs: ' ' },
    ],
    chunks: 3,
    fate: quarantinedByAge(2),
  },
  {
    mailId: 'QuarEdgeIn01',
    ageDays: 13.5,
    sender: 'sender@ext.test',
    recipients: [{ email: 'alice@x.test', rs: 'V' }],
    chunks: 1,
    fate: quarantinedByAge(13.5),
  },
  {
    mailId: 'QuarEdgeOut1',
    ageDays: 14.5,
    sender: 'edge-sender@gone.test',
    recipients: [{ email: 'alice@x.test', rs: 'V' }],
    chunks: 1,
    fate: quarantinedByAge(14.5),
  },
  // recipient states
  {
    mailId: 'MixedDV00001',
    ageDays: 3,
    sender: 'sender@ext.test',
    recipients: [
      { email: 'alice@x.test', rs: 'D' },
      { email: 'carol@x.test', rs: ' ' },
    ],
    chunks: 1,
    fate: () => 'kept',
  },
  {
    mailId: 'AllD00000001',
    ageDays: 3,
    sender: 'marked-sender@gone.test',
    recipients: [
      { email: 'alice@x.test', rs: 'D' },
      { email: 'carol@x.test', rs: 'D' },
    ],
    chunks: 2,
    fate: () => 'marked',
  },
  {
    mailId: 'AllR00000001',
    ageDays: 3,
    sender: 'sender@ext.test',
    recipients: [
      { email: 'alice@x.test', rs: 'R' },
      { email: 'carol@x.test', rs: 'R' },
    ],
    chunks: 1,
    fate: releasedGoes,
  },
  {
    mailId: 'RandD0000001',
    ageDays: 3,
    sender: 'sender@ext.test',
    recipients: [
      { email: 'alice@x.test', rs: 'R' },
      { email: 'carol@x.test', rs: 'D' },
    ],
    chunks: 1,
    fate: releasedGoes,
  },
  {
    mailId: 'RandP0000001',
    ageDays: 3,
    sender: 'sender@ext.test',
    recipients: [
      { email: 'alice@x.test', rs: 'R' },
      { email: 'carol@x.test', rs: 'p' },
    ],
    chunks: 1,
    fate: () => 'kept',
  },
  {
    mailId: 'OldAllD00001',
    ageDays: 20,
    sender: 'sender@ext.test',
    recipients: [{ email: 'old-rcpt@gone.test', rs: 'D' }],
    chunks: 1,
    fate: () => 'marked',
  },
  // log-only (amavisd logs every message), and rows amavisd never finished
  {
    mailId: 'LogOld000001',
    ageDays: 20,
    sender: 'log-sender@gone.test',
    recipients: [{ email: 'dave@x.test', rs: ' ' }],
    chunks: 0,
    fate: logOnlyByAge(20),
  },
  {
    mailId: 'LogFresh0001',
    ageDays: 2,
    sender: 'bob@x.test',
    recipients: [{ email: 'dave@x.test', rs: ' ' }],
    chunks: 0,
    fate: logOnlyByAge(2),
  },
  {
    mailId: 'StuckOld0001',
    ageDays: 20,
    sender: 'stuck@gone.test',
    recipients: [],
    chunks: 0,
    processing: true,
    fate: logOnlyByAge(20),
  },
  {
    mailId: 'Processing01',
    ageDays: 0,
    sender: 'sender@ext.test',
    recipients: [],
    chunks: 0,
    processing: true,
    fate: logOnlyByAge(0),
  },
  // partition_tag other than 0, and the same mail_id in two partitions
  {
    mailId: 'PartOld00005',
    partitionTag: 5,
    ageDays: 20,
    sender: 'sender@ext.test',
    recipients: [{ email: 'alice@x.test', rs: ' ' }],
    chunks: 2,
    fate: quarantinedByAge(20),
  },
  {
    mailId: 'PartFresh005',
    partitionTag: 5,
    ageDays: 2,
    sender: 'sender@ext.test',
    recipients: [{ email: 'alice@x.test', rs: ' ' }],
    chunks: 1,
    fate: quarantinedByAge(2),
  },
  {
    mailId: 'Twin00000001',
    partitionTag: 0,
    ageDays: 20,
    sender: 'sender@ext.test',
    recipients: [{ email: 'erin@x.test', rs: ' ' }],
    chunks: 2,
    fate: quarantinedByAge(20),
  },
  {
    mailId: 'Twin00000001',
    partitionTag: 5,
    ageDays: 2,
    sender: 'sender@ext.test',
    recipients: [{ email: 'erin@x.test', rs: ' ' }],
    chunks: 2,
    fate: quarantinedByAge(2),
  },
  // pending release requests
  {
    mailId: 'PendOld00001',
    ageDays: 20,
    sender: 'sender@ext.test',
    recipients: [{ email: 'alice@x.test', rs: 'p' }],
    chunks: 1,
    requested: true,
    fate: quarantinedByAge(20),
  },
  {
    mailId: 'PendFresh001',
    ageDays: 2,
    sender: 'sender@ext.test',
    recipients: [{ email: 'alice@x.test', rs: 'p' }],
    chunks: 1,
    requested: true,
    fate: quarantinedByAge(2),
  },
];

/** Rows amavisd's README calls orphaned (no msgs row), and addresses nothing uses. */
const ORPHAN_RECIPIENTS = [
  { partitionTag: 0, mailId: 'OrphanRcpt01', rseqnum: 1, email: 'orphan-only@gone.test' },
  { partitionTag: 0, mailId: 'OrphanRcpt01', rseqnum: 2, email: 'orphan-only@gone.test' },
  { partitionTag: 5, mailId: 'OrphanRcpt05', rseqnum: 1, email: 'alice@x.test' },
];
const ORPHAN_CHUNKS = [
  { partitionTag: 0, mailId: 'OrphanQuar01', chunkInd: 1 },
  { partitionTag: 0, mailId: 'OrphanQuar01', chunkInd: 2 },
];
const UNUSED_ADDRESSES = [
  { partitionTag: 0, email: 'orphan@nowhere.test' },
  { partitionTag: 5, email: 'orphan@nowhere.test' },
];

export interface Snapshot {
  msgs: Set<string>;
  msgrcpt: Set<string>;
  quarantine: Set<string>;
  maddr: Set<string>;
}

const messageKey = (m: { partitionTag?: number; mailId: string }) => `${m.partitionTag ?? 0}:${m.mailId}`;

/** Every row the world puts in the four tables; with a variant, only the rows that must survive it. */
export function expectedRows(options: { orphans: boolean }, variant?: Variant): Snapshot {
  const kept = WORLD.filter((m) => !variant || m.fate(variant) === 'kept');
  const snapshot: Snapshot = { msgs: new Set(), msgrcpt: new Set(), quarantine: new Set(), maddr: new Set() };
  for (const m of kept) {
    const key = messageKey(m);
    snapshot.msgs.add(key);
    m.recipients.forEach((r, i) => {
      snapshot.msgrcpt.add(`${key}:${i + 1}`);
      snapshot.maddr.add(`${m.partitionTag ?? 0}:${r.email}`);
    });
    for (let c = 1; c <= m.chunks; c++) snapshot.quarantine.add(`${key}:${c}`);
    snapshot.maddr.add(`${m.partitionTag ?? 0}:${m.sender}`);
  }
  if (!variant) {
    for (const a of UNUSED_ADDRESSES) snapshot.maddr.add(`${a.partitionTag}:${a.email}`);
    if (options.orphans) {
      for (const r of ORPHAN_RECIPIENTS) {
        snapshot.msgrcpt.add(`${messageKey(r)}:${r.rseqnum}`);
        snapshot.maddr.add(`${r.partitionTag}:${r.email}`);
      }
      for (const q of ORPHAN_CHUNKS) snapshot.quarantine.add(`${messageKey(q)}:${q.chunkInd}`);
    }
  }
  return snapshot;
}

/** What the summary must say for a variant. */
function expectedCounts(options: { orphans: boolean }, variant: Variant) {
  const category = (name: Category) => {
    const ms = WORLD.filter((m) => m.fate(variant) === name);
    return {
      messages: ms.length,
      msgrcpt: ms.reduce((n, m) => n + m.recipients.length, 0),
      quarantine: ms.reduce((n, m) => n + m.chunks, 0),
    };
  };
  const before = expectedRows(options);
  const after = expectedRows(options, variant);
  return {
    categories: {
      marked: category('marked'),
      expired: category('expired'),
      logOnly: category('logOnly'),
      orphans: {
        msgrcpt: options.orphans ? ORPHAN_RECIPIENTS.length : 0,
        quarantine: options.orphans ? ORPHAN_CHUNKS.length : 0,
      },
      addresses: { maddr: before.maddr.size - after.maddr.size },
    },
    tables: {
      msgs: before.msgs.size - after.msgs.size,
      msgrcpt: before.msgrcpt.size - after.msgrcpt.size,
      quarantine: before.quarantine.size - after.quarantine.size,
      maddr: before.maddr.size - after.maddr.size,
    },
    releaseRequestsExpired: WORLD.filter((m) => m.requested && m.fate(variant) !== 'kept').length,
  };
}

export async function snapshot(stores: Stores): Promise<Snapshot> {
  const { db } = stores.amavis.connection;
  const { msgsTable: m, msgrcptTable: r, quarantineTable: q, maddrTable: a } = stores.amavis.t;
  const msgs = await db.select({ p: m.partitionTag, id: m.mailId }).from(m);
  const msgrcpt = await db.select({ p: r.partitionTag, id: r.mailId, n: r.rseqnum }).from(r);
  const quarantine = await db.select({ p: q.partitionTag, id: q.mailId, n: q.chunkInd }).from(q);
  const maddr = await db.select({ p: a.partitionTag, email: a.email }).from(a);
  return {
    msgs: new Set(msgs.map((x) => `${x.p}:${x.id}`)),
    msgrcpt: new Set(msgrcpt.map((x) => `${x.p}:${x.id}:${x.n}`)),
    quarantine: new Set(quarantine.map((x) => `${x.p}:${x.id}:${x.n}`)),
    maddr: new Set(maddr.map((x) => `${x.p ?? 0}:${x.email.toString('utf8')}`)),
  };
}

function sorted(s: Snapshot) {
  return {
    msgs: [...s.msgs].sort(),
    msgrcpt: [...s.msgrcpt].sort(),
    quarantine: [...s.quarantine].sort(),
    maddr: [...s.maddr].sort(),
  };
}

/** Empties the amavis tables and the console's requests, audit log and settings. */
async function clear(stores: Stores): Promise<void> {
  const { db } = stores.amavis.connection;
  const t = stores.amavis.t;
  for (const table of [t.msgrcptTable, t.quarantineTable, t.msgsTable, t.maddrTable]) await db.delete(table);
  const c = stores.console.t;
  for (const table of [c.releaseRequestsTable, c.auditLogTable, c.settingsTable]) {
    await stores.console.connection.db.delete(table);
  }
}

async function build(stores: Stores, now: number, options: { orphans: boolean }): Promise<void> {
  const store = stores.amavis;
  const { db } = store.connection;
  const { quarantineTable, msgrcptTable } = store.t;
  for (const m of WORLD) {
    const timeNum = Math.round(now - m.ageDays * DAY);
    const partitionTag = m.partitionTag ?? 0;
    await addMessage(store, {
      mailId: m.mailId,
      partitionTag,
      timeNum,
      sender: m.sender,
      content: m.processing ? null : 'S',
      quarantined: m.chunks > 0,
      raw: Buffer.from(`Subject: ${m.mailId}\n\nchunk 1\n`),
      recipients: m.recipients.map((r) => ({ email: r.email, rs: r.rs })),
    });
    for (let chunkInd = 2; chunkInd <= m.chunks; chunkInd++) {
      await db
        .insert(quarantineTable)
        .values({ partitionTag, mailId: m.mailId, chunkInd, mailText: Buffer.from(`chunk ${chunkInd}\n`) });
    }
    const first = m.recipients[0];
    if (m.requested && first) {
      await stores.console.connection.db.insert(stores.console.t.releaseRequestsTable).values({
        partitionTag,
        mailId: m.mailId,
        rseqnum: 1,
        recipient: first.email,
        recipientDomain: first.email.split('@')[1] ?? '',
        status: 'pending',
        pendingKey: `${partitionTag}:${m.mailId}:1`,
        requestedBy: first.email,
        notifyAddress: first.email,
        createdAt: new Date((timeNum + 60) * 1000),
      });
    }
  }
  for (const a of UNUSED_ADDRESSES) await addressId(store, a.email, a.partitionTag);
  if (options.orphans) {
    for (const r of ORPHAN_RECIPIENTS) {
      await db.insert(msgrcptTable).values({
        partitionTag: r.partitionTag,
        mailId: r.mailId,
        rseqnum: r.rseqnum,
        rid: await addressId(store, r.email, r.partitionTag),
        content: 'S',
        ds: 'D',
        rs: ' ',
      });
    }
    for (const q of ORPHAN_CHUNKS) {
      await db.insert(quarantineTable).values({ ...q, mailText: Buffer.from('orphan') });
    }
  }
}

async function setReleasedCleanup(stores: Stores, on: boolean): Promise<void> {
  const table = stores.console.t.settingsTable;
  const { db } = stores.console.connection;
  await db.delete(table).where(eq(table.key, 'releasedMsgsCleanup'));
  await db.insert(table).values({ key: 'releasedMsgsCleanup', value: { v: on } });
}

/** The foreign keys modoboa's MariaDB installer (amavis_mysql_2.13.X.sql) adds to amavisd's tables. */
export async function addInstallerForeignKeys(env: Record<string, string>): Promise<void> {
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
  const connection = await openDatabase(config.amavisDatabase, 'test');
  try {
    await executeStatements(connection, [
      'CREATE INDEX msgs_idx_mail_id ON msgs (mail_id)',
      'ALTER TABLE msgs ADD FOREIGN KEY (sid) REFERENCES maddr(id) ON DELETE RESTRICT',
      `ALTER TABLE msgrcpt ADD FOREIGN KEY (rid) REFERENCES maddr(id) ON DELETE RESTRICT,
         ADD FOREIGN KEY (mail_id) REFERENCES msgs(mail_id) ON DELETE CASCADE`,
      'ALTER TABLE quarantine ADD FOREIGN KEY (mail_id) REFERENCES msgs(mail_id) ON DELETE CASCADE',
    ]);
  } finally {
    await connection.close();
  }
}

export interface CleanupSuiteOptions {
  /** The database has foreign keys from the children to msgs, so orphan rows cannot exist. */
  foreignKeys?: boolean;
}

export function cleanupSuite(open: () => Promise<DatabaseUnderTest>, suite: CleanupSuiteOptions = {}): void {
  const options = { orphans: !suite.foreignKeys };
  let database: DatabaseUnderTest;
  let config: Config;
  let stores: Stores;
  // Real time: the CLI run cannot be given another clock, and every age in the world is hours from a cutoff.
  const now = Math.floor(Date.now() / 1000);
  const at = new Date(now * 1000);

  const connect = async () => {
    stores = await openStores(config, createLogger('silent'));
  };
  const fresh = async (variant: Variant = { releasedMsgsCleanup: false }) => {
    await clear(stores);
    await build(stores, now, options);
    if (variant.releasedMsgsCleanup) await setReleasedCleanup(stores, true);
    expect(sorted(await snapshot(stores))).toEqual(sorted(expectedRows(options)));
  };
  const cleanup = (variant: Variant, extra: CleanupOptions = {}) =>
    runCleanup(stores, {
      now: at,
      ...(variant.logRetentionDays ? { logRetentionDays: variant.logRetentionDays } : {}),
      ...extra,
    });
  const expectRun = (summary: CleanupSummary, variant: Variant) => {
    const expected = expectedCounts(options, variant);
    expect(summary.failures).toEqual([]);
    expect(summary.complete).toBe(true);
    expect(summary.categories).toEqual(expected.categories);
    expect(summary.tables).toEqual(expected.tables);
    expect(summary.releaseRequestsExpired).toBe(expected.releaseRequestsExpired);
  };
  const expectSurvivors = async (variant: Variant) => {
    expect(sorted(await snapshot(stores))).toEqual(sorted(expectedRows(options, variant)));
  };

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    config = loadConfig({ LOG_LEVEL: 'silent', ...database.env });
    await connect();
  });

  afterAll(async () => {
    await stores?.close();
    await database?.dispose();
  });

  it('a dry run counts exactly what a real run removes, and changes nothing', async () => {
    const variant = { releasedMsgsCleanup: false };
    await fresh(variant);
    const before = sorted(await snapshot(stores));
    const summary = await cleanup(variant, { dryRun: true, batchSize: 2 });
    expect(summary.dryRun).toBe(true);
    expectRun(summary, variant);
    expect(sorted(await snapshot(stores))).toEqual(before);
    const c = stores.console.t;
    const requests = await stores.console.connection.db
      .select({ status: c.releaseRequestsTable.status })
      .from(c.releaseRequestsTable);
    expect(requests.map((r) => r.status)).toEqual(['pending', 'pending']);
    expect(await stores.console.connection.db.select().from(c.auditLogTable)).toEqual([]);
  });

  it('the CLI dry run prints progress on stderr and the same summary as one JSON line', async () => {
    const variant = { releasedMsgsCleanup: false };
    await fresh(variant);
    const before = sorted(await snapshot(stores));
    // PGlite allows one process at a time
    await stores.close();
    try {
      const finished = await runToExit(database.env, 60_000, [
        CLI,
        'job',
        'cleanup',
        '--dry-run',
        '--batch-size',
        '3',
      ]);
      expect(finished.stderr).toMatch(/cleanup \(dry run\) marked: batch 1,/);
      expect(finished.code).toBe(0);
      const lines = finished.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const summary = JSON.parse(lines[0] as string) as CleanupSummary;
      expect(summary.dryRun).toBe(true);
      expect(summary.batchSize).toBe(3);
      expectRun(summary, variant);
    } finally {
      await connect();
    }
    expect(sorted(await snapshot(stores))).toEqual(before);
  });

  it('removes exactly what it should, in batches of 2, and audits the run', async () => {
    const variant = { releasedMsgsCleanup: false };
    await fresh(variant);
    const progress: CleanupProgress[] = [];
    const summary = await cleanup(variant, { batchSize: 2, onProgress: (p) => progress.push(p) });
    expectRun(summary, variant);
    await expectSurvivors(variant);
    const after = await snapshot(stores);
    // spelled out once, so a mistake in the expectations cannot hide one in the cleanup
    expect(after.msgs.has('5:Twin00000001')).toBe(true);
    expect(after.msgs.has('0:Twin00000001')).toBe(false);
    expect(after.quarantine.has('5:Twin00000001:2')).toBe(true);
    expect(after.msgrcpt.has('0:MixedDV00001:1')).toBe(true);
    expect(after.msgs.has('0:AllD00000001')).toBe(false);
    expect(after.msgs.has('0:QuarEdgeIn01')).toBe(true);
    expect(after.msgs.has('0:QuarEdgeOut1')).toBe(false);
    expect(after.maddr.has('0:bob@x.test')).toBe(true);
    expect(after.maddr.has('0:frank@x.test')).toBe(true);
    expect(after.maddr.has('0:orphan@nowhere.test')).toBe(false);
    expect(after.maddr.has('5:erin@x.test')).toBe(true);
    expect(after.maddr.has('0:erin@x.test')).toBe(false);
    expect(summary.messagesByPartition).toEqual({ '0': 8, '5': 1 });
    expect(summary.batches).toBeGreaterThan(5);
    expect(progress.length).toBe(summary.batches);
    expect(progress.at(-1)?.tables).toEqual(summary.tables);

    const c = stores.console.t;
    const requests = await stores.console.connection.db
      .select({ mailId: c.releaseRequestsTable.mailId, status: c.releaseRequestsTable.status })
      .from(c.releaseRequestsTable);
    expect(Object.fromEntries(requests.map((r) => [r.mailId, r.status]))).toEqual({
      PendOld00001: 'expired',
      PendFresh001: 'pending',
    });
    const audit = await stores.console.connection.db.select().from(c.auditLogTable);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'cleanup.run', actor: 'cleanup job', outcome: 'success' });
    const detail = audit[0]?.detail;
    // some MariaDB/mysql2 combinations hand JSON back as text
    const parsed = (typeof detail === 'string' ? JSON.parse(detail) : detail) as { tables?: unknown } | null;
    expect(parsed?.tables).toEqual(summary.tables);

    const again = await cleanup(variant, { batchSize: 2 });
    expect(again.complete).toBe(true);
    expect(again.tables).toEqual({ msgs: 0, msgrcpt: 0, quarantine: 0, maddr: 0 });
    expect(again.releaseRequestsExpired).toBe(0);
    await expectSurvivors(variant);
  });

  it('a batch size of 1000 gives the same result', async () => {
    const variant = { releasedMsgsCleanup: false };
    await fresh(variant);
    expectRun(await cleanup(variant, { batchSize: 1000 }), variant);
    await expectSurvivors(variant);
  });

  it('with releasedMsgsCleanup, messages released (or released and deleted) to everyone go too', async () => {
    const variant = { releasedMsgsCleanup: true };
    await fresh(variant);
    const dry = await cleanup(variant, { dryRun: true });
    expectRun(dry, variant);
    const summary = await cleanup(variant, { batchSize: 2 });
    expectRun(summary, variant);
    expect(summary.cutoffs.markedStatuses).toEqual(['D', 'R']);
    await expectSurvivors(variant);
    const after = await snapshot(stores);
    expect(after.msgs.has('0:AllR00000001')).toBe(false);
    expect(after.msgs.has('0:RandD0000001')).toBe(false);
    expect(after.msgs.has('0:RandP0000001')).toBe(true);
  });

  it('keeps log-only messages for their own retention, shorter or longer', async () => {
    for (const logRetentionDays of [1, 30]) {
      const variant = { releasedMsgsCleanup: false, logRetentionDays };
      await fresh(variant);
      expectRun(await cleanup(variant, { dryRun: true, batchSize: 3 }), variant);
      expectRun(await cleanup(variant, { batchSize: 3 }), variant);
      await expectSurvivors(variant);
      const after = await snapshot(stores);
      expect(after.msgs.has('0:LogFresh0001')).toBe(logRetentionDays === 30);
      expect(after.msgs.has('0:LogOld000001')).toBe(logRetentionDays === 30);
      expect(after.maddr.has('0:dave@x.test')).toBe(logRetentionDays === 30);
    }
  });

  it('an interrupted run says so, and the next run finishes the job', async () => {
    const variant = { releasedMsgsCleanup: false };
    await fresh(variant);
    const controller = new AbortController();
    const first = await cleanup(variant, {
      batchSize: 2,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.batch === 3) controller.abort();
      },
    });
    expect(first).toMatchObject({ interrupted: true, complete: false, batches: 3, failures: [] });
    expect(first.tables.msgs).toBeGreaterThan(0);
    const second = await cleanup(variant, { batchSize: 2 });
    expect(second.complete).toBe(true);
    const expected = expectedCounts(options, variant);
    for (const table of ['msgs', 'msgrcpt', 'quarantine', 'maddr'] as const) {
      expect(first.tables[table] + second.tables[table]).toBe(expected.tables[table]);
    }
    await expectSurvivors(variant);
  });

  it('rejects a batch size out of range before touching anything', async () => {
    await expect(cleanup({ releasedMsgsCleanup: false }, { batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(cleanup({ releasedMsgsCleanup: false }, { batchSize: 2.5 })).rejects.toThrow(/batchSize/);
  });

  it('names the step that failed, and still runs the others', async () => {
    const variant = { releasedMsgsCleanup: false };
    await fresh(variant);
    const { connection } = stores.amavis;
    await executeStatements(connection, ['ALTER TABLE maddr RENAME TO maddr_away']);
    let summary: CleanupSummary;
    try {
      summary = await cleanup(variant, { batchSize: 1000 });
    } finally {
      await executeStatements(connection, ['ALTER TABLE maddr_away RENAME TO maddr']);
    }
    expect(summary.complete).toBe(false);
    expect(summary.failures).toHaveLength(1);
    expect(summary.failures[0]?.step).toBe('addresses');
    expect(summary.failures[0]?.message).toMatch(/gave up after 3 attempt\(s\): .*maddr/);
    const expected = expectedCounts(options, variant);
    expect(summary.tables).toEqual({ ...expected.tables, maddr: 0 });
    expect(summary.releaseRequestsExpired).toBe(expected.releaseRequestsExpired);
    const audit = await stores.console.connection.db.select().from(stores.console.t.auditLogTable);
    expect(audit.map((a) => a.outcome)).toEqual(['failure']);
    // the next run finishes the job
    expect((await cleanup(variant)).tables.maddr).toBe(expected.tables.maddr);
    await expectSurvivors(variant);
  });

  if (suite.foreignKeys) {
    it("reports the installer's foreign keys and deletes around them", async () => {
      const summary = await cleanup({ releasedMsgsCleanup: false }, { dryRun: true });
      expect(summary.schema.foreignKeys).toEqual(
        expect.arrayContaining([
          'msgrcpt FOREIGN KEY (mail_id) REFERENCES msgs(mail_id) ON DELETE CASCADE',
          'msgs FOREIGN KEY (sid) REFERENCES maddr(id) ON DELETE RESTRICT',
        ]),
      );
    });
  } else {
    it('reports tables the database partitions natively, and still deletes row by row', async () => {
      const variant = { releasedMsgsCleanup: false };
      await fresh(variant);
      const { connection } = stores.amavis;
      if (connection.dialect === 'pg') {
        await executeStatements(connection, [
          'ALTER TABLE quarantine RENAME TO quarantine_plain',
          'CREATE TABLE quarantine (LIKE quarantine_plain INCLUDING ALL) PARTITION BY LIST (partition_tag)',
          'CREATE TABLE quarantine_p0 PARTITION OF quarantine FOR VALUES IN (0)',
          'CREATE TABLE quarantine_rest PARTITION OF quarantine DEFAULT',
          'INSERT INTO quarantine SELECT * FROM quarantine_plain',
          'DROP TABLE quarantine_plain',
        ]);
      } else {
        await connection.db.execute(
          sql.raw('ALTER TABLE quarantine PARTITION BY HASH (partition_tag) PARTITIONS 2'),
        );
      }
      const summary = await cleanup(variant, { batchSize: 4 });
      expect(summary.schema.nativePartitions).toEqual(['quarantine']);
      expectRun(summary, variant);
      await expectSurvivors(variant);
    });
  }
}
