// Bench data at scale: fills amavisd's tables (maddr, msgs, msgrcpt, quarantine) on PostgreSQL or
// MariaDB with N messages shaped like a real mail server's, through the fast bulk paths (COPY on
// PostgreSQL, multi-row INSERTs on MariaDB), with amavisd's indexes in place. Also seeds console
// accounts matching the generated addresses (seedBenchAccounts).
//
// Shape: 40 local domains with ~3,500 users (skewed: a few busy mailboxes), ~6,000 foreign senders and
// the null sender; 1–3 recipients per message (65/25/10%); ~20% of messages quarantined (content mostly
// S/Y, some V/B/H/M/O/U/T), the rest clean and only logged (content 'C', no quarantine rows); time_num
// spread over the 30 days before `now`, increasing with message order plus jitter; rs mostly ' ' with
// some V/R/p/S/H/D on quarantined messages.
//
// Quarantined copies: amavisd's header block (X-Envelope-*, X-Quarantine-ID, X-Spam-*, Received) and a
// per-message head (Received, From, To, Subject, Date, Message-ID) are built for every message; the
// MIME body after them comes from a pool of 300 precomputed bodies, so BODIES REPEAT across messages.
// ~5% of the pool is over 16 KB, so those messages span several 16 KB chunks.
//
// PostgreSQL: maddr in COPY text format, msgs/msgrcpt/quarantine in COPY binary format, three COPY
// streams at once, the next batch generated while the server digests the previous one; then setval on
// maddr's sequence and ANALYZE. MariaDB: multi-row INSERTs (sized under max_allowed_packet) on three
// connections, autocommit off with a COMMIT every 20,000 messages, unique_checks/foreign_key_checks off
// for the session; then ANALYZE TABLE. The target tables must exist (amavisd's DDL) and be empty.
//
// Everything depends only on `seed` and `now`.
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { hashPassword } from '../server/access/passwords.ts';
import { consoleTables, migrateConsoleTables } from '../server/db/console-tables.ts';
import { openDatabase } from '../server/db/database.ts';
import { QUARANTINE_CHUNK_SIZE } from '../server/demo/demo-message.ts';
import { generateMailId, reversedDomain, rfc2822 } from '../server/demo/demo-mime.ts';
import { Random } from '../server/demo/demo-random.ts';

export interface BenchTarget {
  dialect: 'pg' | 'mysql';
  url: string;
}

export interface GenerateOptions {
  messages: number;
  seed?: number;
  now?: Date;
  onProgress?: (done: number) => void;
}

export interface GenerateSummary {
  messages: number;
  recipients: number;
  quarantined: number;
  chunks: number;
  addresses: number;
  seconds: number;
  messagesPerSecond: number;
}

export const BENCH_HOST = 'mail.bench.example';
export const BENCH_PASSWORD = 'bench-password-2026';
export const BENCH_SUPERADMIN = { email: 'bench-admin@bench.example', password: BENCH_PASSWORD };
const DAYS = 30;
const BATCH_MESSAGES = 2000;
const TAG2 = 5;
const KILL = 6.31;

// ---------------------------------------------------------------------------------------------------
// The address book

const WORDS = [
  'acme',
  'nordic',
  'alpine',
  'harbor',
  'summit',
  'cedar',
  'falcon',
  'orbit',
  'lumen',
  'vertex',
  'quartz',
  'meadow',
  'pioneer',
  'atlas',
  'beacon',
  'cobalt',
  'delta',
  'ember',
  'fjord',
  'granite',
  'horizon',
  'iris',
  'juniper',
  'kestrel',
  'lagoon',
  'maple',
  'nimbus',
  'onyx',
  'prairie',
  'raven',
  'sierra',
  'tundra',
  'umbra',
  'valley',
  'willow',
  'zenith',
  'aurora',
  'boreal',
  'canyon',
  'dune',
]; // prettier-ignore
const FIRST = [
  'anna',
  'ben',
  'carla',
  'david',
  'elena',
  'felix',
  'greta',
  'hugo',
  'ines',
  'jonas',
  'kim',
  'lena',
  'marco',
  'nina',
  'oscar',
  'paula',
  'quentin',
  'rosa',
  'sven',
  'tara',
  'ulla',
  'victor',
  'wanda',
  'xavier',
  'yara',
  'zoe',
  'amir',
  'bea',
  'chen',
  'dario',
  'eva',
  'farid',
  'gina',
  'hans',
  'ivo',
  'jana',
]; // prettier-ignore
const LAST = [
  'meyer',
  'smith',
  'rossi',
  'novak',
  'garcia',
  'jensen',
  'martin',
  'kowalski',
  'dubois',
  'silva',
  'berg',
  'tanaka',
  'okafor',
  'larsen',
  'weber',
  'costa',
  'moreau',
  'fischer',
  'nguyen',
  'horvat',
]; // prettier-ignore
const ROLES = ['info', 'sales', 'support', 'billing', 'hr', 'office', 'jobs', 'press', 'it', 'contact'];
const TLDS = ['com', 'net', 'org', 'de', 'fr', 'co.uk', 'io', 'ch', 'nl', 'example'];
const FOREIGN_WORDS = [
  'promo',
  'deals',
  'news',
  'mailer',
  'notify',
  'secure',
  'bank',
  'shop',
  'market',
  'cloud',
  'crypto',
  'pharma',
  'lotto',
  'travel',
  'invoice',
  'delivery',
  'social',
  'events',
  'survey',
  'prize',
]; // prettier-ignore

export interface AddressBook {
  /** Local domains, lowercase. */
  domains: string[];
  /** Local mailboxes (index = position in maddr after the senders). */
  users: string[];
  /** Foreign senders; '' (the null sender) first. */
  senders: string[];
  /** Display names of the senders (same index). */
  senderNames: string[];
}

/** The deterministic address book for a seed (also what seedBenchAccounts matches). */
export function benchAddressBook(seed = 1): AddressBook {
  const rng = new Random(seed * 7919 + 17);
  const domains: string[] = [];
  const taken = new Set<string>();
  while (domains.length < 40) {
    const d = `${rng.pick(WORDS)}-${rng.pick(WORDS)}.${rng.pick(TLDS)}`;
    if (!taken.has(d)) {
      taken.add(d);
      domains.push(d);
    }
  }
  const users: string[] = [];
  const seen = new Set<string>();
  for (const [i, domain] of domains.entries()) {
    // a few big domains, many small ones
    const count = i < 4 ? 400 : i < 12 ? 120 : 45;
    for (const role of ROLES.slice(0, 4 + (i % 6))) {
      const a = `${role}@${domain}`;
      if (!seen.has(a)) {
        seen.add(a);
        users.push(a);
      }
    }
    let guard = 0;
    let have = users.filter((u) => u.endsWith(`@${domain}`)).length;
    while (have < count && guard++ < count * 20) {
      const style = rng.int(0, 2);
      const f = rng.pick(FIRST);
      const l = rng.pick(LAST);
      const local = style === 0 ? `${f}.${l}` : style === 1 ? `${f[0]}${l}` : `${f}${rng.int(1, 99)}`;
      const a = `${local}@${domain}`;
      if (!seen.has(a)) {
        seen.add(a);
        users.push(a);
        have++;
      }
    }
  }
  const senders = [''];
  const senderNames = [''];
  const foreignDomains: string[] = [];
  while (foreignDomains.length < 600) {
    const d = `${rng.pick(FOREIGN_WORDS)}${rng.pick(['', '-', 'mail', 'hub'])}${rng.pick(WORDS)}.${rng.pick(TLDS)}`;
    if (!taken.has(d)) {
      taken.add(d);
      foreignDomains.push(d);
    }
  }
  while (senders.length < 6000) {
    const d = rng.pick(foreignDomains);
    const f = rng.pick(FIRST);
    const l = rng.pick(LAST);
    const kind = rng.int(0, 3);
    const local =
      kind === 0
        ? `${f}.${l}`
        : kind === 1
          ? rng.pick(['noreply', 'newsletter', 'offers', 'alerts', 'bounce'])
          : kind === 2
            ? `${rng.pick(FOREIGN_WORDS)}${rng.int(1, 9999)}`
            : `${f}${rng.int(1, 999)}`;
    const a = `${local}@${d}`;
    if (seen.has(a)) continue;
    seen.add(a);
    senders.push(a);
    senderNames.push(
      kind === 0 ? `${cap(f)} ${cap(l)}` : kind === 1 ? `${cap(d.split('.')[0] ?? d)} Team` : '',
    );
  }
  return { domains, users, senders, senderNames };
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ---------------------------------------------------------------------------------------------------
// Content: categories, subjects, bodies

const QUARANTINED_MIX: readonly (readonly [string, number])[] = [
  ['S', 55],
  ['Y', 25],
  ['V', 5],
  ['B', 5],
  ['H', 4],
  ['M', 2],
  ['O', 1.5],
  ['U', 1.5],
  ['T', 1],
];
const RS_MIX: readonly (readonly [string, number])[] = [
  [' ', 80],
  ['V', 8],
  ['R', 4],
  ['p', 2],
  ['S', 2],
  ['H', 2],
  ['D', 2],
];
const SUBJECTS: Record<string, readonly string[]> = {
  C: [
    'Meeting notes {n}',
    'Re: project {w} status',
    'Invoice {n} for {w}',
    'Your order #{n} has shipped',
    'Weekly report week {k}',
    'Fwd: {w} contract draft',
    'Lunch on {day}?',
    'Re: Re: {w} budget',
    'Besprechung {w} am {day}',
    'Compte rendu réunion {w}',
  ],
  S: [
    'You have WON {n} EUR',
    'Cheap meds - {k}% off',
    'Verify your account now #{n}',
    'URGENT: payment {n} failed',
    'Crypto profits of {k}00% guaranteed',
    'Ваш выигрыш {n}',
    'Lottery claim ref {n}',
    'Unpaid invoice {n} - final notice',
  ],
  Y: [
    '{w} newsletter - {day} edition',
    'Last chance: {k}% off {w}',
    'Webinar invitation: {w} growth',
    'You left items in your cart',
    'SEO services for {w}',
  ],
  V: ['Document {n}', 'Scan from printer {n}', 'Payment advice {n}'],
  B: ['Invoice_{n}.exe', 'Your parcel {n}', 'Attached file {w}'],
  H: ['Re: {w}', 'Information {n}', 'Müller Angebot {n}'],
  M: ['Fwd: {w}', 'Report {n}'],
  O: ['Photos from {day}', 'Big file {w}'],
  U: ['Encrypted: {w}', 'Password protected {n}'],
  T: ['Delivery failure {n}', 'Re: {w}'],
};
const DAYNAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

function subjectFor(rng: Random, content: string): string {
  const list = SUBJECTS[content] ?? SUBJECTS.C ?? [];
  return rng
    .pick(list)
    .replace('{n}', String(rng.int(1000, 999999)))
    .replace('{k}', String(rng.int(2, 95)))
    .replace('{w}', rng.pick(WORDS))
    .replace('{day}', rng.pick(DAYNAMES));
}

function encodeHeader(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

interface PoolBody {
  /** The MIME part after the message's own header lines (content headers, blank line, body). */
  raw: Buffer;
  bytes: number;
  lines: number;
}

const LOREM =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore ' +
  'et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut ' +
  'aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse. ';

function wrap(text: string, width = 76): string {
  const out: string[] = [];
  for (let at = 0; at < text.length; at += width) out.push(text.slice(at, at + width));
  return out.join('\n');
}

function buildBodyPool(rng: Random, count: number): PoolBody[] {
  const pool: PoolBody[] = [];
  for (let i = 0; i < count; i++) {
    const big = i % 20 === 7; // 5% span several chunks
    const target = big ? rng.int(17_000, 48_000) : rng.int(400, 4500);
    const boundary = `----=_Part_${rng.hex(16)}`;
    const kind = i % 4;
    let text = '';
    while (text.length < Math.min(target, 3000)) text += `${LOREM}${rng.hex(8)} `;
    let part: string;
    if (kind === 0 && !big) {
      part = `MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n${wrap(text.slice(0, target))}\n`;
    } else if (kind === 1 && !big) {
      const html = `<html><body><p>${text.slice(0, target).replace(/\. /g, '.</p>\n<p>')}</p></body></html>`;
      part =
        `MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="${boundary}"\n\n` +
        `--${boundary}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n` +
        `${wrap(text.slice(0, target / 2), 75)}\n--${boundary}\nContent-Type: text/html; charset=utf-8\n` +
        `Content-Transfer-Encoding: 7bit\n\n${wrap(html, 76)}\n--${boundary}--\n`;
    } else {
      const attachment = rng.bytes(Math.max(200, Math.floor((target - text.length / 2) * 0.74)));
      const name = rng.pick([
        'invoice.pdf',
        'scan.pdf',
        'photo.jpg',
        'report.docx',
        'setup.exe',
        'archive.zip',
      ]);
      const type = name.endsWith('.pdf')
        ? 'application/pdf'
        : name.endsWith('.jpg')
          ? 'image/jpeg'
          : 'application/octet-stream';
      part =
        `MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="${boundary}"\n\n` +
        `This is a multi-part message in MIME format.\n\n--${boundary}\n` +
        `Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n` +
        `${wrap(text.slice(0, 1500))}\n--${boundary}\nContent-Type: ${type}; name="${name}"\n` +
        `Content-Disposition: attachment; filename="${name}"\nContent-Transfer-Encoding: base64\n\n` +
        `${wrap(attachment.toString('base64'))}\n--${boundary}--\n`;
    }
    const buf = Buffer.from(part, 'utf8');
    let lines = 0;
    for (const b of buf) if (b === 0x0a) lines++;
    pool.push({ raw: buf, bytes: buf.length, lines });
  }
  return pool;
}

// ---------------------------------------------------------------------------------------------------
// Row generation

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function isoBasic(sec: number): string {
  const d = new Date(sec * 1000);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
}

interface Message {
  mailId: string;
  secretId: string;
  amId: string;
  time: number;
  sid: number;
  clientAddr: string;
  size: number;
  originating: string;
  content: string;
  quarType: string;
  quarLoc: string;
  dsnSent: string;
  spamLevel: number | null;
  messageId: string;
  fromAddr: string;
  subject: string;
  policy: string;
  rcpts: {
    rid: number;
    content: string;
    ds: string;
    rs: string;
    bspam: number | null;
    smtpResp: string;
  }[];
  /** The quarantined copy (amavisd's block + head + pool body); null when not quarantined. */
  quarantine: Buffer | null;
}

/** Skewed index in [0, n): busy mailboxes get much more mail. */
function skewed(rng: Random, n: number): number {
  const r = rng.next();
  return Math.min(n - 1, Math.floor(r * r * r * n));
}

class Generator {
  readonly rng: Random;
  readonly book: AddressBook;
  readonly pool: PoolBody[];
  readonly taken = new Set<string>();
  readonly userBase: number;
  readonly start: number;
  readonly span: number;
  readonly nowSec: number;
  readonly total: number;
  constructor(seed: number, now: Date, total: number) {
    this.rng = new Random(seed);
    this.book = benchAddressBook(seed);
    this.pool = buildBodyPool(new Random(seed * 31 + 5), 300);
    // maddr ids: senders first (1..), then local users
    this.userBase = this.book.senders.length + 1;
    this.nowSec = Math.floor(now.getTime() / 1000);
    this.start = this.nowSec - DAYS * 86400;
    this.span = DAYS * 86400 - 120;
    this.total = total;
  }

  maddr(): { id: number; email: string; domain: string }[] {
    const rows: { id: number; email: string; domain: string }[] = [];
    this.book.senders.forEach((email, i) => {
      rows.push({ id: i + 1, email, domain: reversedDomain(email) });
    });
    this.book.users.forEach((email, i) => {
      rows.push({ id: this.userBase + i, email, domain: reversedDomain(email) });
    });
    return rows;
  }

  message(i: number): Message {
    const rng = this.rng;
    const { mailId, secretId } = generateMailId(rng, this.taken);
    const jitter = rng.int(-90, 90);
    const time = Math.min(
      this.nowSec - 1,
      Math.max(this.start + 1, this.start + Math.floor(((i + 0.5) * this.span) / this.total) + jitter),
    );
    const quarantined = rng.chance(0.2);
    const content = quarantined ? rng.weighted(QUARANTINED_MIX) : 'C';
    const users = this.book.users;
    const originating = !quarantined && rng.chance(0.1);
    let sid: number;
    let senderAddress: string;
    let senderName: string;
    if (originating) {
      const u = skewed(rng, users.length);
      sid = this.userBase + u;
      senderAddress = users[u] ?? '';
      senderName = cap(senderAddress.split(/[.@]/)[0] ?? '');
    } else {
      const s = rng.chance(0.04) ? 0 : 1 + skewed(rng, this.book.senders.length - 1);
      sid = s + 1;
      senderAddress = this.book.senders[s] ?? '';
      senderName = this.book.senderNames[s] ?? '';
    }
    const r = rng.next();
    const count = r < 0.65 ? 1 : r < 0.9 ? 2 : 3;
    const rids: number[] = [];
    while (rids.length < count) {
      const u = skewed(rng, users.length);
      if (!rids.includes(u)) rids.push(u);
    }
    let base: number | null;
    if (content === 'S') base = Math.round(rng.int(631, 4500)) / 100;
    else if (content === 'Y') base = Math.round(rng.int(500, 630)) / 100;
    else if (content === 'C') base = rng.chance(0.03) ? null : Math.round(rng.int(-500, 499)) / 100;
    else base = rng.chance(0.5) ? null : Math.round(rng.int(-200, 900)) / 100;
    const rcpts = rids.map((u) => {
      const bspam =
        base === null ? null : Math.round((base + (rng.chance(0.2) ? rng.int(-10, 30) / 10 : 0)) * 100) / 100;
      const discarded = content === 'S' || content === 'V' || content === 'B';
      return {
        rid: this.userBase + u,
        content,
        ds: discarded ? 'D' : 'P',
        rs: quarantined ? rng.weighted(RS_MIX) : ' ',
        bspam,
        smtpResp: discarded
          ? `250 2.7.0 Ok, discarded, id=${pad(rng.int(1000, 99999), 5)}-${pad(rng.int(1, 20))} - ${content === 'S' ? 'spam' : content === 'V' ? 'INFECTED' : 'BANNED'}`
          : `250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as ${rng.alnum(12)}`,
      };
    });
    const bspams = rcpts.map((x) => x.bspam).filter((x): x is number => x !== null);
    const spamLevel = bspams.length > 0 ? Math.min(...bspams) : null;
    const subject = subjectFor(rng, content);
    const senderDomain = senderAddress.split('@')[1] ?? 'localhost';
    const messageId = `<${rng.hex(8)}.${rng.hex(12)}@${senderDomain}>`;
    const fromAddr = senderName ? `"${senderName}" <${senderAddress || 'MAILER-DAEMON'}>` : senderAddress;
    const clientAddr = originating
      ? `10.0.${rng.int(0, 255)}.${rng.int(1, 254)}`
      : rng.chance(0.1)
        ? `2001:db8:${rng.int(1, 0xffff).toString(16)}::${rng.int(1, 0xffff).toString(16)}`
        : `${rng.pick(['192.0.2', '198.51.100', '203.0.113'])}.${rng.int(1, 254)}`;
    const body = this.pool[rng.int(0, this.pool.length - 1)] as PoolBody;
    const to = rids.map((u) => users[u]).join(', ');
    const head =
      `Received: from mx${rng.int(1, 4)}.${senderDomain} ([${clientAddr}])\n\tby ${BENCH_HOST} (Postfix) with ESMTP id ${rng.alnum(12)}\n` +
      `\tfor <${users[rids[0] as number]}>; ${rfc2822(time - 1)} (UTC)\n` +
      `From: ${senderName ? `${encodeHeader(senderName)} <${senderAddress}>` : senderAddress || '<>'}\n` +
      `To: ${to}\nSubject: ${encodeHeader(subject)}\nDate: ${rfc2822(time - rng.int(1, 300))}\nMessage-ID: ${messageId}\n`;
    const headLines = 7 + 1;
    const headBytes = Buffer.byteLength(head, 'utf8');
    const size = headBytes + body.bytes + headLines + body.lines;
    let quarantine: Buffer | null = null;
    if (quarantined) {
      const recipients = rids.map((u) => `<${users[u]}>`);
      const lines = [
        `X-Envelope-From: <${senderAddress}>`,
        `X-Envelope-To: ${recipients.join(',\n ')}`,
        `X-Quarantine-ID: <${mailId}>`,
      ];
      if (content === 'V') lines.push('X-Amavis-Alert: INFECTED, message contains virus: Eicar-Signature');
      if (content === 'B') lines.push('X-Amavis-Alert: BANNED, message contains .exe,setup.exe');
      if (content === 'H')
        lines.push('X-Amavis-Alert: BAD HEADER SECTION, Non-encoded 8-bit data (char C3 hex)');
      if (spamLevel !== null) {
        const yes = spamLevel >= TAG2;
        lines.push(`X-Spam-Flag: ${yes ? 'YES' : 'NO'}`, `X-Spam-Score: ${spamLevel.toFixed(3)}`);
        const stars = Math.max(0, Math.min(64, Math.floor(spamLevel)));
        if (stars > 0) lines.push(`X-Spam-Level: ${'*'.repeat(stars)}`);
        lines.push(
          `X-Spam-Status: ${yes ? 'Yes' : 'No'}, score=${spamLevel.toFixed(3)} tag=-999 tag2=${TAG2}\n\tkill=${KILL} tests=[BAYES_99=3.5, URIBL_BLOCKED=0.001] autolearn=no autolearn_force=no`,
        );
      }
      lines.push(
        `Received: from ${BENCH_HOST} ([127.0.0.1])\n by localhost (${BENCH_HOST} [127.0.0.1]) (amavis, port 10024)\n with ESMTP id ${mailId}; ${rfc2822(time)} (UTC)`,
      );
      quarantine = Buffer.concat([Buffer.from(`${lines.join('\n')}\n${head}`, 'utf8'), body.raw]);
    }
    return {
      mailId,
      secretId,
      amId: `${pad(rng.int(1000, 65000), 5)}-${pad(rng.int(1, 40))}`,
      time,
      sid,
      clientAddr,
      size,
      originating: originating ? 'Y' : ' ',
      content,
      quarType: quarantined ? 'Q' : '',
      quarLoc: quarantined ? mailId : '',
      dsnSent: 'N',
      spamLevel,
      messageId,
      fromAddr,
      subject,
      policy: originating ? 'ORIGINATING' : '',
      rcpts,
      quarantine,
    };
  }
}

/** Splits a hex string into amavisd's 16 KB chunks. */
function hexChunks(hex: string): string[] {
  const out: string[] = [];
  const step = QUARANTINE_CHUNK_SIZE * 2;
  for (let at = 0; at < hex.length; at += step) out.push(hex.slice(at, at + step));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL: COPY (text format)

function copyText(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}
/**
 * bytea in COPY text format: printable ASCII without backslashes as is (bytea's escape format, which
 * covers mail_ids and most addresses), anything else as \\x hex.
 */
function copyBytea(text: string): string {
  if (/^[\x20-\x5b\x5d-\x7e]*$/.test(text)) return text;
  return `\\\\x${Buffer.from(text, 'utf8').toString('hex')}`;
}

type Writable = NodeJS.WritableStream & { on(event: string, fn: (...args: unknown[]) => void): unknown };

function writeAll(stream: Writable, data: string | Buffer): Promise<void> {
  if (stream.write(data)) return Promise.resolve();
  return new Promise((resolve) => stream.once('drain', () => resolve()));
}
function finish(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('finish', () => resolve());
    stream.on('error', (e) => reject(e));
    stream.end();
  });
}

// quarantine goes in COPY's binary format: no hex round trip for the message text
const BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/** One quarantine tuple: partition_tag int4 0, mail_id bytea, chunk_ind int4, mail_text bytea. */
function binaryTuple(mailId: Buffer, chunkInd: number, text: Buffer): Buffer {
  const head = Buffer.allocUnsafe(2 + 8 + 4 + mailId.length + 8 + 4);
  let at = head.writeInt16BE(4, 0);
  at = head.writeInt32BE(4, at);
  at = head.writeInt32BE(0, at);
  at = head.writeInt32BE(mailId.length, at);
  at += mailId.copy(head, at);
  at = head.writeInt32BE(4, at);
  at = head.writeInt32BE(chunkInd, at);
  head.writeInt32BE(text.length, at);
  return Buffer.concat([head, text]);
}

/** Tuples in COPY's binary format, for int4 / float4 / text-like (ASCII) / bytea (ASCII) columns. */
class BinaryRows {
  private buf = Buffer.allocUnsafe(1 << 20);
  private at = 0;
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
  fields(n: number): this {
    this.room(2);
    this.at = this.buf.writeInt16BE(n, this.at);
    return this;
  }
  i4(v: number): this {
    this.room(8);
    this.at = this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeInt32BE(v, this.at);
    return this;
  }
  f4(v: number | null): this {
    this.room(8);
    if (v === null) {
      this.at = this.buf.writeInt32BE(-1, this.at);
      return this;
    }
    this.at = this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeFloatBE(v, this.at);
    return this;
  }
  /** A value whose characters are all ASCII (char, varchar, bytea). */
  ascii(v: string): this {
    this.room(4 + v.length);
    this.at = this.buf.writeInt32BE(v.length, this.at);
    this.at += this.buf.write(v, this.at, 'latin1');
    return this;
  }
  /** Any text (varchar), UTF-8. */
  text(v: string): this {
    const length = Buffer.byteLength(v, 'utf8');
    this.room(4 + length);
    this.at = this.buf.writeInt32BE(length, this.at);
    this.at += this.buf.write(v, this.at, 'utf8');
    return this;
  }
  /** timestamptz from Unix seconds: microseconds since 2000-01-01. */
  timestamp(seconds: number): this {
    this.room(12);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeBigInt64BE(BigInt(seconds - 946_684_800) * 1_000_000n, this.at);
    return this;
  }
  /** The rows so far (a copy), emptying the writer. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    return out;
  }
}

interface Counts {
  messages: number;
  recipients: number;
  quarantined: number;
  chunks: number;
}

async function loadPostgres(url: string, gen: Generator, options: GenerateOptions): Promise<Counts> {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  const counts: Counts = { messages: 0, recipients: 0, quarantined: 0, chunks: 0 };
  try {
    // postgres.js never settles a COPY stream whose data the server rejected (the error comes after
    // CopyDone, when the stream is gone), so refuse the usual cause up front: tables that hold rows.
    const [filled] = await sql`select exists (select 1 from maddr) or exists (select 1 from msgs)
      or exists (select 1 from msgrcpt) or exists (select 1 from quarantine) as filled`;
    if (filled?.filled) throw new Error("amavisd's tables must be empty: use a fresh database");
    const maddr = await sql`copy maddr (id, partition_tag, email, domain) from stdin`.writable();
    await writeAll(
      maddr as Writable,
      gen
        .maddr()
        .map((r) => `${r.id}\t0\t${copyBytea(r.email)}\t${copyText(r.domain)}\n`)
        .join(''),
    );
    await finish(maddr as Writable);
    await sql`select setval(pg_get_serial_sequence('maddr', 'id'), (select max(id) from maddr))`;

    const msgs =
      (await sql`copy msgs (partition_tag, mail_id, secret_id, am_id, time_num, time_iso, sid, policy,
      client_addr, size, originating, content, quar_type, quar_loc, dsn_sent, spam_level, message_id, from_addr,
      subject, host) from stdin with (format binary)`.writable()) as Writable;
    await writeAll(msgs, BINARY_HEADER);
    const rcpt =
      (await sql`copy msgrcpt (partition_tag, mail_id, rseqnum, rid, is_local, content, ds, rs, bl, wl,
      bspam_level, smtp_resp) from stdin with (format binary)`.writable()) as Writable;
    await writeAll(rcpt, BINARY_HEADER);
    const quar =
      (await sql`copy quarantine (partition_tag, mail_id, chunk_ind, mail_text) from stdin with (format binary)`.writable()) as Writable;
    await writeAll(quar, BINARY_HEADER);
    let pending: Promise<unknown> = Promise.resolve();
    for (let done = 0; done < options.messages; ) {
      const n = Math.min(BATCH_MESSAGES, options.messages - done);
      const m = new BinaryRows();
      const r = new BinaryRows();
      const q: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const x = gen.message(done + i);
        m.fields(20).i4(0).ascii(x.mailId).ascii(x.secretId).ascii(x.amId).i4(x.time).timestamp(x.time);
        m.i4(x.sid).ascii(x.policy).ascii(x.clientAddr).i4(x.size).ascii(x.originating).ascii(x.content);
        m.ascii(x.quarType).ascii(x.quarLoc).ascii(x.dsnSent).f4(x.spamLevel).ascii(x.messageId);
        m.text(x.fromAddr).text(x.subject).ascii(BENCH_HOST);
        x.rcpts.forEach((c, seq) => {
          r.fields(12)
            .i4(0)
            .ascii(x.mailId)
            .i4(seq + 1)
            .i4(c.rid)
            .ascii('Y')
            .ascii(c.content)
            .ascii(c.ds);
          r.ascii(c.rs).ascii(' ').ascii(' ').f4(c.bspam).ascii(c.smtpResp);
        });
        counts.recipients += x.rcpts.length;
        if (x.quarantine) {
          counts.quarantined++;
          const mailId = Buffer.from(x.mailId, 'latin1');
          let k = 0;
          for (let at = 0; at < x.quarantine.length; at += QUARANTINE_CHUNK_SIZE) {
            const text = x.quarantine.subarray(at, at + QUARANTINE_CHUNK_SIZE);
            q.push(binaryTuple(mailId, ++k, text));
          }
          counts.chunks += k;
        }
      }
      // the database digests this batch while the next one is generated
      await pending;
      pending = Promise.all([
        writeAll(msgs, m.take()),
        writeAll(rcpt, r.take()),
        writeAll(quar, Buffer.concat(q)),
      ]);
      done += n;
      counts.messages = done;
      options.onProgress?.(done);
    }
    await pending;
    await writeAll(quar, BINARY_TRAILER);
    await writeAll(rcpt, BINARY_TRAILER);
    await writeAll(msgs, BINARY_TRAILER);
    await Promise.all([finish(msgs), finish(rcpt), finish(quar)]);
    await Promise.all([sql`analyze maddr`, sql`analyze msgs`, sql`analyze msgrcpt`, sql`analyze quarantine`]);
  } finally {
    await sql.end({ timeout: 5 });
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------------
// MariaDB: multi-row INSERTs

function myText(value: string | number | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') return String(value);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping NUL and ^Z like mysql's escape
  return `'${value.replace(/[\0\n\r\b\t\\'"\x1a]/g, (c) => {
    switch (c) {
      case '\0':
        return '\\0';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\b':
        return '\\b';
      case '\t':
        return '\\t';
      case '\x1a':
        return '\\Z';
      default:
        return `\\${c}`;
    }
  })}'`;
}
function myBinary(text: string): string {
  return text === '' ? "''" : `X'${Buffer.from(text, 'utf8').toString('hex')}'`;
}

class MysqlSink {
  private rows: string[] = [];
  private bytes = 0;
  private pending: Promise<unknown> = Promise.resolve();
  private readonly connection: mysql.Connection;
  private readonly head: string;
  private readonly limit: number;
  constructor(connection: mysql.Connection, head: string, limit: number) {
    this.connection = connection;
    this.head = head;
    this.limit = limit;
  }
  async add(row: string): Promise<void> {
    if (this.bytes + row.length + 2 > this.limit && this.rows.length > 0) await this.flush();
    this.rows.push(row);
    this.bytes += row.length + 1;
  }
  async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const statement = `${this.head} VALUES ${this.rows.join(',')}`;
    this.rows = [];
    this.bytes = 0;
    await this.pending;
    this.pending = this.connection.query(statement);
  }
  async commit(): Promise<void> {
    await this.flush();
    await this.pending;
    await this.connection.query('COMMIT');
  }
}

async function loadMysql(url: string, gen: Generator, options: GenerateOptions): Promise<Counts> {
  const connect = async () => {
    const c = await mysql.createConnection({ uri: url, charset: 'utf8mb4', timezone: 'Z' });
    await c.query('SET SESSION unique_checks = 0, foreign_key_checks = 0, autocommit = 0');
    return c;
  };
  const connections = await Promise.all([connect(), connect(), connect()]);
  const [c1, c2, c3] = connections as [mysql.Connection, mysql.Connection, mysql.Connection];
  const counts: Counts = { messages: 0, recipients: 0, quarantined: 0, chunks: 0 };
  try {
    const [[packet]] = (await c1.query('SELECT @@max_allowed_packet AS p')) as unknown as [[{ p: number }]];
    const limit = Math.max(256 * 1024, Math.min(Number(packet?.p ?? 4194304) - 64 * 1024, 8 * 1024 * 1024));
    const [[filled]] = (await c1.query(
      'SELECT EXISTS (SELECT 1 FROM maddr) OR EXISTS (SELECT 1 FROM msgs) OR EXISTS (SELECT 1 FROM msgrcpt) ' +
        'OR EXISTS (SELECT 1 FROM quarantine) AS filled',
    )) as unknown as [[{ filled: number }]];
    if (Number(filled?.filled)) throw new Error("amavisd's tables must be empty: use a fresh database");
    const maddr = new MysqlSink(c1, 'INSERT INTO maddr (id, partition_tag, email, domain)', limit);
    for (const r of gen.maddr()) await maddr.add(`(${r.id},0,${myBinary(r.email)},${myText(r.domain)})`);
    await maddr.commit();
    const msgs = new MysqlSink(
      c1,
      'INSERT INTO msgs (partition_tag, mail_id, secret_id, am_id, time_num, time_iso, sid, policy, client_addr, ' +
        'size, originating, content, quar_type, quar_loc, dsn_sent, spam_level, message_id, from_addr, subject, host)',
      limit,
    );
    const rcpt = new MysqlSink(
      c2,
      'INSERT INTO msgrcpt (partition_tag, mail_id, rseqnum, rid, is_local, content, ds, rs, bl, wl, bspam_level, smtp_resp)',
      limit,
    );
    const quar = new MysqlSink(
      c3,
      'INSERT INTO quarantine (partition_tag, mail_id, chunk_ind, mail_text)',
      limit,
    );
    let sinceCommit = 0;
    for (let i = 0; i < options.messages; i++) {
      const x = gen.message(i);
      const id = myBinary(x.mailId);
      await msgs.add(
        `(0,${id},${myBinary(x.secretId)},'${x.amId}',${x.time},'${isoBasic(x.time)}',${x.sid},${myText(x.policy)},` +
          `'${x.clientAddr}',${x.size},'${x.originating}','${x.content}','${x.quarType}',${myBinary(x.quarLoc)},` +
          `'${x.dsnSent}',${myText(x.spamLevel)},${myText(x.messageId)},${myText(x.fromAddr)},${myText(x.subject)},'${BENCH_HOST}')`,
      );
      for (const [seq, c] of x.rcpts.entries()) {
        await rcpt.add(
          `(0,${id},${seq + 1},${c.rid},'Y','${c.content}','${c.ds}','${c.rs}',' ',' ',${myText(c.bspam)},${myText(c.smtpResp)})`,
        );
      }
      counts.recipients += x.rcpts.length;
      if (x.quarantine) {
        counts.quarantined++;
        for (const [k, h] of hexChunks(x.quarantine.toString('hex')).entries()) {
          await quar.add(`(0,${id},${k + 1},X'${h}')`);
          counts.chunks++;
        }
      }
      counts.messages = i + 1;
      if (++sinceCommit >= 20_000 || i + 1 === options.messages) {
        await Promise.all([msgs.commit(), rcpt.commit(), quar.commit()]);
        sinceCommit = 0;
      }
      if ((i + 1) % BATCH_MESSAGES === 0 || i + 1 === options.messages) options.onProgress?.(i + 1);
    }
    await Promise.all([msgs.commit(), rcpt.commit(), quar.commit()]);
    await c1.query('ANALYZE TABLE maddr, msgs, msgrcpt, quarantine');
  } finally {
    await Promise.all(connections.map((c) => c.end()));
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------------

/** Fills amavisd's (existing, empty) tables in `target` with `options.messages` messages. */
export async function generateAmavisData(
  target: BenchTarget,
  options: GenerateOptions,
): Promise<GenerateSummary> {
  const started = performance.now();
  const gen = new Generator(options.seed ?? 1, options.now ?? new Date(), Math.max(1, options.messages));
  const counts =
    target.dialect === 'pg'
      ? await loadPostgres(target.url, gen, options)
      : await loadMysql(target.url, gen, options);
  const seconds = (performance.now() - started) / 1000;
  return {
    ...counts,
    addresses: gen.book.senders.length + gen.book.users.length,
    seconds: Math.round(seconds * 100) / 100,
    messagesPerSecond: Math.round(counts.messages / seconds),
  };
}

// ---------------------------------------------------------------------------------------------------
// Console accounts

export interface SeedAccountsSummary {
  superadmin: string;
  domainAdmins: number;
  users: number;
  password: string;
}

/**
 * Console accounts matching the generated addresses: one superadmin (BENCH_SUPERADMIN), a domain admin
 * `domainadmin@<domain>` per local domain, and users for every `userEvery`-th local mailbox. All share
 * BENCH_PASSWORD (hashed once). Migrates the console tables first; expects no bench accounts yet.
 */
export async function seedBenchAccounts(
  target: BenchTarget,
  options: { seed?: number; userEvery?: number } = {},
): Promise<SeedAccountsSummary> {
  const book = benchAddressBook(options.seed ?? 1);
  const connection = await openDatabase(
    { kind: 'url', dialect: target.dialect, url: target.url, display: 'bench' },
    'console',
  );
  try {
    await migrateConsoleTables(connection);
    const { accountsTable, accountAddressesTable, domainsTable, domainAdminsTable } = consoleTables(
      connection.dialect,
    );
    const { db } = connection;
    const passwordHash = await hashPassword(BENCH_PASSWORD);
    const every = Math.max(1, options.userEvery ?? 10);
    const userEmails = book.users.filter((_, i) => i % every === 0);
    const admins = book.domains.map((d) => `domainadmin@${d}`);
    const accounts = [
      { email: BENCH_SUPERADMIN.email, role: 'superadmin' },
      ...admins.map((email) => ({ email, role: 'domainadmin' })),
      ...userEmails.map((email) => ({ email, role: 'user' })),
    ];
    for (let at = 0; at < accounts.length; at += 500) {
      await db
        .insert(accountsTable)
        .values(accounts.slice(at, at + 500).map((a) => ({ ...a, passwordHash, authSource: 'local' })));
    }
    const ids = new Map<string, number>();
    for (const row of await db
      .select({ id: accountsTable.id, email: accountsTable.email })
      .from(accountsTable))
      ids.set(row.email, row.id);
    const addresses = accounts.map((a) => ({
      accountId: ids.get(a.email) as number,
      address: a.email,
      isPrimary: true,
    }));
    for (let at = 0; at < addresses.length; at += 500)
      await db.insert(accountAddressesTable).values(addresses.slice(at, at + 500));
    await db.insert(domainsTable).values(book.domains.map((name) => ({ name })));
    const domainIds = new Map<string, number>();
    for (const row of await db.select({ id: domainsTable.id, name: domainsTable.name }).from(domainsTable))
      domainIds.set(row.name, row.id);
    await db.insert(domainAdminsTable).values(
      book.domains.map((d) => ({
        accountId: ids.get(`domainadmin@${d}`) as number,
        domainId: domainIds.get(d) as number,
      })),
    );
    return {
      superadmin: BENCH_SUPERADMIN.email,
      domainAdmins: admins.length,
      users: userEmails.length,
      password: BENCH_PASSWORD,
    };
  } finally {
    await connection.close();
  }
}
