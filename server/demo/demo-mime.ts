// Header, charset and encoding helpers for the demo data: amavisd's encodings (mail_id, maddr
// addresses, header values cut and decoded for msgs), RFC 2047 and RFC 2822 text, byte-for-byte
// surgery on raw messages, and attachment contents (fake PDF, EXE and zip files, EICAR, GTUBE).
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import type { Random } from './demo-random.ts';

// ---------------------------------------------------------------------------------------------------
// amavisd's encodings

/** amavisd's generate_mail_id: secret = random bytes, mail_id = b64url(md5(secret)) cut to 12 chars. */
export function generateMailId(rng: Random, taken: Set<string>): { mailId: string; secretId: string } {
  for (;;) {
    const secret = rng.bytes(9);
    const mailId = createHash('md5').update(secret).digest('base64url').slice(0, 12);
    if (!/^[A-Za-z0-9].*[A-Za-z0-9]$/.test(mailId) || taken.has(mailId)) continue;
    taken.add(mailId);
    return { mailId, secretId: secret.toString('base64url') };
  }
}

/** maddr.email: amavisd lowercases the domain and (by default) the local part. */
export function normaliseAddress(address: string): string {
  return address.toLowerCase();
}

/** maddr.domain: 'user@mail.example.com' -> 'com.example.mail'. Empty for the null sender. */
export function reversedDomain(email: string): string {
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
export function cutUtf8(value: string, bytes: number): string {
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
export function decodeHeaderValue(latin1: string): string {
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
export function encodeLatin1Q(text: string): string {
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
export function encodeWindows1251(text: string): Buffer {
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
export function encodeIso2022jp(text: string): Buffer {
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

export function encodedWordB(charset: string, bytes: Buffer): string {
  return `=?${charset}?B?${bytes.toString('base64')}?=`;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** 'Wed, 25 Nov 2026 06:36:04 +0000', in the given UTC offset (minutes). */
export function rfc2822(epochSeconds: number, offsetMinutes = 0): string {
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
export function foldTokens(name: string, tokens: string[], separator: string): string {
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

export function formatScore(value: number): string {
  return String(Number(value.toFixed(3)));
}

// ---------------------------------------------------------------------------------------------------
// Raw message surgery (header blocks are handled as latin1 strings, byte for byte)

export interface RawMail {
  head: string;
  body: Buffer;
}

export function splitRaw(raw: Buffer): RawMail {
  const at = raw.indexOf('\n\n');
  if (at < 0) return { head: raw.toString('latin1'), body: Buffer.alloc(0) };
  return { head: raw.subarray(0, at).toString('latin1'), body: raw.subarray(at + 2) };
}

export function joinRaw(mail: RawMail): Buffer {
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

export function headerValue(head: string, name: string): string | undefined {
  const field = headerFields(head).find((f) => fieldName(f) === name.toLowerCase());
  return field === undefined ? undefined : field.slice(field.indexOf(':') + 1).trim();
}

/** Replaces the first `name` field (value given as a latin1 byte string). */
export function replaceHeader(head: string, name: string, value: string): string {
  const fields = headerFields(head);
  const i = fields.findIndex((f) => fieldName(f) === name.toLowerCase());
  const field = `${name}: ${value}`;
  if (i < 0) fields.push(field);
  else fields[i] = field;
  return fields.join('\n');
}

export function insertHeaderAfter(head: string, after: string, field: string): string {
  const fields = headerFields(head);
  const i = fields.findIndex((f) => fieldName(f) === after.toLowerCase());
  fields.splice(i < 0 ? fields.length : i + 1, 0, field);
  return fields.join('\n');
}

export function utf8AsLatin1(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

// ---------------------------------------------------------------------------------------------------
// Attachments

function fromParts(...parts: string[]): string {
  return parts.join('');
}

/** The EICAR test string, assembled at run time so that this source file is not itself flagged. */
export const EICAR = fromParts(
  'X5O!P%@AP[4\\PZX54(P^)7CC)7}$',
  'EICAR-STANDARD-ANTIVIRUS',
  '-TEST-FILE!$H+H*',
);
/** SpamAssassin's GTUBE line, assembled at run time for the same reason. */
export const GTUBE = fromParts('XJS*C4JDBQADN1.NSBN3*2IDNEN*', 'GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X');

export const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

export function fakePdf(rng: Random, size: number, title: string): Buffer {
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

export function fakeExe(rng: Random, size: number): Buffer {
  const stub = Buffer.from('MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00', 'latin1');
  const text = Buffer.from('This program cannot be run in DOS mode.\r\r\n$', 'latin1');
  return Buffer.concat([stub, Buffer.alloc(48), text, Buffer.from('PE\x00\x00', 'latin1'), rng.bytes(size)]);
}

/** A stored (uncompressed) zip; `encrypted` sets the encryption flag on every entry. */
export function zipStore(files: { name: string; data: Buffer }[], encrypted = false): Buffer {
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
