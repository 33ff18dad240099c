// Header fields as a person reads them: unfolded, raw 8-bit bytes decoded, RFC 2047 encoded-words
// decoded (adjacent words joined at the byte level, unknown charsets reported), addresses parsed
// before decoding so that an encoded comma in a display name cannot split an address.
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { decodeRawHeaderText, decodeText } from './charsets.ts';

export interface MailAddress {
  /** Display name, decoded ('' when there is none). */
  name: string;
  /** The address as written (not decoded: addresses are ASCII or UTF-8). */
  address: string;
}

const ENCODED_WORD = /=\?([^?\s]{1,80})\?([BbQq])\?([^?\s]*)\?=/g;

function wordBytes(encoding: string, text: string): Buffer {
  if (encoding.toUpperCase() === 'B') return Buffer.from(text, 'base64');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) bytes.push(0x20);
    else if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes);
}

/**
 * Decodes the RFC 2047 encoded-words in `value` (already Unicode). Words of one charset separated
 * only by white space are joined before decoding, as a character may be split between them.
 */
export function decodeEncodedWords(value: string, what: string, problems: Set<string>): string {
  if (!value.includes('=?')) return value;
  let out = '';
  let last = 0;
  let pendingCharset = '';
  let pending: Buffer[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const decoded = decodeText(Buffer.concat(pending), pendingCharset, what);
    if (decoded.problem) problems.add(decoded.problem);
    out += decoded.text;
    pending = [];
  };
  for (const match of value.matchAll(ENCODED_WORD)) {
    const between = value.slice(last, match.index);
    const adjacent = pending.length > 0 && /^[ \t\r\n]*$/.test(between);
    // the language suffix of RFC 2231 (charset*lang) is dropped
    const charset = (match[1] ?? '').replace(/\*.*$/, '').toLowerCase();
    const bytes = wordBytes(match[2] ?? 'B', match[3] ?? '');
    if (!(adjacent && charset === pendingCharset)) {
      flush();
      if (!adjacent) out += between;
    }
    pendingCharset = charset;
    pending.push(bytes);
    last = match.index + match[0].length;
  }
  flush();
  return out + value.slice(last);
}

/** Unfolds a raw header value: folding line breaks go, the white space after them stays. */
export function unfold(value: string): string {
  return value.replace(/\r?\n(?=[ \t])/g, '').replace(/[\r\n]/g, '');
}

export interface RawField {
  /** The field name as written. */
  name: string;
  /** The value after the colon, a latin1 "binary" string with its folding line breaks. */
  raw: string;
}

/** Splits a header line from mailsplit ("Name: value", binary string) into name and raw value. */
export function splitField(line: string): RawField {
  const colon = line.indexOf(':');
  if (colon < 0) return { name: '', raw: line };
  return { name: line.slice(0, colon).trim(), raw: line.slice(colon + 1) };
}

/** The value without folding, raw 8-bit bytes decoded; encoded-words left alone. */
export function unfoldedText(field: RawField, problems: Set<string>): string {
  const { text, eightBit } = decodeRawHeaderText(unfold(field.raw));
  if (eightBit === 'other') {
    problems.add(
      `the ${displayName(field.name)} header has raw 8-bit bytes that are not UTF-8, shown as windows-1252`,
    );
  }
  return text.trim();
}

export function displayName(name: string): string {
  const clean = name.replace(/[^\x21-\x7e]/g, '?').slice(0, 60);
  return clean === '' ? '(unnamed)' : clean;
}

/** The value a person reads: unfolded, 8-bit and encoded-words decoded. */
export function decodeField(field: RawField, problems: Set<string>): string {
  return decodeEncodedWords(unfoldedText(field, problems), `the ${displayName(field.name)} header`, problems);
}

/** Parses an address list header (From, To, Cc, Reply-To); groups are flattened. */
export function decodeAddresses(field: RawField, problems: Set<string>): MailAddress[] {
  const text = unfoldedText(field, problems);
  let parsed: { name: string; address: string }[];
  try {
    parsed = addressparser(text, { flatten: true });
  } catch {
    problems.add(`the ${displayName(field.name)} header could not be read as addresses`);
    return [];
  }
  const what = `the ${displayName(field.name)} header`;
  return parsed
    .map((a) => ({
      name: decodeEncodedWords(a.name ?? '', what, problems).trim(),
      address: (a.address ?? '').trim(),
    }))
    .filter((a) => a.name !== '' || a.address !== '');
}
