// Demo data for a fresh database: a few hundred quarantined messages written the way amavisd-new 2.13
// writes them (maddr, msgs, msgrcpt, quarantine), so the console has something real to show.
//
// What "the way amavisd writes them" means here (see amavisd's save_info_preliminary/save_info_final,
// find_or_save_addr, generate_mail_id and the sql quarantine):
// - maddr.email is the lowercased envelope address, maddr.domain its domain labels reversed
//   ('com.example'), the null sender <> an empty email; ids are assigned here and inserted explicitly.
// - msgs.mail_id = base64url(md5(secret bytes)) cut to 12 chars, starting and ending alphanumeric;
//   secret_id = base64url(9 random bytes). size is the original message's size in its SMTP (CRLF)
//   form, i.e. without the headers amavisd prepends to the quarantined copy (as observed: size 391,
//   stored copy 987 bytes). from_addr and subject are the MIME-decoded headers, UTF-8, cut to 255
//   bytes on a character boundary. spam_level is the minimum of the recipients' bspam_level.
// - quarantine.mail_text is amavisd's header block (X-Envelope-*, X-Quarantine-ID, X-Amavis-Alert,
//   X-Spam-*, its Received line) followed by the original message, LF line endings, in chunks of
//   at most 16384 bytes numbered from 1.
// - Besides the quarantined messages there are a few clean messages that were only logged (no
//   quarantine rows) and one message still being processed (content NULL, no msgrcpt rows).
//
// Determinism: everything, the raw message bytes included, depends only on `seed` and `now`.
//
// This module plans the messages and writes the rows; the rest lives next to it: demo-random.ts (the
// seeded PRNG), demo-mime.ts (encodings, header and raw message helpers, attachment contents),
// demo-scenarios.ts and demo-scenarios-spam.ts (the address book, SpamAssassin scores and the message
// scenarios) and demo-message.ts (composing a message and amavisd's quarantined copy of it).
import { max, sql } from 'drizzle-orm';
import type { AmavisTables } from '../db/amavis-tables.ts';
import type { Connection } from '../db/database.ts';
import { amavisHeaders, chunk, compose, QUARANTINE_CHUNK_SIZE, smtpSize } from './demo-message.ts';
import {
  cutUtf8,
  decodeHeaderValue,
  fakePdf,
  generateMailId,
  normaliseAddress,
  reversedDomain,
} from './demo-mime.ts';
import { allocate, Random } from './demo-random.ts';
import {
  BAD_HEADER,
  BAD_MIME,
  BANNED,
  type Ccat,
  CLEAN,
  DEMO_HOST,
  FOREIGN_RECIPIENTS,
  KILL_LEVEL,
  LOCAL_USERS,
  type LocalUser,
  OVERSIZED,
  type Scenario,
  scoreFor,
  UNCHECKED,
  VIRUS,
} from './demo-scenarios.ts';
import { SPAM, SPAMMY } from './demo-scenarios-spam.ts';

export interface DemoOptions {
  /** The dataset covers the 14 days before this instant. Default: the current time. */
  now?: Date;
  /** Number of quarantined messages. Default 300. */
  messages?: number;
  /** Seed of the deterministic PRNG. Default 1. */
  seed?: number;
}

export interface DemoSummary {
  /** msgs rows, quarantined or not (the one still being processed included). */
  messages: number;
  /** msgrcpt rows. */
  recipients: number;
  /** msgs rows that have quarantine rows. */
  quarantined: number;
  /** quarantine rows. */
  chunks: number;
}
const DAYS = 14;
const BATCH_ROWS = 200;
const BATCH_BYTES = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------------
// How many of what: content categories, and the scenarios of each

const CCAT_MIX: readonly { key: Ccat; weight: number; min: number }[] = [
  { key: 'S', weight: 44, min: 3 },
  { key: 'Y', weight: 22, min: 2 },
  { key: 'V', weight: 5, min: 2 },
  { key: 'B', weight: 6, min: 2 },
  { key: 'H', weight: 5, min: 2 },
  { key: 'C', weight: 6, min: 2 },
  { key: 'M', weight: 3, min: 1 },
  { key: 'O', weight: 2.5, min: 2 },
  { key: 'U', weight: 2.5, min: 1 },
  { key: 'T', weight: 1.5, min: 1 },
  { key: 's', weight: 0, min: 2 },
  { key: '?', weight: 0, min: 2 },
];

const SCENARIOS: Record<Ccat, readonly { key: Scenario; weight: number; min: number }[]> = {
  S: [
    { key: SPAM.gtube, weight: 0, min: 2 },
    { key: SPAM.backscatter, weight: 1, min: 2 },
    { key: SPAM.phishing, weight: 3, min: 3 },
    { key: SPAM.japanese, weight: 0.5, min: 1 },
    { key: SPAM.cyrillic, weight: 1, min: 1 },
    { key: SPAM.cyrillic1251, weight: 0.5, min: 1 },
    { key: SPAM.german, weight: 1, min: 1 },
    { key: SPAM.emoji, weight: 1, min: 1 },
    { key: SPAM.longSubject, weight: 0, min: 1 },
    { key: SPAM.pharma, weight: 4, min: 0 },
    { key: SPAM.lottery, weight: 3, min: 0 },
    { key: SPAM.crypto, weight: 2, min: 0 },
    { key: SPAM.invoice, weight: 2, min: 0 },
    { key: SPAM.image, weight: 1, min: 0 },
  ],
  Y: [
    { key: SPAMMY.newsletter, weight: 4, min: 1 },
    { key: SPAMMY.seo, weight: 3, min: 0 },
    { key: SPAMMY.webinar, weight: 2, min: 0 },
    { key: SPAMMY.cart, weight: 1, min: 0 },
    { key: SPAMMY.japaneseNews, weight: 1, min: 1 },
  ],
  s: [
    { key: SPAMMY.seo, weight: 1, min: 0 },
    { key: SPAMMY.newsletter, weight: 1, min: 0 },
  ],
  V: [
    { key: VIRUS.eicarCom, weight: 1, min: 1 },
    { key: VIRUS.eicarZip, weight: 1, min: 1 },
  ],
  B: [
    { key: BANNED.exe, weight: 3, min: 1 },
    { key: BANNED.zipJs, weight: 1, min: 1 },
  ],
  H: [
    { key: BAD_HEADER.raw8bit, weight: 1, min: 1 },
    { key: BAD_HEADER.duplicateMessageId, weight: 2, min: 1 },
  ],
  M: [{ key: BAD_MIME.truncated, weight: 1, min: 0 }],
  O: [{ key: OVERSIZED.photos, weight: 1, min: 0 }],
  U: [{ key: UNCHECKED.encryptedZip, weight: 1, min: 0 }],
  T: [
    { key: CLEAN.meeting, weight: 1, min: 0 },
    { key: CLEAN.invoice, weight: 1, min: 0 },
  ],
  C: [
    { key: CLEAN.latin1Body, weight: 0, min: 1 },
    { key: CLEAN.meeting, weight: 3, min: 0 },
    { key: CLEAN.invoice, weight: 2, min: 0 },
    { key: CLEAN.digest, weight: 2, min: 0 },
  ],
  '?': [{ key: CLEAN.meeting, weight: 1, min: 0 }],
};

// ---------------------------------------------------------------------------------------------------
// Rows

type MaddrRow = AmavisTables['maddrTable']['$inferInsert'];
type MsgsRow = AmavisTables['msgsTable']['$inferInsert'];
type MsgrcptRow = AmavisTables['msgrcptTable']['$inferInsert'];
type QuarantineRow = AmavisTables['quarantineTable']['$inferInsert'];

interface Dataset {
  maddr: { email: string; domain: string }[];
  msgs: MsgsRow[];
  msgrcpt: MsgrcptRow[];
  quarantine: QuarantineRow[];
}

interface Slot {
  time: number;
  kind: 'quarantined' | 'logged' | 'processing';
  ccat: Ccat | null;
  amId: string;
  big: boolean;
  huge: boolean;
  /** How many quarantine chunks a big message should take (2..5). */
  chunks: number;
  recipients: number;
  foreign: boolean;
  scenario: Scenario | null;
}

const RS_MIX = [
  { key: ' ', weight: 70, min: 1 },
  { key: 'V', weight: 10, min: 1 },
  { key: 'R', weight: 5, min: 1 },
  { key: 'p', weight: 5, min: 1 },
  { key: 'S', weight: 4, min: 1 },
  { key: 'H', weight: 3, min: 1 },
  { key: 'D', weight: 3, min: 1 },
] as const;

function pickRecipients(rng: Random, count: number, foreign: boolean): LocalUser[] {
  const users: LocalUser[] = [];
  const weighted = LOCAL_USERS.map((u) => [u, u.weight] as const);
  while (users.length < count - (foreign ? 1 : 0)) {
    const u = rng.weighted(weighted);
    if (!users.includes(u)) users.push(u);
  }
  if (foreign) users.push(rng.pick(FOREIGN_RECIPIENTS));
  return users;
}

function clientAddress(rng: Random): string {
  return rng.chance(0.12)
    ? `2001:db8:${rng.int(1, 0xffff).toString(16)}::${rng.int(1, 0xffff).toString(16)}`
    : `${rng.pick(['192.0.2', '198.51.100', '203.0.113'])}.${rng.int(1, 254)}`;
}
function planSlots(rng: Random, count: number, nowSec: number): Slot[] {
  const ccats = allocate(rng, count, CCAT_MIX);
  const logged = Math.max(3, Math.round(count / 25));
  const slots: Slot[] = [];
  const timeIn14Days = () => nowSec - rng.int(120, DAYS * 86400 - 1);
  ccats.forEach((ccat) => {
    slots.push({
      time: timeIn14Days(),
      kind: 'quarantined',
      ccat,
      amId: '',
      big: ccat === 'O',
      huge: false,
      chunks: 1,
      recipients: 1,
      foreign: false,
      scenario: null,
    });
  });
  // Recipient counts, foreign recipients, large messages: allocated, so the minimums always exist.
  const rcptCounts = allocate(rng, slots.length, [
    { key: 1, weight: 83, min: 0 },
    { key: 2, weight: 12, min: 2 },
    { key: 3, weight: 5, min: 1 },
  ]);
  slots.forEach((s, i) => {
    s.recipients = rcptCounts[i] ?? 1;
  });
  const multi = slots.filter((s) => s.recipients > 1);
  const foreign = Math.min(multi.length, Math.max(2, Math.round(multi.length / 6)));
  for (const s of rng.shuffle([...multi]).slice(0, foreign)) s.foreign = true;
  const bigCandidates = slots.filter((s) => !s.big && s.ccat !== 'M');
  const big = Math.min(
    bigCandidates.length,
    Math.max(Math.round(count * 0.05), Math.min(6, Math.floor(count / 4))),
  );
  rng
    .shuffle([...bigCandidates])
    .slice(0, big)
    .forEach((s, i) => {
      s.big = true;
      s.chunks = 2 + (i % 4);
    });
  for (const s of slots) if (s.ccat === 'O') s.chunks = rng.int(4, 5);
  const hugeOne = slots.find((s) => s.ccat === 'O') ?? slots.find((s) => s.big);
  if (hugeOne) {
    hugeOne.big = true;
    hugeOne.huge = true;
  }
  for (const ccat of Object.keys(SCENARIOS) as Ccat[]) {
    const ofCcat = slots.filter((s) => s.ccat === ccat);
    const scenarios = allocate(rng, ofCcat.length, SCENARIOS[ccat]);
    ofCcat.forEach((s, i) => {
      s.scenario = scenarios[i] ?? null;
    });
  }
  for (let i = 0; i < logged; i++) {
    slots.push({
      time: timeIn14Days(),
      kind: 'logged',
      ccat: i % 4 === 3 ? 'Y' : 'C',
      amId: '',
      big: false,
      huge: false,
      chunks: 1,
      recipients: 1,
      foreign: false,
      scenario: i % 4 === 3 ? SPAMMY.seo : CLEAN.meeting,
    });
  }
  slots.push({
    time: nowSec - 2,
    kind: 'processing',
    ccat: null,
    amId: '',
    big: false,
    huge: false,
    chunks: 1,
    recipients: 1,
    foreign: false,
    scenario: CLEAN.meeting,
  });
  slots.sort((a, b) => a.time - b.time);
  // am_id: amavisd child pid and its message counter; children retire after 20 messages.
  const children = Array.from({ length: 4 }, () => ({ pid: rng.int(10000, 65000), n: rng.int(0, 12) }));
  for (const slot of slots) {
    const child = rng.pick(children);
    if (child.n >= 20) {
      child.pid = rng.int(10000, 65000);
      child.n = 0;
    }
    child.n += 1;
    slot.amId = `${String(child.pid).padStart(5, '0')}-${String(child.n).padStart(2, '0')}`;
  }
  return slots;
}

async function buildDataset(count: number, seed: number, now: Date): Promise<Dataset> {
  const rng = new Random(seed);
  const nowSec = Math.floor(now.getTime() / 1000);
  const slots = planSlots(rng, count, nowSec);
  const takenIds = new Set<string>();
  const addresses = new Map<string, number>();
  const maddr: Dataset['maddr'] = [];
  const addressIndex = (address: string): number => {
    const email = normaliseAddress(address);
    let index = addresses.get(email);
    if (index === undefined) {
      index = maddr.length;
      maddr.push({ email, domain: reversedDomain(email) });
      addresses.set(email, index);
    }
    return index;
  };
  const msgs: MsgsRow[] = [];
  const msgrcpt: MsgrcptRow[] = [];
  const quarantine: QuarantineRow[] = [];
  // sid/rid hold maddr *indexes* until the ids are known (see seedDemoData).
  const quarantinedRecipients: MsgrcptRow[] = [];

  for (const slot of slots) {
    const ccat = slot.ccat;
    const { mailId, secretId } = generateMailId(rng, takenIds);
    const rcpts = pickRecipients(rng, slot.recipients, slot.foreign);
    // base64 turns 57 bytes into 77 (with the LF): about 0.72 raw bytes per stored byte.
    const bigSize = slot.huge
      ? rng.int(143000, 147000)
      : Math.floor(((slot.chunks - 1) * QUARANTINE_CHUNK_SIZE + rng.int(1500, 10500)) * 0.72);
    const scenario: Scenario = slot.scenario ?? CLEAN.meeting;
    const spec = scenario({ rng, to: rcpts[0] as LocalUser, big: slot.big, bigSize, time: slot.time });
    if (slot.big && !spec.singlePart && !(spec.attachments ?? []).some((a) => a.content.length >= bigSize)) {
      // scenarios without a large attachment of their own get a generic one
      spec.attachments = [
        ...(spec.attachments ?? []),
        {
          filename: 'document.pdf',
          content: fakePdf(rng, bigSize, 'Document'),
          contentType: 'application/pdf',
        },
      ];
    }
    const client = clientAddress(rng);
    const composed = await compose(rng, spec, rcpts, slot.time, client);
    const envelopeFrom = spec.envelopeFrom ?? spec.from.address;
    const sid = addressIndex(envelopeFrom);
    const size = smtpSize(composed.original);
    const base = {
      partitionTag: 0,
      mailId,
      secretId,
      amId: slot.amId,
      timeNum: slot.time,
      timeIso: new Date(slot.time * 1000),
      sid,
      policy: '',
      clientAddr: client,
      size,
      originating: 'N',
      host: DEMO_HOST,
    } satisfies MsgsRow;

    if (slot.kind === 'processing' || ccat === null) {
      // save_info_preliminary only: content and the rest are still NULL/defaults, no msgrcpt rows yet.
      msgs.push({ ...base, content: null, quarType: null, dsnSent: null, spamLevel: null });
      continue;
    }

    const sa = scoreFor(rng, ccat, spec.gtube === true);
    // Per-recipient boosts (soft-whitelisting and the like) for extra recipients of spam.
    const bspam = rcpts.map((_, i) =>
      sa === null
        ? null
        : i > 0 && ccat === 'S' && rng.chance(0.25)
          ? Number((sa.score - 3).toFixed(3))
          : sa.score,
    );
    const quarantined = slot.kind === 'quarantined';
    const rcptRows: MsgrcptRow[] = rcpts.map((rcpt, i) => {
      const level = bspam[i] ?? null;
      let content: string = ccat;
      if (ccat === 'S' && level !== null && level < KILL_LEVEL) content = 'Y';
      const { ds, smtpResp } = quarantined
        ? delivery(rng, ccat, content, slot.amId, spec.reason)
        : {
            ds: 'P',
            smtpResp: `250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as ${rng.alnum(12)}`,
          };
      return {
        partitionTag: 0,
        mailId,
        rseqnum: i + 1,
        rid: addressIndex(rcpt.address),
        isLocal: FOREIGN_RECIPIENTS.includes(rcpt) ? 'N' : 'Y',
        content,
        ds,
        rs: ' ',
        bl: 'N',
        wl: 'N',
        bspamLevel: level,
        smtpResp,
      } satisfies MsgrcptRow;
    });
    if (quarantined && ccat === 'S' && rng.chance(0.03)) for (const r of rcptRows) r.bl = 'Y';
    msgrcpt.push(...rcptRows);
    if (quarantined) quarantinedRecipients.push(...rcptRows);

    const levels = bspam.filter((v): v is number => v !== null);
    const from = cutUtf8(decodeHeaderValue(composed.fromHeader), 255);
    const subject = cutUtf8(decodeHeaderValue(composed.subjectHeader), 255);
    msgs.push({
      ...base,
      content: ccat,
      quarType: quarantined ? 'Q' : slot.time % 2 === 0 ? ' ' : '',
      quarLoc: quarantined ? mailId : '',
      dsnSent: rcptRows.some((r) => r.ds === 'B') ? 'Y' : 'N',
      spamLevel: levels.length > 0 ? Math.min(...levels) : null,
      messageId: cutUtf8(composed.messageId, 255),
      fromAddr: from,
      subject,
    });
    if (!quarantined) continue;

    const blocked = rcpts.filter((_, i) => ['D', 'B', 'R'].includes(rcptRows[i]?.ds ?? ''));
    const autolearn =
      sa === null ? 'no' : sa.score >= 12 ? 'spam' : sa.score < 0.1 && rng.chance(0.5) ? 'ham' : 'no';
    const prefix = amavisHeaders({
      envelopeFrom,
      rcpts,
      blocked,
      mailId,
      alert: spec.alert,
      sa,
      time: slot.time,
      autolearn,
    });
    const raw = Buffer.concat([Buffer.from(prefix, 'latin1'), composed.original]);
    chunk(raw).forEach((text, i) => {
      quarantine.push({ partitionTag: 0, mailId, chunkInd: i + 1, mailText: text });
    });
  }

  const rsValues = allocate(rng, quarantinedRecipients.length, RS_MIX);
  quarantinedRecipients.forEach((r, i) => {
    r.rs = rsValues[i] ?? ' ';
  });
  return { maddr, msgs, msgrcpt, quarantine };
}

function delivery(
  rng: Random,
  ccat: Ccat,
  rcptContent: string,
  amId: string,
  reason = 'spam',
): { ds: string; smtpResp: string } {
  const passed = `250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as ${rng.alnum(12)}`;
  const discarded = `250 2.7.0 Ok, discarded, id=${amId} - ${reason}`;
  switch (ccat) {
    case 'S':
      return rcptContent === 'S' ? { ds: 'D', smtpResp: discarded } : { ds: 'P', smtpResp: passed };
    case 'V':
    case 'B':
      return { ds: 'D', smtpResp: discarded };
    case 'Y':
    case 's':
      return rng.chance(0.8) ? { ds: 'P', smtpResp: passed } : { ds: 'D', smtpResp: discarded };
    case 'O':
      return { ds: 'B', smtpResp: `250 2.5.0 Ok, id=${amId}, BOUNCE` };
    case 'T':
      return {
        ds: 'T',
        smtpResp: `451 4.5.0 From MTA(smtp:[127.0.0.1]:10025) during fwd-connect (Connection refused), id=${amId}`,
      };
    default:
      return { ds: 'P', smtpResp: passed };
  }
}

// ---------------------------------------------------------------------------------------------------
// Insertion

function batches<T>(rows: T[], size: (row: T) => number = () => 0): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    const s = size(row);
    if (current.length >= BATCH_ROWS || (current.length > 0 && bytes + s > BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += s;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Writes the demo dataset in one transaction: maddr rows first (explicit ids after the current
 * maximum, reusing addresses that already exist), then msgs, msgrcpt and quarantine.
 */
export async function seedDemoData(
  store: { connection: Connection; t: AmavisTables },
  options: DemoOptions = {},
): Promise<DemoSummary> {
  const count = Math.max(0, Math.floor(options.messages ?? 300));
  const seed = options.seed ?? 1;
  const now = options.now ?? new Date();
  const data = await buildDataset(count, seed, now);
  const { connection, t } = store;

  await connection.db.transaction(async (tx) => {
    const existing = await tx
      .select({ id: t.maddrTable.id, email: t.maddrTable.email })
      .from(t.maddrTable)
      .where(sql`${t.maddrTable.partitionTag} = 0`);
    const known = new Map(existing.map((r) => [Buffer.from(r.email).toString('latin1'), Number(r.id)]));
    const [top] = await tx.select({ id: max(t.maddrTable.id) }).from(t.maddrTable);
    let nextId = Number(top?.id ?? 0) + 1;
    const ids: number[] = [];
    const newRows: MaddrRow[] = [];
    for (const a of data.maddr) {
      const key = Buffer.from(a.email, 'utf8').toString('latin1');
      let id = known.get(key);
      if (id === undefined) {
        id = nextId++;
        newRows.push({ id, partitionTag: 0, email: Buffer.from(a.email, 'utf8'), domain: a.domain });
      }
      ids.push(id);
    }
    const idOf = (index: number) => {
      const id = ids[index];
      if (id === undefined) throw new Error(`demo data: no maddr id for index ${index}`);
      return id;
    };
    for (const rows of batches(newRows)) await tx.insert(t.maddrTable).values(rows);
    if (connection.dialect === 'pg' && newRows.length > 0) {
      await tx.execute(
        sql`select setval(pg_get_serial_sequence('maddr', 'id'), (select max(id) from maddr))`,
      );
    }
    for (const rows of batches(data.msgs.map((m) => ({ ...m, sid: idOf(m.sid) })))) {
      await tx.insert(t.msgsTable).values(rows);
    }
    for (const rows of batches(data.msgrcpt.map((r) => ({ ...r, rid: idOf(r.rid) })))) {
      await tx.insert(t.msgrcptTable).values(rows);
    }
    for (const rows of batches(data.quarantine, (q) => q.mailText.length)) {
      await tx.insert(t.quarantineTable).values(rows);
    }
  });

  return {
    messages: data.msgs.length,
    recipients: data.msgrcpt.length,
    quarantined: new Set(data.quarantine.map((q) => q.mailId)).size,
    chunks: data.quarantine.length,
  };
}
