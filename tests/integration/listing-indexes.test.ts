// The optional listing indexes (npm run amavis:create-indexes): created and dropped idempotently on
// each database, touching no other index, and never changing what the listing returns. It also replays
// amavisd's inserts with and without them; INDEX_COST_MESSAGES=5000 turns that into the measurement
// quoted in the README.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../server/access/actor.ts';
import {
  ACCELERATOR_TABLE,
  acceleratorState,
  dropAccelerator,
  installAccelerator,
} from '../../server/amavis/listing-accelerator.ts';
import {
  createListingIndexes,
  dropListingIndexes,
  LISTING_INDEX_PREFIX,
  LISTING_INDEXES,
  listingIndexStates,
} from '../../server/amavis/listing-indexes.ts';
import type { Dialect } from '../../server/config.ts';
import { amavisTables, createAmavisTables } from '../../server/db/amavis-tables.ts';
import { type Connection, openDatabase } from '../../server/db/database.ts';
import type { AmavisStore } from '../../server/db/stores.ts';
import { seedDemoData } from '../../server/demo/demo-data.ts';
import {
  countQuarantine,
  type ListedEntry,
  listQuarantine,
  type QuarantineFilter,
  type QuarantineSort,
  type Viewer,
} from '../../server/features/quarantine/quarantine.service.ts';
import { DEFAULT_SETTINGS } from '../../server/features/settings/settings.service.ts';
import { createTempDatabase } from '../support/databases.ts';
import { addMessage, randomMailId } from '../support/factories.ts';
import { describeWith } from '../support/services.ts';

const NOW = new Date('2026-11-02T12:00:00Z');
const COST_MESSAGES = Number(process.env.INDEX_COST_MESSAGES ?? 0);

function account(
  role: 'superadmin' | 'domainadmin' | 'user',
  addresses: string[],
  domains: string[],
  settings = DEFAULT_SETTINGS,
): Viewer {
  const actor: Actor = {
    kind: 'account',
    accountId: 1,
    email: 'someone@console.test',
    role,
    addresses,
    othersAddresses: [],
    domains,
    access: 'full',
    via: 'session',
  };
  return { actor, settings };
}

const VIEWERS: Record<string, Viewer> = {
  superadmin: account('superadmin', [], []),
  domainAdmin: account('domainadmin', [], ['example.org']),
  // own mail outside the administered domain: the accelerator walks the address too
  domainAdminElsewhere: account('domainadmin', ['alice@example.com'], ['example.org']),
  // more domains than separate walks pay off: one walk over everything, filtered on the side table
  manyDomains: account(
    'domainadmin',
    ['bob@example.com'],
    ['example.org', ...Array.from({ length: 9 }, (_, i) => `d${i}.example`)],
  ),
  user: account('user', ['alice@example.com'], []),
  userWithExtensions: account('user', ['bob@example.com'], [], {
    ...DEFAULT_SETTINGS,
    recipientDelimiter: '+',
  }),
};

const VIEWS: [string, QuarantineFilter, QuarantineSort | undefined][] = [
  ['everything', {}, undefined],
  ['oldest first', {}, { field: 'date', direction: 'asc' }],
  ['spam by score', { contentKinds: ['spam', 'spammy'] }, { field: 'score', direction: 'desc' }],
  ['pending', { pendingRequests: true }, undefined],
  ['one domain', { recipientDomain: 'example.com' }, { field: 'recipient', direction: 'asc' }],
  ['text', { text: 'invoice' }, { field: 'subject', direction: 'asc' }],
  ['new or viewed', { statuses: ['new', 'viewed'], minScore: 5 }, { field: 'sender', direction: 'desc' }],
  // the date order, which the listing accelerator answers
  ['one domain by date', { recipientDomain: 'example.com' }, undefined],
  ['text by date', { text: 'invoice' }, undefined],
  ['types by date', { contentKinds: ['virus', 'spammy'] }, undefined],
  ['unknown types, oldest first', { contentKinds: ['unknown'] }, { field: 'date', direction: 'asc' }],
];

/** Every entry of a view, read in pages of 7, with the cursors: the whole observable result. */
async function snapshot(store: AmavisStore): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  for (const [viewerName, viewer] of Object.entries(VIEWERS)) {
    for (const [viewName, filter, sort] of VIEWS) {
      const entries: ListedEntry[] = [];
      let after: string | null = null;
      for (let page = 0; page < 200; page++) {
        const listed = await listQuarantine(store, viewer, { first: 7, after }, filter, sort);
        entries.push(...listed.items);
        if (!listed.hasNextPage) break;
        after = listed.items.at(-1)?.cursor ?? null;
      }
      result[`${viewerName}: ${viewName}`] = {
        entries: entries.map((e) => `${e.partitionTag}:${e.mailId}:${e.rseqnum} ${e.cursor}`),
        count: await countQuarantine(store, viewer, filter, 100),
      };
    }
  }
  return result;
}

function rowKey(row: Record<string, unknown>): string {
  const bytes = (value: unknown) => Buffer.from(value as Uint8Array).toString('hex');
  // MariaDB hands CHAR(1) ' ' back as ''
  const content = String(row.content ?? '').padEnd(1, ' ');
  return [
    row.partition_tag,
    bytes(row.mail_id),
    row.rseqnum,
    row.time_num,
    String(row.domain),
    bytes(row.email),
    content,
  ]
    .map(String)
    .join('|');
}

async function otherIndexes(connection: Connection): Promise<string[]> {
  const rows = await connection.rows<{ name: string }>(
    connection.dialect === 'pg'
      ? sql`select indexname as name from pg_indexes where schemaname = current_schema()`
      : sql`select distinct concat(table_name, '.', index_name) as name from information_schema.statistics
            where table_schema = database()`,
  );
  return rows
    .map((row) => row.name)
    .filter((name) => !name.includes(LISTING_INDEX_PREFIX))
    .sort();
}

// ---------------------------------------------------------------------------------------------------
// amavisd's inserts, statement for statement (Amavis::Out::SQL::Log, amavisd-new 2.13): the preliminary
// msgs row, the quarantine chunks, then the recipients and the final msgs update, each in a transaction.

let counter = 0;

/** drizzle's execute() result as rows: mysql2 gives [rows, fields], PGlite { rows }, postgres.js rows. */
function resultRows<T>(dialect: Dialect, result: unknown): T[] {
  if (dialect === 'mysql') return (result as [T[]])[0];
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows;
}

async function addressId(tx: Connection['db'], dialect: Dialect, email: string): Promise<number> {
  const bytes = Buffer.from(email, 'utf8');
  const select = async () =>
    resultRows<{ id: number }>(
      dialect,
      await tx.execute(sql`select id from maddr where partition_tag = ${0} and email = ${bytes}`),
    )[0];
  const existing = await select();
  if (existing) return Number(existing.id);
  const domain = (email.split('@')[1] ?? '').split('.').reverse().join('.');
  await tx.execute(sql`insert into maddr (partition_tag, email, domain) values (${0}, ${bytes}, ${domain})`);
  const created = await select();
  if (!created) throw new Error(`maddr ${email} not stored`);
  return Number(created.id);
}

async function amavisdInserts(connection: Connection, messages: number): Promise<number> {
  const { db, dialect } = connection;
  const started = performance.now();
  for (let i = 0; i < messages; i++) {
    counter += 1;
    const mailId = randomMailId();
    const timeNum = Math.floor(NOW.getTime() / 1000) + counter;
    const iso = new Date(timeNum * 1000);
    const timeIso =
      dialect === 'pg'
        ? iso.toISOString()
        : iso
            .toISOString()
            .replace(/[-:]/g, '')
            .replace(/\.\d+Z$/, 'Z');
    const sender = `sender${counter % 5000}@remote${counter % 97}.example`;
    const quarantined = counter % 5 === 0;
    await db.transaction(async (tx) => {
      const sid = await addressId(tx, dialect, sender);
      await tx.execute(sql`insert into msgs (partition_tag, mail_id, secret_id, am_id, time_num, time_iso, sid,
        policy, client_addr, size, host) values (${0}, ${Buffer.from(mailId)}, ${Buffer.from(randomMailId())},
        ${`${process.pid}-${counter}`}, ${timeNum}, ${timeIso}, ${sid}, ${''}, ${'192.0.2.1'}, ${2048},
        ${'mx.example.test'})`);
    });
    if (quarantined) {
      await db.transaction(async (tx) => {
        await tx.execute(sql`insert into quarantine (partition_tag, mail_id, chunk_ind, mail_text)
          values (${0}, ${Buffer.from(mailId)}, ${1}, ${Buffer.alloc(2048, 120)})`);
      });
    }
    await db.transaction(async (tx) => {
      const recipients = counter % 4 === 0 ? 2 : 1;
      for (let r = 1; r <= recipients; r++) {
        const rid = await addressId(tx, dialect, `user${(counter + r) % 200}@example.com`);
        await tx.execute(sql`insert into msgrcpt (partition_tag, mail_id, rseqnum, rid, is_local, content, ds, rs,
          bl, wl, bspam_level, smtp_resp) values (${0}, ${Buffer.from(mailId)}, ${r}, ${rid}, ${'Y'},
          ${quarantined ? 'S' : 'C'}, ${quarantined ? 'D' : 'P'}, ${' '}, ${' '}, ${' '}, ${quarantined ? 12.5 : 1.5},
          ${'250 2.0.0 Ok'})`);
      }
      await tx.execute(sql`update msgs set content = ${quarantined ? 'S' : 'C'}, quar_type = ${quarantined ? 'Q' : ''},
        quar_loc = ${quarantined ? mailId : ''}, dsn_sent = ${'N'}, spam_level = ${quarantined ? 12.5 : 1.5},
        message_id = ${`<${mailId}@remote.example>`}, from_addr = ${sender}, subject = ${`message ${counter}`},
        client_addr = ${'192.0.2.1'}, originating = ${'N'}
        where partition_tag = ${0} and mail_id = ${Buffer.from(mailId)}`);
    });
  }
  return performance.now() - started;
}

// ---------------------------------------------------------------------------------------------------

function indexSuite(open: () => Promise<{ connection: Connection; dispose: () => Promise<void> }>): void {
  let connection: Connection;
  let dispose: () => Promise<void>;
  let store: AmavisStore;

  beforeAll(async () => {
    ({ connection, dispose } = await open());
    await createAmavisTables(connection);
    store = { connection, t: amavisTables(connection.dialect) };
    await seedDemoData(store, { messages: 300, now: NOW });
    for (const partitionTag of [7, 0]) {
      await addMessage(store, {
        partitionTag,
        mailId: 'SameIdBothP1',
        timeNum: Math.floor(NOW.getTime() / 1000) - 30,
        subject: `Invoice in partition ${partitionTag}`,
        recipients: [{ email: 'alice@example.com', content: 'S', score: 9, rs: partitionTag ? 'p' : ' ' }],
      });
    }
  });

  afterAll(async () => {
    await dropListingIndexes(connection).catch(() => {});
    await connection?.close();
    await dispose?.();
  });

  it('creates and drops every listing index, twice in a row, and touches no other index', async () => {
    const names = LISTING_INDEXES[connection.dialect].map((index) => index.name);
    const before = await otherIndexes(connection);
    expect(await createListingIndexes(connection)).toEqual({ changed: names, unchanged: [] });
    expect(await createListingIndexes(connection)).toEqual({ changed: [], unchanged: names });
    expect([...(await listingIndexStates(connection)).values()]).toEqual(names.map(() => 'valid'));
    expect(await otherIndexes(connection)).toEqual(before);
    expect(await dropListingIndexes(connection)).toEqual({ changed: names, unchanged: [] });
    expect(await dropListingIndexes(connection)).toEqual({ changed: [], unchanged: names });
    expect([...(await listingIndexStates(connection)).values()]).toEqual(names.map(() => 'absent'));
    expect(await otherIndexes(connection)).toEqual(before);
  });

  it('leaves what the listing returns unchanged', async () => {
    await dropListingIndexes(connection);
    const without = await snapshot(store);
    expect(Object.values(without).some((view) => (view as { entries: string[] }).entries.length > 20)).toBe(
      true,
    );
    await createListingIndexes(connection);
    await connection.rows(
      connection.dialect === 'pg' ? sql`analyze` : sql`analyze table maddr, msgs, msgrcpt`,
    );
    expect(await snapshot(store)).toEqual(without);
    await dropListingIndexes(connection);
  });

  it("keeps the accelerator's side table equal to amavisd's rows through updates and deletions", async () => {
    await installAccelerator(connection);
    expect(await acceleratorState(connection)).toBe('complete');
    const { dialect } = connection;
    // what the side table must hold, computed from amavisd's tables
    const expected = async () =>
      (
        await connection.rows<Record<string, unknown>>(
          sql`select r.partition_tag, r.mail_id, r.rseqnum, m.time_num, a.domain, a.email, r.content
              from msgrcpt r join msgs m on m.partition_tag = r.partition_tag and m.mail_id = r.mail_id
              join maddr a on a.id = r.rid
              where exists (select 1 from quarantine q where q.partition_tag = r.partition_tag
                              and q.mail_id = r.mail_id and q.chunk_ind = 1)`,
        )
      )
        .map(rowKey)
        .sort();
    const actual = async () =>
      (
        await connection.rows<Record<string, unknown>>(
          sql.raw(
            `select partition_tag, mail_id, rseqnum, time_num, domain, email, content from ${ACCELERATOR_TABLE}`,
          ),
        )
      )
        .map(rowKey)
        .sort();
    expect(await actual()).toEqual(await expected());
    const pick = async (n: number) =>
      (
        await connection.rows<{ partition_tag: number; mail_id: unknown; rseqnum: number }>(
          sql`select r.partition_tag, r.mail_id, r.rseqnum from msgrcpt r
              where exists (select 1 from quarantine q where q.partition_tag = r.partition_tag
                              and q.mail_id = r.mail_id and q.chunk_ind = 1)
              order by r.mail_id, r.rseqnum limit 1 offset ${n}`,
        )
      )[0] as { partition_tag: number; mail_id: unknown; rseqnum: number };
    const key = async (n: number) => {
      const row = await pick(n);
      return {
        tag: Number(row.partition_tag),
        id: Buffer.from(row.mail_id as Uint8Array),
        seq: Number(row.rseqnum),
      };
    };
    const a = await key(1);
    const b = await key(5);
    const c = await key(9);
    const d = await key(13);
    const e = await key(17);
    const [other] = await connection.rows<{ id: number }>(
      sql`select id from maddr where email = ${Buffer.from('bob@example.com')}`,
    );
    await connection.rows(
      sql`update msgs set time_num = time_num + 7 where partition_tag = ${a.tag} and mail_id = ${a.id}`,
    );
    await connection.rows(
      sql`update msgrcpt set content = 'V', rid = ${other?.id} where partition_tag = ${b.tag} and mail_id = ${b.id} and rseqnum = ${b.seq}`,
    );
    await connection.rows(
      sql`update msgrcpt set rs = 'R' where partition_tag = ${b.tag} and mail_id = ${b.id}`,
    );
    await connection.rows(
      sql`delete from msgrcpt where partition_tag = ${c.tag} and mail_id = ${c.id} and rseqnum = ${c.seq}`,
    );
    await connection.rows(sql`delete from quarantine where partition_tag = ${d.tag} and mail_id = ${d.id}`);
    await connection.rows(sql`delete from msgs where partition_tag = ${e.tag} and mail_id = ${e.id}`);
    // and back: a quarantine chunk that arrives after its recipients
    await connection.rows(
      sql`insert into quarantine (partition_tag, mail_id, chunk_ind, mail_text) values (${d.tag}, ${d.id}, ${1}, ${Buffer.from('Subject: again\n\nbody\n')})`,
    );
    expect(await actual()).toEqual(await expected());
    if (dialect === 'pg') {
      await connection.db
        .transaction(async (tx) => {
          await tx.execute(sql`truncate quarantine`);
          const [left] = resultRows<{ n: unknown }>(
            dialect,
            await tx.execute(sql.raw(`select count(*) as n from ${ACCELERATOR_TABLE}`)),
          );
          expect(Number(left?.n)).toBe(0);
          tx.rollback();
        })
        .catch((error: unknown) => {
          if (!(error instanceof Error && error.message === 'Rollback')) throw error;
        });
    }
    expect(await dropAccelerator(connection)).toBe(true);
    expect(await acceleratorState(connection)).toBe('absent');
    // amavisd's inserts work again without the triggers
    await amavisdInserts(connection, 5);
  });

  it("keeps amavisd's inserts working with the indexes, and measures what they cost", async () => {
    const messages = COST_MESSAGES > 0 ? COST_MESSAGES : 40;
    const rounds = COST_MESSAGES > 0 ? 4 : 1;
    const superadmin = VIEWERS.superadmin as Viewer;
    const countBefore = (await countQuarantine(store, superadmin, {}, 10_000)).value;
    const times = { without: 0, with: 0 };
    // alternate which goes first, so warm-up and table growth do not favour one side
    for (let round = 0; round < rounds; round++) {
      for (const indexed of round % 2 === 0 ? [false, true] : [true, false]) {
        await (indexed ? createListingIndexes(connection) : dropListingIndexes(connection));
        times[indexed ? 'with' : 'without'] += await amavisdInserts(connection, messages);
      }
    }
    // every fifth message is quarantined, with one or two recipients
    const added = (await countQuarantine(store, superadmin, {}, 10_000)).value - countBefore;
    expect(added).toBeGreaterThanOrEqual((2 * rounds * messages) / 5);
    if (COST_MESSAGES > 0) {
      console.log(
        JSON.stringify({
          dialect: connection.dialect,
          messagesPerRun: messages,
          rounds,
          msWithout: Math.round(times.without),
          msWith: Math.round(times.with),
          perMessageMsWithout: Math.round((times.without / (rounds * messages)) * 1000) / 1000,
          perMessageMsWith: Math.round((times.with / (rounds * messages)) * 1000) / 1000,
          ratio: Math.round((times.with / times.without) * 1000) / 1000,
        }),
      );
    }
  }, 600_000);
}

describe('listing indexes on embedded PGlite', () => {
  indexSuite(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-indexes-'));
    const connection = await openDatabase({ kind: 'embedded', dir }, 'amavis');
    return { connection, dispose: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  });
});

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `listing indexes on ${service}`, () => {
    indexSuite(async () => {
      const temp = await createTempDatabase(dialect);
      const connection = await openDatabase(
        { kind: 'url', dialect, url: temp.url, display: temp.name },
        'amavis',
      );
      return { connection, dispose: () => temp.drop() };
    });

    if (dialect === 'pg') {
      it('rebuilds an index an interrupted CREATE INDEX CONCURRENTLY left invalid', async () => {
        const temp = await createTempDatabase('pg');
        const connection = await openDatabase(
          { kind: 'url', dialect, url: temp.url, display: temp.name },
          'amavis',
        );
        try {
          await createAmavisTables(connection);
          await createListingIndexes(connection);
          const [first] = LISTING_INDEXES.pg;
          await connection.rows(
            sql`update pg_index set indisvalid = false where indexrelid = ${first?.name}::regclass`,
          );
          expect((await listingIndexStates(connection)).get(first?.name ?? '')).toBe('invalid');
          expect((await createListingIndexes(connection)).changed).toEqual([first?.name]);
          expect((await listingIndexStates(connection)).get(first?.name ?? '')).toBe('valid');
        } finally {
          await connection.close();
          await temp.drop();
        }
      });
    }
  });
}
