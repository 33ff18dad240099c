// Which quarantine rows belong to whom, decided in SQL on amavisd's own stored forms.
//
// amavisd-new writes every recipient once into maddr (Amavis::Out::SQL::Log::find_or_save_addr,
// amavisd-new 2.13.0 as installed under /usr/share/perl5):
//   * email = the RCPT TO address exactly as the MTA sent it (recip_addr_smtp: RFC 5321 quoting kept,
//     so "john smith"@x.test keeps its quotes), the domain converted to IDNA ASCII and lowercased
//     (mail_addr_idn_to_ascii + idn_to_ascii), leading '@' and trailing dots removed, and the local part
//     lowercased with Perl's `lc` on octets (ASCII letters only) unless $localpart_is_case_sensitive;
//     truncated to 255 bytes;
//   * domain = the same domain with its labels reversed ('sub.example.com' -> 'com.example.sub').
//
// An owned address therefore matches rows by exact bytes. With $recipient_delimiter set it also matches
// its extensions (user+tag@x.test), written as LIKE patterns with '!' as the escape character, bound as
// bytes. The email column is never wrapped in a function, so the unique (partition_tag, email) index
// stays usable ('!' rather than '\': MariaDB treats a backslash in a string literal as an escape itself).
//
// IDN: amavisd converts with Net::LibIDN2 (IDNA 2008 + UTS 46) when installed, else Net::LibIDN
// (IDNA 2003; Debian 12's 2.13.0 package runs with it and stores straße.de as strasse.de). This module
// uses WHATWG's UTS 46 non-transitional domainToASCII; the two agree except on ß, ς, ZWJ and ZWNJ, and
// a row stored under the IDNA 2003 mapping cannot be told from mail to the mapped domain (strasse.de is
// someone else's), so it is not matched.
import { domainToASCII, domainToUnicode } from 'node:url';
import { type Column, is, type SQL, sql } from 'drizzle-orm';
import { MySqlColumn } from 'drizzle-orm/mysql-core';
import { escapeLike } from '../db/like.ts';

export interface AddressSettings {
  /** amavisd's $localpart_is_case_sensitive: false stores local parts with ASCII letters lowercased. */
  localpartIsCaseSensitive: boolean;
  /**
   * amavisd's $recipient_delimiter: '' for none, otherwise every character is a delimiter ('+-' means
   * '+' or '-'), as in amavisd-new >= 2.9 split_localpart, Postfix >= 2.11 and Dovecot. Characters must be
   * ASCII punctuation other than '@', '"' and '\'.
   */
  recipientDelimiter: string;
}

/** Thrown for input that is not an e-mail address or a domain name. */
export class AddressError extends Error {
  override name = 'AddressError';
}

/**
 * A pattern test on the email bytes: true when the email is LIKE at least one pattern of every group.
 * Groups let a case-insensitive comparison on bytea/varbinary stay one LIKE per letter and case.
 */
export type LikeAll = readonly (readonly string[])[];

export interface ExtensionMatch {
  /** LIKE pattern (escape character '!') for local<delimiter>anything@domain. */
  like: string;
  /** Emails matching `like` that are still not extensions of the owner (see RESERVED_LOCALPARTS). */
  unless: readonly LikeAll[];
}

export interface RecipientMatcher {
  /** Stored forms (maddr.email as UTF-8) owned outright. */
  exact: readonly string[];
  /** Address extensions owned through the recipient delimiter. */
  extensions: readonly ExtensionMatch[];
  /** Stored forms the extensions must not match: other people's addresses (MatcherOptions.notOwned). */
  except: readonly string[];
}

/** amavisd truncates maddr.email to 255 bytes; a 255-byte email may be the cut-off head of another. */
export const MAX_EMAIL_BYTES = 254;
const TRUNCATED_EMAIL = '_'.repeat(MAX_EMAIL_BYTES + 1);

const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";
const ATEXT_CHAR = new RegExp(`^[${ATEXT}]$`);
/** RFC 5321 Dot-string extended with UTF-8 (RFC 6531), as amavisd's quote_rfc2821_local tests it. */
const DOT_ATOM = new RegExp(`^(?:[${ATEXT}]|[^\\x00-\\x7f])+(?:\\.(?:[${ATEXT}]|[^\\x00-\\x7f])+)*$`);
/** Punctuation allowed as a recipient delimiter: atext punctuation and '.'. */
const DELIMITER_CHAR = /^[!#$%&'*+/=?^_`{|}~.-]$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

// Local parts that are never split into base + extension. amavisd's split_localpart and Postfix's
// split_addr agree on the reserved names; for owner-* and *-request amavisd only cares when '-' is a
// delimiter while Postfix (owner_request_special = yes, its default) always does, so both are honoured:
// a row counts as the owner's extension only when both programs would strip it down to the owner.
const RESERVED_LOCALPARTS = ['postmaster', 'mailer-daemon', 'double-bounce'];

function asciiLower(value: string): string {
  return value.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

function utf8Length(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** Lowercases, strips a leading '@' and trailing dots, converts to IDNA ASCII; throws AddressError. */
export function normaliseDomain(domain: string): string {
  const bare = domain.replace(/^@/, '').replace(/\.+$/, '').toLowerCase();
  if (bare === '') throw new AddressError(`"${domain}" is not a domain name: it is empty`);
  if (!bare.isWellFormed()) throw new AddressError(`"${domain}" is not a domain name: broken Unicode`);
  if (bare.startsWith('[')) {
    throw new AddressError(`"${domain}" is an address literal; only domain names are supported`);
  }
  // domainToASCII is WHATWG's host parser: it would percent-decode and read "10" as an IPv4 address.
  // Only letters, digits, hyphens, dots and non-ASCII characters reach it.
  if (!/^(?:[a-z0-9.-]|\P{ASCII})+$/u.test(bare)) {
    throw new AddressError(`"${domain}" is not a domain name: only letters, digits, '-' and '.' are allowed`);
  }
  const ascii = domainToASCII(bare);
  if (ascii === '') throw new AddressError(`"${domain}" is not a valid internationalised domain name`);
  const labels = ascii.split('.');
  for (const label of labels) {
    if (!LABEL.test(label)) {
      throw new AddressError(
        `"${domain}" is not a domain name: label "${label}" must be 1 to 63 letters, digits or inner hyphens`,
      );
    }
    // domainToASCII passes an undecodable A-label through; domainToUnicode then returns it unchanged
    const unicode = label.startsWith('xn--') ? domainToUnicode(label) : '';
    if (unicode.startsWith('xn--') || (unicode !== '' && domainToASCII(unicode) !== label)) {
      throw new AddressError(`"${domain}" is not a domain name: "${label}" is not valid punycode`);
    }
  }
  if (/^[0-9]+$/.test(labels.at(-1) ?? '')) {
    throw new AddressError(`"${domain}" is not a domain name: the last label is numeric`);
  }
  if (ascii.length > 253) throw new AddressError(`"${domain}" is longer than 253 characters`);
  return ascii;
}

/** amavisd's maddr.domain: the labels in reverse order, 'sub.example.com' -> 'com.example.sub'. */
export function reverseDomain(domain: string): string {
  return domain.split('.').reverse().join('.');
}

interface ParsedAddress {
  /** The local part without RFC 5321 quoting. */
  local: string;
  /** normaliseDomain's result. */
  domain: string;
}

/** Accepts Dot-string local parts (UTF-8 allowed) and RFC 5321 Quoted-strings. */
function parseAddress(address: string): ParsedAddress {
  const input = address;
  if (input === '') throw new AddressError('an empty address (the null sender <>) cannot be owned');
  if (!input.isWellFormed()) throw new AddressError(`"${address}" is not an address: broken Unicode`);
  let local = '';
  let rest: string;
  if (input.startsWith('"')) {
    let i = 1;
    for (;;) {
      const c = input[i];
      if (c === undefined) throw new AddressError(`"${address}" is not an address: unterminated quote`);
      if (c === '"') break;
      if (c === '\\') {
        const next = input[i + 1];
        if (next === undefined || next < ' ' || next > '~') {
          throw new AddressError(
            `"${address}" is not an address: bad backslash escape in the quoted local part`,
          );
        }
        local += next;
        i += 2;
        continue;
      }
      if (c < ' ' || c === '\x7f') {
        throw new AddressError(`"${address}" is not an address: control character in the local part`);
      }
      local += c;
      i += 1;
    }
    rest = input.slice(i + 1);
    if (!rest.startsWith('@')) {
      throw new AddressError(
        `"${address}" is not an address: expected "@domain" after the quoted local part`,
      );
    }
  } else {
    const at = input.indexOf('@');
    if (at < 0) throw new AddressError(`"${address}" is not an address: no "@domain"`);
    local = input.slice(0, at);
    rest = input.slice(at);
    for (const c of local) {
      if (c !== '.' && !ATEXT_CHAR.test(c) && c < '\x80') {
        throw new AddressError(
          `"${address}" is not an address: '${c}' needs a quoted local part ("..."@domain)`,
        );
      }
    }
  }
  if (local === '') throw new AddressError(`"${address}" is not an address: empty local part`);
  const domainPart = rest.slice(1);
  if (domainPart === '' || domainPart.startsWith('@')) {
    throw new AddressError(`"${address}" is not an address: expected one "@" followed by a domain`);
  }
  let domain: string;
  try {
    domain = normaliseDomain(domainPart);
  } catch (error) {
    if (error instanceof AddressError) {
      throw new AddressError(`"${address}" is not an address: ${error.message}`);
    }
    throw error;
  }
  return { local, domain };
}

/** amavisd's quote_rfc2821_local (and Postfix's quote_821_local): quote unless a Dot-string. */
function quoteLocal(local: string): string {
  return DOT_ATOM.test(local) ? local : `"${local.replace(/["\\]/g, '\\$&')}"`;
}

function caseLocal(local: string, settings: AddressSettings): string {
  return settings.localpartIsCaseSensitive ? local : asciiLower(local);
}

function checkLength(stored: string, address: string): string {
  if (utf8Length(stored) > MAX_EMAIL_BYTES) {
    throw new AddressError(
      `"${address}" is longer than ${MAX_EMAIL_BYTES} bytes; amavisd truncates such addresses`,
    );
  }
  return stored;
}

/**
 * The maddr.email amavisd stores for `address` when an MTA that quotes canonically (Postfix) passes it:
 * RFC 5321 quoting only where needed, IDNA ASCII lowercase domain, ASCII-lowercased local part unless
 * case-sensitive. Throws AddressError for anything that is not an address.
 */
export function normaliseAddress(address: string, settings: AddressSettings): string {
  const { local, domain } = parseAddress(address);
  return checkLength(`${quoteLocal(caseLocal(local, settings))}@${domain}`, address);
}

/** Throws RangeError with a message for people when `delimiter` cannot be amavisd's recipient delimiter. */
export function checkRecipientDelimiter(delimiter: string): void {
  delimiterSet({ recipientDelimiter: delimiter, localpartIsCaseSensitive: false });
}

function delimiterSet(settings: AddressSettings): string[] {
  const chars = [...new Set(settings.recipientDelimiter)];
  for (const c of chars) {
    if (!DELIMITER_CHAR.test(c)) {
      throw new RangeError(
        `recipient delimiter ${JSON.stringify(settings.recipientDelimiter)}: "${c}" is not allowed ` +
          `(use ASCII punctuation other than @, " and \\)`,
      );
    }
  }
  return chars;
}

/**
 * amavisd lowercases ASCII letters only (Perl `lc` on octets), while Postfix with SMTPUTF8 folds every
 * letter before delivering. Mail to PINGÜINO@x is stored as pingÜino@x yet lands in pingüino's mailbox,
 * so a case-insensitive owner also owns the other cases of its non-ASCII letters. Bounded: past five such
 * letters only the all-lower and all-upper spellings are added.
 */
function localCaseVariants(local: string, settings: AddressSettings): string[] {
  if (settings.localpartIsCaseSensitive) return [local];
  const options = [...local].map((c) => {
    if (c < '\x80') return [c];
    // Only other non-ASCII spellings of the same letter: 'ı'.toUpperCase() is 'I', which amavisd would
    // store as 'i', a different mailbox; 'ß'.toUpperCase() is 'SS'.
    const forms = new Set([c, c.toLowerCase(), c.toUpperCase()]);
    return [...forms].filter(
      (f) => [...f].length === 1 && f >= '\x80' && f.toLowerCase() === c.toLowerCase(),
    );
  });
  const varying = options.filter((o) => o.length > 1).length;
  if (varying === 0) return [local];
  if (varying > 5) {
    const lower = options.map((o) => o.find((c) => c === c.toLowerCase()) ?? o[0]).join('');
    const upper = options.map((o) => o.find((c) => c === c.toUpperCase()) ?? o[0]).join('');
    return [...new Set([local, lower, upper])];
  }
  let variants = [''];
  for (const choice of options) variants = variants.flatMap((prefix) => choice.map((c) => prefix + c));
  return variants;
}

/** A LikeAll matching head + text + tail, where text's ASCII letters match in either case if asked. */
function likeText(head: string, text: string, tail: string, eitherCase: boolean): LikeAll {
  const chars = [...text];
  const letters = chars.map((c, i) => (eitherCase && /[a-z]/i.test(c) ? i : -1)).filter((i) => i >= 0);
  if (letters.length === 0) return [[head + escapeLike(text) + tail]];
  // For each letter, one group "this position is the lower or the upper letter"; the other positions
  // hold the literal character or '_' (one byte, as every varying character is ASCII).
  return letters.map((position) => {
    const pattern = (letter: string) =>
      head +
      chars
        .map((c, i) => {
          if (i === position) return letter;
          return letters.includes(i) ? '_' : escapeLike(c);
        })
        .join('') +
      tail;
    const c = chars[position] ?? '';
    return [pattern(c.toLowerCase()), pattern(c.toUpperCase())];
  });
}

interface LocalForm {
  /** The stored local part up to (and including) the delimiter, LIKE-escaped. */
  head: string;
  /** What closes the local part before '@': '' or '"'. */
  close: string;
  /** Renders a literal local-part continuation in this form. */
  text(value: string): string;
}

function localForms(baseWithDelimiter: string): LocalForm[] {
  const forms: LocalForm[] = [
    // "john smith+x"@d: the stored form whenever the local part needs quoting
    {
      head: `"${escapeLike(baseWithDelimiter.replace(/["\\]/g, '\\$&'))}`,
      close: '"',
      text: (value) => value.replace(/["\\]/g, '\\$&'),
    },
  ];
  if ([...baseWithDelimiter].every((c) => c === '.' || c >= '\x80' || ATEXT_CHAR.test(c))) {
    forms.unshift({ head: escapeLike(baseWithDelimiter), close: '', text: (value) => value });
  }
  return forms;
}

/**
 * local<delimiter>anything@domain for each delimiter, unless amavisd or Postfix would keep that local part
 * whole (see RESERVED_LOCALPARTS): stored either plainly or, when the extension needs it, quoted.
 */
function extensionMatches(
  local: string,
  domain: string,
  delimiters: readonly string[],
  settings: AddressSettings,
): ExtensionMatch[] {
  // Both split at the first delimiter and Postfix never splits at a delimiter in the first position, so
  // an owner whose local part holds a delimiter anywhere has no extensions of its own.
  if (delimiters.length === 0 || [...local].some((c) => delimiters.includes(c))) return [];
  const eitherCase = settings.localpartIsCaseSensitive;
  const at = `@${escapeLike(domain)}`;
  const extensions: ExtensionMatch[] = [];
  for (const delimiter of delimiters) {
    const base = local + delimiter;
    // owner-* is never split (Postfix: any "owner-" prefix; amavisd: "owner-" and one more character)
    if (asciiLower(base).startsWith('owner-')) continue;
    for (const form of localForms(base)) {
      const tail = `${form.close}${at}`;
      // *-request is never split; the owner's local part always provides the character before it
      const unless: LikeAll[] = [likeText('%', form.text('-request'), tail, eitherCase)];
      for (const reserved of RESERVED_LOCALPARTS) {
        if (reserved.length > base.length && reserved.startsWith(asciiLower(base))) {
          unless.push(likeText(form.head, form.text(reserved.slice(base.length)), tail, eitherCase));
        }
      }
      extensions.push({ like: `${form.head}%${tail}`, unless });
    }
  }
  return extensions;
}

export interface MatcherOptions {
  /**
   * Addresses known to belong to someone else. The MTA delivers an address that exists as such before
   * it strips an extension, so with '-' as delimiter the mailbox john-doe@x.test is not john's even
   * though john-doe splits to john. Extension patterns never cover these; pass the other mailboxes and
   * aliases of the owner's domains when they are known.
   */
  notOwned?: readonly string[];
}

/** Every spelling amavisd may have stored for one address: local part variants x domain forms. */
function storedSpellings(address: string, settings: AddressSettings): { local: string; domain: string }[] {
  const parsed = parseAddress(address);
  const local = caseLocal(parsed.local, settings);
  checkLength(`${quoteLocal(local)}@${parsed.domain}`, address);
  // amavisd keeps the Unicode domain when its IDN library rejects the name (Amavis::Util::idn_to_ascii
  // falls back to the input) and amavisd-new < 2.10 never converted it.
  const unicode = domainToUnicode(parsed.domain);
  const domains = unicode === parsed.domain ? [parsed.domain] : [parsed.domain, unicode];
  return localCaseVariants(local, settings).flatMap((variant) =>
    domains.map((domain) => ({ local: variant, domain })),
  );
}

/** The canonical stored form and, for a Dot-string, the redundant "local"@domain quoting. */
function exactEmails(local: string, domain: string): string[] {
  const canonical = `${quoteLocal(local)}@${domain}`;
  const emails = canonical.startsWith('"') ? [canonical] : [canonical, `"${local}"@${domain}`];
  return emails.filter((email) => utf8Length(email) <= MAX_EMAIL_BYTES);
}

/**
 * What `addresses` own, as amavisd stores them: each address exactly (canonically quoted, and also in
 * the redundant "local"@domain quoting amavisd keeps if an MTA sends it), plus, when a delimiter is set
 * and the address has none, its extensions. IDN domains match their IDNA ASCII form and their lowercase
 * Unicode form (see storedSpellings). Throws AddressError for an entry that is not an address and
 * RangeError for a delimiter that cannot be one.
 */
export function recipientMatcher(
  addresses: readonly string[],
  settings: AddressSettings,
  options: MatcherOptions = {},
): RecipientMatcher {
  const delimiters = delimiterSet(settings);
  const exact = new Set<string>();
  const extensions = new Map<string, ExtensionMatch>();
  for (const address of addresses) {
    for (const { local, domain } of storedSpellings(address, settings)) {
      for (const email of exactEmails(local, domain)) exact.add(email);
      for (const extension of extensionMatches(local, domain, delimiters, settings)) {
        extensions.set(extension.like, extension);
      }
    }
  }
  const except = new Set<string>();
  if (extensions.size > 0) {
    for (const address of options.notOwned ?? []) {
      for (const { local, domain } of storedSpellings(address, settings)) {
        for (const email of exactEmails(local, domain)) if (!exact.has(email)) except.add(email);
      }
    }
  }
  return { exact: [...exact], extensions: [...extensions.values()], except: [...except] };
}

function bytes(value: string): SQL {
  return sql`${Buffer.from(value, 'utf8')}`;
}

/** Whether the column belongs to a MySQL/MariaDB table (services query those through the pg types). */
function isMysql(column: Column): boolean {
  return is(column, MySqlColumn);
}

function like(column: Column, pattern: string): SQL {
  // PostgreSQL reads `x LIKE p ESCAPE e` as `x ~~ like_escape(p, e)`; with both untyped (PGlite sends
  // parameters untyped) like_escape resolves to text and `bytea ~~ text` does not exist, so the escape
  // literal carries the type. MariaDB takes a plain one-character string.
  return isMysql(column)
    ? sql`${column} like ${bytes(pattern)} escape '!'`
    : sql`${column} like ${bytes(pattern)} escape '!'::bytea`;
}

function likeAll(column: Column, test: LikeAll): SQL {
  return sql.join(
    test.map(
      (group) =>
        sql`(${sql.join(
          group.map((pattern) => like(column, pattern)),
          sql` or `,
        )})`,
    ),
    sql` and `,
  );
}

/**
 * The rows of maddr (joined as the recipient) that `matcher` owns; `1 = 0` when it owns nothing.
 * Emails are compared as bytes: bound Buffers against bytea / varbinary, never a function of the column.
 */
export function recipientCondition(emailColumn: Column, matcher: RecipientMatcher): SQL {
  const parts: SQL[] = [];
  if (matcher.exact.length > 0) {
    parts.push(sql`${emailColumn} in (${sql.join(matcher.exact.map(bytes), sql`, `)})`);
  }
  if (matcher.extensions.length > 0) {
    const extensions = matcher.extensions.map((extension) => {
      const conditions = [
        like(emailColumn, extension.like),
        ...extension.unless.map((test) => sql`not (${likeAll(emailColumn, test)})`),
      ];
      return sql`(${sql.join(conditions, sql` and `)})`;
    });
    const guards = [sql`not (${like(emailColumn, TRUNCATED_EMAIL)})`];
    if (matcher.except.length > 0) {
      guards.push(sql`${emailColumn} not in (${sql.join(matcher.except.map(bytes), sql`, `)})`);
    }
    parts.push(sql`(${sql.join(guards, sql` and `)} and (${sql.join(extensions, sql` or `)}))`);
  }
  if (parts.length === 0) return sql`1 = 0`;
  return sql`(${sql.join(parts, sql` or `)})`;
}

/**
 * maddr.domain IN the reversed domains (aliases included by the caller); `1 = 0` when there are none.
 * Exact domains only: sub.x.test is not x.test. Only the IDNA ASCII form is compared: it is what amavisd
 * >= 2.10 stores for every name its IDN library accepts, and a Unicode literal could fail conversion to
 * the database's encoding (a LATIN1 PostgreSQL database cannot hold 'пример'). On MySQL/MariaDB the varchar usually has a case- and accent-insensitive collation
 * (utf8mb4_general_ci: 'exämple' = 'example') and pads spaces, so the comparison is repeated on the
 * column's bytes; amavisd's DDL has no index on maddr.domain for that to spoil.
 */
export function domainCondition(domainColumn: Column, domains: readonly string[]): SQL {
  const reversed = [...new Set(domains.map((domain) => reverseDomain(normaliseDomain(domain))))];
  if (reversed.length === 0) return sql`1 = 0`;
  const list = sql.join(
    reversed.map((domain) => sql`${domain}`),
    sql`, `,
  );
  if (!isMysql(domainColumn)) return sql`${domainColumn} in (${list})`;
  return sql`(${domainColumn} in (${list}) and cast(${domainColumn} as binary) in (${sql.join(reversed.map(bytes), sql`, `)}))`;
}
