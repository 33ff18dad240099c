// Pure tests of the address normalisation and of the matcher that access control builds its SQL from.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { MySqlDialect } from 'drizzle-orm/mysql-core';
import { PgDialect } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import {
  AddressError,
  type AddressSettings,
  domainCondition,
  normaliseAddress,
  normaliseDomain,
  recipientCondition,
  recipientMatcher,
  reverseDomain,
} from '../../server/access/address-matching.ts';
import * as mysqlTables from '../../server/db/amavis-mysql.schema.ts';
import * as pgTables from '../../server/db/amavis-pg.schema.ts';

const ci: AddressSettings = { localpartIsCaseSensitive: false, recipientDelimiter: '' };
const cs: AddressSettings = { localpartIsCaseSensitive: true, recipientDelimiter: '' };
const plus: AddressSettings = { localpartIsCaseSensitive: false, recipientDelimiter: '+' };
const dash: AddressSettings = { localpartIsCaseSensitive: false, recipientDelimiter: '-' };
const both: AddressSettings = { localpartIsCaseSensitive: false, recipientDelimiter: '+-' };

describe('normaliseDomain', () => {
  it.each([
    ['x.test', 'x.test'],
    ['Sub.X.TEST', 'sub.x.test'],
    ['@x.test', 'x.test'],
    ['x.test.', 'x.test'],
    ['@X.test...', 'x.test'],
    ['localhost', 'localhost'],
    ['Pájaro.Niño.exAMPLE.COM', 'xn--pjaro-xqa.xn--nio-8ma.example.com'],
    ['PÁJARO.example', 'xn--pjaro-xqa.example'],
    ['xn--pjaro-xqa.example', 'xn--pjaro-xqa.example'],
    ['XN--PJARO-XQA.example', 'xn--pjaro-xqa.example'],
    ['☃.net', 'xn--n3h.net'],
    ['ｅｘａｍｐｌｅ.com', 'example.com'],
    // IDNA2008 / UTS 46 non-transitional: ß stays a letter (Net::LibIDN's IDNA2003 would give strasse.de)
    ['straße.de', 'xn--strae-oqa.de'],
  ])('%s -> %s', (input, expected) => {
    expect(normaliseDomain(input)).toBe(expected);
  });

  it.each([
    ['', /empty/],
    ['@', /empty/],
    ['...', /empty/],
    ['x..test', /label ""/],
    ['.x.test', /label ""/],
    ['-x.test', /label "-x"/],
    ['x-.test', /label "x-"/],
    ['x_y.test', /only letters, digits/],
    ['x test', /only letters, digits/],
    [' x.test', /only letters, digits/],
    ['x%2etest', /only letters, digits/],
    ['x.test/evil', /only letters, digits/],
    ['user@x.test', /only letters, digits/],
    ['10', /last label is numeric/],
    ['192.0.2.1', /last label is numeric/],
    ['[192.0.2.1]', /address literal/],
    [`${'a'.repeat(64)}.test`, /1 to 63/],
    [`${'ä'.repeat(60)}.com`, /1 to 63/],
    ['xn--bad.test', /not valid punycode/],
    [`${'abcdefghi.'.repeat(26)}test`, /longer than 253/],
    ['\uD800.test', /broken Unicode/],
  ])('rejects %j', (input, message) => {
    expect(() => normaliseDomain(input)).toThrow(AddressError);
    expect(() => normaliseDomain(input)).toThrow(message);
  });
});

describe('reverseDomain', () => {
  it.each([
    ['sub.example.com', 'com.example.sub'],
    ['x.test', 'test.x'],
    ['localhost', 'localhost'],
    ['xn--pjaro-xqa.example', 'example.xn--pjaro-xqa'],
  ])('%s -> %s', (input, expected) => {
    expect(reverseDomain(input)).toBe(expected);
  });
});

describe('normaliseAddress', () => {
  it.each([
    // the examples of modoboa-amavis tests/test_lib.py, as amavisd stores them
    ['User+Foo@sub.exAMPLE.COM', 'ci', 'user+foo@sub.example.com'],
    ['User+Foo@sub.exAMPLE.COM', 'cs', 'User+Foo@sub.example.com'],
    ['Pingüino@Pájaro.Niño.exAMPLE.COM', 'ci', 'pingüino@xn--pjaro-xqa.xn--nio-8ma.example.com'],
    // amavisd lowercases with Perl lc on octets: ASCII letters only
    ['PINGÜINO@x.test', 'ci', 'pingÜino@x.test'],
    ['PINGÜINO@x.test', 'cs', 'PINGÜINO@x.test'],
    ['user@X.Test.', 'ci', 'user@x.test'],
    ['100%@x.test', 'ci', '100%@x.test'],
    ["o'hara+{x}@x.test", ci, "o'hara+{x}@x.test"],
    // RFC 5321 quoted local parts keep their (canonical) quotes in maddr.email
    ['"John Smith"@X.test', 'ci', '"john smith"@x.test'],
    ['"John Smith"@X.test', 'cs', '"John Smith"@x.test'],
    ['"john"@x.test', 'ci', 'john@x.test'],
    ['"a\\"b"@x.test', 'ci', '"a\\"b"@x.test'],
    ['"a\\\\b"@x.test', 'ci', '"a\\\\b"@x.test'],
    ['"a\\b"@x.test', 'ci', 'ab@x.test'],
    ['"a@b"@x.test', 'ci', '"a@b"@x.test'],
    ['"user+x y"@x.test', 'ci', '"user+x y"@x.test'],
    // dots where a Dot-string does not allow them need quotes (amavisd and Postfix both quote)
    ['.john@x.test', 'ci', '".john"@x.test'],
    ['john.@x.test', 'ci', '"john."@x.test'],
    ['a..b@x.test', 'ci', '"a..b"@x.test'],
  ] as const)('%s (%s) -> %s', (input, settings, expected) => {
    expect(normaliseAddress(input, settings === 'ci' ? ci : cs)).toBe(expected);
    // accounts store this form and the matcher parses it again
    expect(normaliseAddress(expected, settings === 'ci' ? ci : cs)).toBe(expected);
  });

  it.each([
    ['', /empty address/],
    ['user', /no "@domain"/],
    ['user@', /one "@" followed by a domain/],
    ['user@@x.test', /one "@" followed by a domain/],
    ['@x.test', /empty local part/],
    ['""@x.test', /empty local part/],
    ['john smith@x.test', /' ' needs a quoted local part/],
    ['a"b@x.test', /'"' needs a quoted local part/],
    ['a(b)@x.test', /needs a quoted local part/],
    [' user@x.test', /needs a quoted local part/],
    ['user@x.test ', /only letters, digits/],
    ['user@x@y.test', /only letters, digits/],
    ['user@x_y.test', /only letters, digits/],
    ['user@[192.0.2.1]', /address literal/],
    ['"john@x.test', /unterminated quote/],
    ['"john"x@x.test', /expected "@domain" after the quoted local part/],
    ['"a\tb"@x.test', /control character/],
    ['"a\\\u00e9"@x.test', /bad backslash escape/],
    ['us\uD800er@x.test', /broken Unicode/],
    [`${'a'.repeat(248)}@x.test`, /longer than 254 bytes/],
  ])('rejects %j', (input, message) => {
    expect(() => normaliseAddress(input, ci)).toThrow(AddressError);
    expect(() => normaliseAddress(input, ci)).toThrow(message);
  });

  it('accepts an address of exactly 254 bytes', () => {
    const address = `${'a'.repeat(247)}@x.test`;
    expect(Buffer.byteLength(normaliseAddress(address, ci))).toBe(254);
  });
});

// Cross-check against amavisd-new's own Perl (find_or_save_addr's steps) where it is installed.
const AMAVIS_PERL = '/usr/share/perl5/Amavis/Out/SQL/Log.pm';
const PERL_NORMALISE = `
use strict; use warnings;
use Amavis::Util qw(idn_to_ascii mail_addr_idn_to_ascii);
use Amavis::rfc2821_2822_Tools qw(split_address quote_rfc2821_local unquote_rfc2821_local);
my $cs = shift @ARGV;
for my $input (@ARGV) {
  my $smtp = mail_addr_idn_to_ascii(quote_rfc2821_local(unquote_rfc2821_local($input)));
  my ($localpart, $domain) = split_address($smtp);
  $domain = idn_to_ascii($domain);
  $localpart = lc $localpart if !$cs;
  $domain = $1 if $domain =~ /^\\@?(.*?)\\.*\\z/s;
  print $localpart, '@', $domain, "\\n";
}`;

describe.skipIf(!fs.existsSync(AMAVIS_PERL))('normaliseAddress agrees with amavisd-new’s Perl', () => {
  const inputs = [
    'User+Foo@sub.exAMPLE.COM',
    'Pingüino@Pájaro.Niño.exAMPLE.COM',
    'PINGÜINO@ÄÖ.example',
    '"John Smith"@X.test',
    '"john"@x.test',
    '"a\\"b"@x.test',
    '"a\\\\b"@x.test',
    '.john@x.test',
    'a..b@x.test',
    '100%@x.test',
    'user@x.test.',
    'user@☃.net',
  ];
  it.each([false, true])('case-sensitive: %o', (caseSensitive) => {
    const output = execFileSync('perl', ['-e', PERL_NORMALISE, caseSensitive ? '1' : '0', ...inputs], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const settings = { localpartIsCaseSensitive: caseSensitive, recipientDelimiter: '' };
    expect(inputs.map((input) => normaliseAddress(input, settings))).toEqual(output.trimEnd().split('\n'));
  });
});

describe('recipientMatcher', () => {
  it('owns nothing for no addresses', () => {
    expect(recipientMatcher([], plus)).toEqual({ exact: [], extensions: [], except: [] });
  });

  it('without a delimiter owns the stored form and its redundantly quoted spelling only', () => {
    expect(recipientMatcher(['User@X.test'], ci)).toEqual({
      exact: ['user@x.test', '"user"@x.test'],
      extensions: [],
      except: [],
    });
  });

  it('keeps the case when local parts are case-sensitive', () => {
    expect(recipientMatcher(['User@X.test'], cs).exact).toEqual(['User@x.test', '"User"@x.test']);
  });

  it('adds the +extensions, plain and quoted, never a *-request', () => {
    expect(recipientMatcher(['user@x.test'], plus)).toEqual({
      exact: ['user@x.test', '"user"@x.test'],
      extensions: [
        { like: 'user+%@x.test', unless: [[['%-request@x.test']]] },
        { like: '"user+%"@x.test', unless: [[['%-request"@x.test']]] },
      ],
      except: [],
    });
  });

  it('treats every character of a multi-character delimiter as a delimiter', () => {
    const likes = recipientMatcher(['user@x.test'], both).extensions.map((e) => e.like);
    expect(likes).toEqual(['user+%@x.test', '"user+%"@x.test', 'user-%@x.test', '"user-%"@x.test']);
  });

  it.each([
    ['user+tag@x.test', '+'],
    ['user-tag@x.test', '+-'],
    ['john-doe@x.test', '-'],
    // '-' is a delimiter, so amavisd keeps owner-list whole and Postfix never splits owner-*
    ['owner-list@x.test', '-'],
    // Postfix never splits owner-* whatever the delimiter
    ['owner-list@x.test', '+'],
    ['+user@x.test', '+'],
  ])('gives %s (delimiters %j) no extensions', (address, recipientDelimiter) => {
    const settings = { localpartIsCaseSensitive: false, recipientDelimiter };
    expect(recipientMatcher([address], settings).extensions).toEqual([]);
  });

  it('gives a local part holding a non-delimiter punctuation its extensions', () => {
    expect(recipientMatcher(['john-doe@x.test'], plus).extensions.map((e) => e.like)).toEqual([
      'john-doe+%@x.test',
      '"john-doe+%"@x.test',
    ]);
  });

  it('does not split owner-* with the - delimiter but does with +', () => {
    expect(recipientMatcher(['owner@x.test'], both).extensions.map((e) => e.like)).toEqual([
      'owner+%@x.test',
      '"owner+%"@x.test',
    ]);
  });

  it('excludes the reserved local parts amavisd and Postfix never split', () => {
    const [mailer] = recipientMatcher(['mailer@x.test'], dash).extensions;
    expect(mailer).toEqual({
      like: 'mailer-%@x.test',
      unless: [[['%-request@x.test']], [['mailer-daemon@x.test']]],
    });
    const [double] = recipientMatcher(['double@x.test'], dash).extensions;
    expect(double?.unless).toContainEqual([['double-bounce@x.test']]);
  });

  it('matches the reserved names in any case when local parts are case-sensitive', () => {
    const settings = { localpartIsCaseSensitive: true, recipientDelimiter: '-' };
    const [mailer] = recipientMatcher(['Mailer@x.test'], settings).extensions;
    expect(mailer?.like).toBe('Mailer-%@x.test');
    expect(mailer?.unless[0]).toHaveLength('request'.length);
    expect(mailer?.unless[0]?.[0]).toEqual(['%-r______@x.test', '%-R______@x.test']);
    expect(mailer?.unless[1]).toEqual([
      ['Mailer-d_____@x.test', 'Mailer-D_____@x.test'],
      ['Mailer-_a____@x.test', 'Mailer-_A____@x.test'],
      ['Mailer-__e___@x.test', 'Mailer-__E___@x.test'],
      ['Mailer-___m__@x.test', 'Mailer-___M__@x.test'],
      ['Mailer-____o_@x.test', 'Mailer-____O_@x.test'],
      ['Mailer-_____n@x.test', 'Mailer-_____N@x.test'],
    ]);
  });

  it('escapes LIKE metacharacters with !', () => {
    const likes = recipientMatcher(['us_er@x.test', '100%@x.test', 'a!b@x.test'], plus).extensions.map(
      (e) => e.like,
    );
    expect(likes).toEqual([
      'us!_er+%@x.test',
      '"us!_er+%"@x.test',
      '100!%+%@x.test',
      '"100!%+%"@x.test',
      'a!!b+%@x.test',
      '"a!!b+%"@x.test',
    ]);
  });

  it('matches a quoted local part in its quoted form only', () => {
    expect(recipientMatcher(['"John Smith"@x.test'], plus)).toEqual({
      exact: ['"john smith"@x.test'],
      extensions: [{ like: '"john smith+%"@x.test', unless: [[['%-request"@x.test']]] }],
      except: [],
    });
    expect(recipientMatcher(['"a\\"b"@x.test'], plus).extensions.map((e) => e.like)).toEqual([
      '"a\\"b+%"@x.test',
    ]);
  });

  it('matches an IDN domain as punycode and as the Unicode amavisd stores when conversion fails', () => {
    expect(recipientMatcher(['pingüino@Pájaro.example'], ci).exact).toEqual([
      'pingüino@xn--pjaro-xqa.example',
      '"pingüino"@xn--pjaro-xqa.example',
      'pingüino@pájaro.example',
      '"pingüino"@pájaro.example',
      'pingÜino@xn--pjaro-xqa.example',
      '"pingÜino"@xn--pjaro-xqa.example',
      'pingÜino@pájaro.example',
      '"pingÜino"@pájaro.example',
    ]);
  });

  it('does not let another case of a non-ASCII letter become an ASCII one', () => {
    // 'ı'.toUpperCase() is 'I', which amavisd would store lowercased as 'i': another mailbox
    expect(recipientMatcher(['pıng@x.test'], ci).exact).toEqual(['pıng@x.test', '"pıng"@x.test']);
  });

  it('varies non-ASCII letters only when case-insensitive', () => {
    expect(recipientMatcher(['pingÜino@x.test'], cs).exact).toEqual(['pingÜino@x.test', '"pingÜino"@x.test']);
  });

  it('bounds the spellings of long non-ASCII local parts', () => {
    expect(recipientMatcher(['äöüéèà@x.test'], ci).exact).toEqual([
      'äöüéèà@x.test',
      '"äöüéèà"@x.test',
      'ÄÖÜÉÈÀ@x.test',
      '"ÄÖÜÉÈÀ"@x.test',
    ]);
    expect(recipientMatcher(['äöüéè@x.test'], ci).exact).toHaveLength(2 ** 5 * 2);
  });

  it('keeps other people’s addresses out of the extensions', () => {
    const matcher = recipientMatcher(['john@x.test'], dash, {
      notOwned: ['John-Doe@x.test', 'john@x.test', 'jane@x.test'],
    });
    expect(matcher.exact).toEqual(['john@x.test', '"john"@x.test']);
    expect(matcher.except).toEqual(['john-doe@x.test', '"john-doe"@x.test', 'jane@x.test', '"jane"@x.test']);
    expect(recipientMatcher(['john@x.test'], ci, { notOwned: ['john-doe@x.test'] }).except).toEqual([]);
    expect(() => recipientMatcher(['john@x.test'], dash, { notOwned: ['john doe'] })).toThrow(AddressError);
  });

  it('deduplicates', () => {
    expect(recipientMatcher(['user@x.test', 'USER@X.TEST.', '"user"@x.test'], plus).exact).toEqual([
      'user@x.test',
      '"user"@x.test',
    ]);
  });

  it('rejects a list holding something that is not an address', () => {
    expect(() => recipientMatcher(['user@x.test', 'nobody'], plus)).toThrow(AddressError);
  });

  it.each(['@', '"', '\\', ' ', 'a', '+a', 'é'])('rejects the delimiter %j', (recipientDelimiter) => {
    expect(() =>
      recipientMatcher(['user@x.test'], { localpartIsCaseSensitive: false, recipientDelimiter }),
    ).toThrow(RangeError);
  });
});

describe('SQL', () => {
  const pg = new PgDialect();
  const mysql = new MySqlDialect();

  it('is 1 = 0 when nothing is owned', () => {
    expect(pg.sqlToQuery(recipientCondition(pgTables.maddrTable.email, recipientMatcher([], plus))).sql).toBe(
      '1 = 0',
    );
    expect(pg.sqlToQuery(domainCondition(pgTables.maddrTable.domain, [])).sql).toBe('1 = 0');
    expect(mysql.sqlToQuery(domainCondition(mysqlTables.maddrTable.domain, [])).sql).toBe('1 = 0');
  });

  it('compares the bare email column with bound bytes', () => {
    const matcher = recipientMatcher(['user@x.test'], plus);
    const query = pg.sqlToQuery(recipientCondition(pgTables.maddrTable.email, matcher));
    expect(query.sql).toBe(
      '("maddr"."email" in ($1, $2) or (not ("maddr"."email" like $3 escape \'!\'::bytea) and ' +
        '(("maddr"."email" like $4 escape \'!\'::bytea and not (("maddr"."email" like $5 escape \'!\'::bytea))) or ' +
        '("maddr"."email" like $6 escape \'!\'::bytea and not (("maddr"."email" like $7 escape \'!\'::bytea))))))',
    );
    expect(query.params.every((p) => Buffer.isBuffer(p))).toBe(true);
    expect(query.params.map(String)).toEqual([
      'user@x.test',
      '"user"@x.test',
      '_'.repeat(255),
      'user+%@x.test',
      '%-request@x.test',
      '"user+%"@x.test',
      '%-request"@x.test',
    ]);
    const my = mysql.sqlToQuery(recipientCondition(mysqlTables.maddrTable.email, matcher));
    expect(my.sql).toContain("`maddr`.`email` like ? escape '!'");
    expect(my.sql).not.toContain('::bytea');
  });

  it('compares domains reversed, byte for byte on MySQL', () => {
    const domains = ['X.test', 'alias.test.', 'x.test'];
    const query = pg.sqlToQuery(domainCondition(pgTables.maddrTable.domain, domains));
    expect(query.sql).toBe('"maddr"."domain" in ($1, $2)');
    expect(query.params).toEqual(['test.x', 'test.alias']);
    const my = mysql.sqlToQuery(domainCondition(mysqlTables.maddrTable.domain, domains));
    expect(my.sql).toBe('(`maddr`.`domain` in (?, ?) and cast(`maddr`.`domain` as binary) in (?, ?))');
    expect(my.params.map(String)).toEqual(['test.x', 'test.alias', 'test.x', 'test.alias']);
  });

  it('rejects a domain that is not one', () => {
    expect(() => domainCondition(pgTables.maddrTable.domain, ['x.test', 'not a domain'])).toThrow(
      AddressError,
    );
  });
});
