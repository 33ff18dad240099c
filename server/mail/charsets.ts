// Turning message bytes into text whatever the message claims: declared charsets are honoured when
// they are known and fit the bytes; otherwise UTF-8 (when the bytes are valid UTF-8) or windows-1252
// (which maps every byte) is used and the reason is returned, so the viewer can say what it did.
import iconv from 'iconv-lite';
import { decode as decodeWithLibmime, normalizeCharset } from 'libmime/lib/charset.js';

export interface DecodedText {
  text: string;
  /** Why the text is not exactly what the declared charset says, or null. */
  problem: string | null;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');

const UTF8 = /^utf-?8$/i;
const ASCII = /^(?:us-?ascii|ascii|ansi_x3\.4-1968|iso646-us|us|7bit|8bit)$/i;
// iconv-lite cannot read these; libmime hands them to encoding-japanese.
const JAPANESE = /^(?:jis|iso-?2022-?jp|eucjp|euc-jp|shift_jis|sjis)/i;
// Charsets a message should never be rendered in: UTF-7 smuggles markup past filters, the others are
// transfer encodings rather than character sets.
const REFUSED = /^(?:(?:unicode-1-1-)?utf-?7(?:-imap)?|base64|hex)$/i;
// Charsets whose 7-bit bytes are not ASCII text: ISO-2022 escapes, HZ, UTF-16/32 code units.
const SEVEN_BIT_ENCODINGS = /^(?:iso-?2022|csiso2022|hz|utf-?16|utf-?32|ucs-?2|ucs-?4|unicode)/i;
const WESTERN = /^(?:windows-1252|iso-8859-1|iso-8859-15|latin-?1|cp1252|cp819)$/i;

function hasHighBytes(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b >= 0x80) return true;
  return false;
}

/** UTF-8 when the bytes are valid UTF-8; `stream` tolerates a character cut at the end. */
function tryUtf8(bytes: Uint8Array, cutAtEnd: boolean): string | null {
  try {
    // a fresh decoder in stream mode, so the cut bytes are not carried into another call
    return cutAtEnd
      ? new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true })
      : utf8Strict.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Whether text that is not valid UTF-8 is still mostly UTF-8 (a damaged or cut UTF-8 text) rather
 * than text in a single-byte charset: more well-formed multi-byte sequences than stray high bytes.
 */
function mostlyUtf8(bytes: Uint8Array): boolean {
  let good = 0;
  let bad = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) continue;
    const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let ok = length > 0 && i + length <= bytes.length;
    for (let k = 1; ok && k < length; k++) ok = ((bytes[i + k] ?? 0) & 0xc0) === 0x80;
    if (ok) {
      good++;
      i += length - 1;
    } else bad++;
  }
  return good > 0 && good >= bad;
}

function windows1252(bytes: Buffer): string {
  return iconv.decode(bytes, 'windows-1252');
}

function shortName(charset: string): string {
  return charset.replace(/[^\x21-\x7e]/g, '?').slice(0, 40);
}

/**
 * Decodes `bytes` as text in `declared` (a MIME charset name, or null when none is declared).
 * `what` names the text in problems ("part 1.2", "the Subject header"). `cutAtEnd` says the bytes
 * were truncated on purpose, so a character cut in two at the end is not a charset error.
 */
export function decodeText(
  bytes: Buffer,
  declared: string | null,
  what: string,
  cutAtEnd = false,
): DecodedText {
  const name = (declared ?? '').trim().replace(/\*.*$/, '');
  if (!hasHighBytes(bytes) && !REFUSED.test(name) && !SEVEN_BIT_ENCODINGS.test(name)) {
    // 7-bit text reads the same in every ASCII-compatible charset, known or not
    return { text: bytes.toString('latin1'), problem: null };
  }
  if (name === '' || ASCII.test(name) || UTF8.test(name)) {
    const asUtf8 = tryUtf8(bytes, cutAtEnd);
    if (asUtf8 !== null) return { text: asUtf8, problem: null };
    const label = UTF8.test(name)
      ? `${what} is not valid UTF-8 as declared`
      : name === ''
        ? `${what} has 8-bit text without a declared charset that is not UTF-8`
        : `${what} declares ${shortName(name)} but has 8-bit text that is not UTF-8`;
    return mostlyUtf8(bytes)
      ? {
          text: utf8Lenient.decode(bytes),
          problem: `${label}; the bad bytes are shown as replacement characters`,
        }
      : { text: windows1252(bytes), problem: `${label}, shown as windows-1252` };
  }
  if (REFUSED.test(name)) {
    return {
      text: windows1252(bytes),
      problem: `${what} uses charset ${shortName(name)}, which is not decoded; shown as windows-1252`,
    };
  }
  if (WESTERN.test(name) && hasHighBytes(bytes)) {
    // Old clients label UTF-8 as Latin-1; genuine Latin-1 text is almost never valid UTF-8.
    const asUtf8 = tryUtf8(bytes, cutAtEnd);
    if (asUtf8 !== null && /[\u0080-\uffff]/.test(asUtf8)) {
      return { text: asUtf8, problem: `${what} declares ${shortName(name)} but is UTF-8, shown as UTF-8` };
    }
  }
  if (JAPANESE.test(name)) {
    return { text: decodeWithLibmime(bytes, name), problem: null };
  }
  let normalised: string;
  try {
    normalised = normalizeCharset(name);
  } catch {
    normalised = '';
  }
  if (normalised && iconv.encodingExists(normalised)) {
    try {
      return { text: iconv.decode(bytes, normalised), problem: null };
    } catch {
      // fall through to the unknown-charset path
    }
  }
  const asUtf8 = tryUtf8(bytes, cutAtEnd);
  if (asUtf8 !== null) {
    return { text: asUtf8, problem: `${what}: unknown charset ${shortName(name)}, shown as UTF-8` };
  }
  return {
    text: windows1252(bytes),
    problem: `${what}: unknown charset ${shortName(name)}, shown as windows-1252`,
  };
}

/**
 * Raw header text (a latin1 "binary" string, one char per byte) as Unicode: 7-bit text as is,
 * 8-bit text as UTF-8 (RFC 6532) when valid, else windows-1252.
 */
export function decodeRawHeaderText(binary: string): { text: string; eightBit: 'none' | 'utf-8' | 'other' } {
  if (!/[\x80-\xff]/.test(binary)) return { text: binary, eightBit: 'none' };
  const bytes = Buffer.from(binary, 'latin1');
  const asUtf8 = tryUtf8(bytes, false);
  if (asUtf8 !== null) return { text: asUtf8, eightBit: 'utf-8' };
  return { text: windows1252(bytes), eightBit: 'other' };
}
