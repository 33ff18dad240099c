// What the listing accelerator's triggers cost amavisd: amavisd's statements for N messages replayed on the
// bench database (amavisd-new 2.13, Amavis::Out::SQL::Log: the preliminary msgs row; the quarantine chunk,
// for one message in five; then the recipients' msgrcpt rows and the final msgs update; each step in its own
// transaction, addresses looked up in maddr first), in rounds with and without the triggers, alternating
// so that warm-up and growth favour neither. Every replayed row is deleted afterwards.
import { sql } from 'drizzle-orm';
import { acceleratorState, setAcceleratorTriggers } from '../../server/amavis/listing-accelerator.ts';
import type { Connection } from '../../server/db/database.ts';
import { summarise } from '../lib/stats.ts';
import type { BenchCase, CaseResult } from './types.ts';

// With and without the triggers in an ABBA BAAB order after an unrecorded warm-up round: the first round
// of a run is slow whichever it is (caches, connections), and drift cancels out.
const ROUNDS = [true, false, false, true, false, true, true, false];

function rowsOf<T>(dialect: Connection['dialect'], result: unknown): T[] {
  if (dialect === 'mysql') return (result as [T[]])[0];
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows;
}

export interface Replay {
  connection: Connection;
  senders: Buffer[];
  recipients: Buffer[];
  counter: number;
  mailIds: Buffer[];
}

async function addressId(tx: Connection['db'], replay: Replay, email: Buffer): Promise<number> {
  const { dialect } = replay.connection;
  const [row] = rowsOf<{ id: unknown }>(
    dialect,
    await tx.execute(sql`select id from maddr where partition_tag = ${0} and email = ${email}`),
  );
  if (!row) throw new Error(`no maddr row for ${email.toString()}`);
  return Number(row.id);
}

/** One message the way amavisd writes it; returns the milliseconds it took. */
export async function replayOne(replay: Replay): Promise<number> {
  const { connection } = replay;
  const { db, dialect } = connection;
  replay.counter += 1;
  const n = replay.counter;
  const mailId = Buffer.from(`bins${String(n).padStart(8, '0')}`);
  replay.mailIds.push(mailId);
  const timeNum = Math.floor(Date.now() / 1000);
  const iso = new Date(timeNum * 1000).toISOString();
  const timeIso = dialect === 'pg' ? iso : iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const sender = replay.senders[n % replay.senders.length] as Buffer;
  const quarantined = n % 5 === 0;
  const recipients = n % 10 === 0 ? 3 : n % 4 === 0 ? 2 : 1;
  const t0 = performance.now();
  await db.transaction(async (tx) => {
    const sid = await addressId(tx, replay, sender);
    await tx.execute(sql`insert into msgs (partition_tag, mail_id, secret_id, am_id, time_num, time_iso, sid,
      policy, client_addr, size, host) values (${0}, ${mailId}, ${Buffer.from('bench-secret')}, ${`bench-${n}`},
      ${timeNum}, ${timeIso}, ${sid}, ${''}, ${'192.0.2.1'}, ${4096}, ${'bench.example'})`);
  });
  if (quarantined) {
    await db.transaction(async (tx) => {
      await tx.execute(sql`insert into quarantine (partition_tag, mail_id, chunk_ind, mail_text)
        values (${0}, ${mailId}, ${1}, ${Buffer.alloc(4096, 120)})`);
    });
  }
  await db.transaction(async (tx) => {
    for (let r = 1; r <= recipients; r++) {
      const rid = await addressId(
        tx,
        replay,
        replay.recipients[(n * 7 + r) % replay.recipients.length] as Buffer,
      );
      await tx.execute(sql`insert into msgrcpt (partition_tag, mail_id, rseqnum, rid, is_local, content, ds, rs,
        bl, wl, bspam_level, smtp_resp) values (${0}, ${mailId}, ${r}, ${rid}, ${'Y'},
        ${quarantined ? 'S' : 'C'}, ${quarantined ? 'D' : 'P'}, ${' '}, ${' '}, ${' '},
        ${quarantined ? 12.5 : 1.5}, ${'250 2.0.0 Ok'})`);
    }
    await tx.execute(sql`update msgs set content = ${quarantined ? 'S' : 'C'}, quar_type = ${quarantined ? 'Q' : ''},
      quar_loc = ${quarantined ? mailId.toString() : ''}, dsn_sent = ${'N'}, spam_level = ${quarantined ? 12.5 : 1.5},
      message_id = ${`<${mailId.toString()}@bench.example>`}, from_addr = ${'bench@sender.example'},
      subject = ${`replayed ${n}`}, originating = ${'N'}
      where partition_tag = ${0} and mail_id = ${mailId}`);
  });
  return performance.now() - t0;
}

export async function removeReplayed(replay: Replay): Promise<void> {
  const { db } = replay.connection;
  if (replay.mailIds.length === 0) {
    // leftovers of an interrupted run: every replayed mail_id starts with 'bins'
    const range = (table: string) =>
      sql`delete from ${sql.raw(table)} where partition_tag = 0 and mail_id >= ${Buffer.from('bins')} and mail_id < ${Buffer.from('bint')}`;
    for (const table of ['quarantine', 'msgrcpt', 'msgs']) await db.execute(range(table));
    return;
  }
  for (let at = 0; at < replay.mailIds.length; at += 500) {
    const ids = sql.join(
      replay.mailIds.slice(at, at + 500).map((id) => sql`${id}`),
      sql`, `,
    );
    await db.execute(sql`delete from quarantine where partition_tag = 0 and mail_id in (${ids})`);
    await db.execute(sql`delete from msgrcpt where partition_tag = 0 and mail_id in (${ids})`);
    await db.execute(sql`delete from msgs where partition_tag = 0 and mail_id in (${ids})`);
  }
}

/** Senders from maddr and recipients from the bench's user accounts, for messages to replay. */
export async function createReplay(connection: Connection): Promise<Replay> {
  const emails = async (query: ReturnType<typeof sql>) =>
    (await connection.rows<{ email: unknown }>(query)).map((row) => Buffer.from(row.email as Uint8Array));
  return {
    connection,
    senders: await emails(
      sql`select email from maddr where email <> ${Buffer.alloc(0)} order by id limit 500`,
    ),
    recipients: await emails(
      connection.dialect === 'pg'
        ? sql`select convert_to(email, 'UTF8') as email from console_accounts where role = 'user'`
        : sql`select cast(email as binary) as email from console_accounts where role = 'user'`,
    ),
    counter: 0,
    mailIds: [],
  };
}

export const amavisdInsertsCase: BenchCase = {
  name: 'amavisd-inserts',
  run: async (context): Promise<CaseResult> => {
    const { connection } = context.store;
    if (context.setup !== 'accelerated' || (await acceleratorState(connection)) !== 'complete') {
      return { skipped: 'needs --setup accelerated' };
    }
    const replay = await createReplay(connection);
    const perRound = context.options.insertMessages;
    const times = { with: [] as number[], without: [] as number[] };
    try {
      await removeReplayed({ ...replay, mailIds: [] });
      for (let i = 0; i < Math.min(200, perRound); i++) await replayOne(replay);
      for (const withTriggers of ROUNDS) {
        await setAcceleratorTriggers(connection, withTriggers);
        for (let i = 0; i < perRound; i++) {
          times[withTriggers ? 'with' : 'without'].push(await replayOne(replay));
        }
      }
    } finally {
      await setAcceleratorTriggers(connection, true);
      await removeReplayed(replay);
    }
    const withTriggers = summarise(times.with);
    const without = summarise(times.without);
    return {
      messagesPerRound: perRound,
      rounds: ROUNDS.length,
      perMessageWith: withTriggers,
      perMessageWithout: without,
      ratioMean: Math.round((withTriggers.mean / without.mean) * 1000) / 1000,
      ratioP50: Math.round((withTriggers.p50 / without.p50) * 1000) / 1000,
      addedMsPerMessage: Math.round((withTriggers.mean - without.mean) * 1000) / 1000,
      stillComplete: (await acceleratorState(connection)) === 'complete',
    };
  },
};
