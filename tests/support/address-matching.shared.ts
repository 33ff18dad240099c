// Access-control conditions run against real maddr rows on each database (PGlite, PostgreSQL, MariaDB):
// a hostile neighbourhood of look-alike recipients, and for each owner exactly the rows it may see.
import { and, type Column, eq, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AddressSettings,
  domainCondition,
  type MatcherOptions,
  recipientCondition,
  recipientMatcher,
} from '../../server/access/address-matching.ts';
import { decodeOctets } from '../../server/amavis/address.ts';
import type { AmavisStore } from '../../server/db/stores.ts';
import { addMessage } from './factories.ts';

export interface AmavisUnderTest {
  store: AmavisStore;
  dispose(): Promise<void>;
}

/** amavisd truncates maddr.email at 255 bytes: this one is the cut-off head of user+aaa…@x.test.evil. */
const TRUNCATED = `user+${'a'.repeat(243)}@x.test`;
/** A legitimate extension of exactly 254 bytes. */
const LONGEST = `user+${'b'.repeat(242)}@x.test`;

/** [maddr.email as amavisd stores it, maddr.domain when it is not simply the reversed domain]. */
const ROWS: [string, string?][] = [
  // the owner and its look-alikes
  ['user@x.test'],
  ['User@x.test'],
  ['"user"@x.test'],
  ['user+tag@x.test'],
  ['User+Tag@x.test'],
  ['user+@x.test'],
  ['user+a+b@x.test'],
  ['"user+a b"@x.test'],
  ['user-tag@x.test'],
  ['user+tag-request@x.test'],
  ['usertag@x.test'],
  ['poweruser@x.test'],
  ['userx@x.test'],
  ['xuser@x.test'],
  ['user@x.test.evil'],
  ['user+tag@x.test.evil'],
  ['user@sub.x.test'],
  ['user@xx.test'],
  [TRUNCATED],
  [LONGEST],
  // LIKE metacharacters
  ['us_er@x.test'],
  ['usXer@x.test'],
  ['us_er+1@x.test'],
  ['usXer+1@x.test'],
  ['100%@x.test'],
  ['100abc@x.test'],
  ['100%+a@x.test'],
  ['100abc+a@x.test'],
  ['a!b@x.test'],
  ['a!!b@x.test'],
  ['a!b+1@x.test'],
  // RFC 5321 quoted local parts, stored with their quotes
  ['"john smith"@x.test'],
  ['"john smith+tag"@x.test'],
  ['"john smithx"@x.test'],
  ['"john smit"@x.test'],
  ['john@x.test'],
  ['smith@x.test'],
  ['"a\\"b"@x.test'],
  ['"a\\"b+c"@x.test'],
  ['"a\\"bc"@x.test'],
  // IDN: amavisd stores punycode, or the Unicode it received when conversion fails
  ['pingüino@xn--pjaro-xqa.example'],
  ['pingÜino@xn--pjaro-xqa.example'],
  ['pingüino+x@xn--pjaro-xqa.example'],
  ['pinguino@xn--pjaro-xqa.example'],
  ['pingüino@pájaro.example', 'example.pájaro'],
  ['pingüino@pajaro.example'],
  // local parts amavisd or Postfix never split
  ['mailer@x.test'],
  ['mailer-x@x.test'],
  ['mailer-daemon@x.test'],
  ['double@x.test'],
  ['double-x@x.test'],
  ['double-bounce@x.test'],
  ['owner@x.test'],
  ['owner-@x.test'],
  ['owner-list@x.test'],
  ['owner+a@x.test'],
  ['list@x.test'],
  ['list-foo@x.test'],
  ['list-request@x.test'],
  ['list+x@x.test'],
  ['list+x-request@x.test'],
  ['postmaster@x.test'],
  ['postmaster+x@x.test'],
  ['john-doe@x.test'],
  ['john-doe-x@x.test'],
  ['john-doe+x@x.test'],
  ['john-x@x.test'],
  // ...in any case, when local parts are case-sensitive
  ['Mailer@x.test'],
  ['Mailer-x@x.test'],
  ['Mailer-Daemon@x.test'],
  ['Mailer-DAEMON@x.test'],
  ['Mailer-daemons@x.test'],
  ['List@x.test'],
  ['List+a@x.test'],
  ['List-REQUEST@x.test'],
  ['List+a-Request@x.test'],
  ['List-Request-x@x.test'],
  // domains for the admin filter, and rows MariaDB's utf8mb4_general_ci would confuse with them
  ['admin@alias.test'],
  ['a@example.test'],
  ['b@exämple.test', 'test.exämple'],
  ['c@EXAMPLE.TEST', 'TEST.EXAMPLE'],
  ['d@example.test.padded', 'test.example '],
];

const X_TEST = ROWS.map(([email]) => email).filter((email) => email.endsWith('@x.test'));

function settings(recipientDelimiter: string, localpartIsCaseSensitive = false): AddressSettings {
  return { localpartIsCaseSensitive, recipientDelimiter };
}

function sorted(emails: readonly string[]): string[] {
  return [...emails].sort();
}

export function addressMatchingSuite(open: () => Promise<AmavisUnderTest>): void {
  let database: AmavisUnderTest;

  beforeAll(async () => {
    database = await open();
    const { connection, t } = database.store;
    await connection.db.insert(t.maddrTable).values(
      ROWS.map(([email, domain]) => ({
        partitionTag: 0,
        email: Buffer.from(email, 'utf8'),
        domain: domain ?? (email.split('@').at(-1) ?? '').split('.').reverse().join('.'),
      })),
    );
  });

  afterAll(async () => {
    await database?.dispose();
  });

  /** select email from maddr rcpt where <condition>, as the listing joins it. */
  async function select(condition: (rcpt: { email: Column; domain: Column }) => SQL): Promise<string[]> {
    const { connection, t } = database.store;
    const rcpt = alias(t.maddrTable, 'rcpt');
    const rows = await connection.db.select({ email: rcpt.email }).from(rcpt).where(condition(rcpt));
    return sorted(rows.map((row) => decodeOctets(row.email)));
  }

  function owned(addresses: string[], addressSettings: AddressSettings, options?: MatcherOptions) {
    const matcher = recipientMatcher(addresses, addressSettings, options);
    return select((rcpt) => recipientCondition(rcpt.email, matcher));
  }

  describe('recipientCondition', () => {
    it('matches nothing for no addresses', async () => {
      expect(await owned([], settings('+'))).toEqual([]);
    });

    it('matches only the address itself without a delimiter', async () => {
      expect(await owned(['user@x.test'], settings(''))).toEqual(sorted(['user@x.test', '"user"@x.test']));
    });

    it('adds the +extensions, but no look-alike, truncated row or *-request', async () => {
      expect(await owned(['USER@X.test'], settings('+'))).toEqual(
        sorted([
          'user@x.test',
          '"user"@x.test',
          'user+tag@x.test',
          'user+@x.test',
          'user+a+b@x.test',
          '"user+a b"@x.test',
          LONGEST,
        ]),
      );
    });

    it('treats each character of "+-" as a delimiter', async () => {
      expect(await owned(['user@x.test'], settings('+-'))).toEqual(
        sorted([
          'user@x.test',
          '"user"@x.test',
          'user+tag@x.test',
          'user+@x.test',
          'user+a+b@x.test',
          '"user+a b"@x.test',
          'user-tag@x.test',
          LONGEST,
        ]),
      );
    });

    it('keeps the case of case-sensitive local parts', async () => {
      expect(await owned(['User@x.test'], settings('+', true))).toEqual(
        sorted(['User@x.test', 'User+Tag@x.test']),
      );
      expect(await owned(['user@x.test'], settings('', true))).toEqual(
        sorted(['user@x.test', '"user"@x.test']),
      );
    });

    it('escapes LIKE metacharacters in the local part', async () => {
      expect(await owned(['us_er@x.test', '100%@x.test', 'a!b@x.test'], settings('+'))).toEqual(
        sorted([
          'us_er@x.test',
          'us_er+1@x.test',
          '100%@x.test',
          '100%+a@x.test',
          'a!b@x.test',
          'a!b+1@x.test',
        ]),
      );
    });

    it('matches quoted local parts in amavisd’s quoted form', async () => {
      expect(await owned(['"John Smith"@X.TEST'], settings('+'))).toEqual(
        sorted(['"john smith"@x.test', '"john smith+tag"@x.test']),
      );
      expect(await owned(['"a\\"b"@x.test'], settings('+'))).toEqual(
        sorted(['"a\\"b"@x.test', '"a\\"b+c"@x.test']),
      );
    });

    it('matches an IDN owner given in Unicode against punycode rows and Unicode-domain rows', async () => {
      expect(await owned(['Pingüino@PÁJARO.example'], settings('+'))).toEqual(
        sorted([
          'pingüino@xn--pjaro-xqa.example',
          'pingÜino@xn--pjaro-xqa.example',
          'pingüino+x@xn--pjaro-xqa.example',
          'pingüino@pájaro.example',
        ]),
      );
      expect(await owned(['pingüino@xn--pjaro-xqa.example'], settings(''))).toEqual(
        sorted([
          'pingüino@xn--pjaro-xqa.example',
          'pingÜino@xn--pjaro-xqa.example',
          'pingüino@pájaro.example',
        ]),
      );
    });

    it('never splits mailer-daemon, double-bounce, owner-* or *-request with the - delimiter', async () => {
      const owners = ['mailer@x.test', 'double@x.test', 'list@x.test', 'owner@x.test', 'postmaster@x.test'];
      expect(await owned(owners, settings('-'))).toEqual(
        sorted([
          'mailer@x.test',
          'mailer-x@x.test',
          'double@x.test',
          'double-x@x.test',
          'list@x.test',
          'list-foo@x.test',
          'owner@x.test',
          'postmaster@x.test',
        ]),
      );
    });

    it('never splits *-request, even with the + delimiter', async () => {
      expect(await owned(['list@x.test', 'owner@x.test', 'postmaster@x.test'], settings('+'))).toEqual(
        sorted([
          'list@x.test',
          'list+x@x.test',
          'owner@x.test',
          'owner+a@x.test',
          'postmaster@x.test',
          'postmaster+x@x.test',
        ]),
      );
    });

    it('recognises the reserved names in any case when local parts are case-sensitive', async () => {
      expect(await owned(['Mailer@x.test', 'List@x.test'], settings('+-', true))).toEqual(
        sorted([
          'Mailer@x.test',
          'Mailer-x@x.test',
          'Mailer-daemons@x.test',
          'List@x.test',
          'List+a@x.test',
          'List-Request-x@x.test',
        ]),
      );
    });

    it('gives an owner whose local part holds the delimiter no extensions', async () => {
      expect(await owned(['john-doe@x.test'], settings('-'))).toEqual(['john-doe@x.test']);
      expect(await owned(['john-doe@x.test'], settings('+'))).toEqual(
        sorted(['john-doe@x.test', 'john-doe+x@x.test']),
      );
    });

    it('leaves addresses known to be someone else’s out of the extensions', async () => {
      expect(await owned(['john@x.test'], settings('-'))).toEqual(
        sorted(['john@x.test', 'john-doe@x.test', 'john-doe-x@x.test', 'john-doe+x@x.test', 'john-x@x.test']),
      );
      expect(await owned(['john@x.test'], settings('-'), { notOwned: ['john-doe@x.test'] })).toEqual(
        sorted(['john@x.test', 'john-doe-x@x.test', 'john-doe+x@x.test', 'john-x@x.test']),
      );
    });

    it('lists only the owner’s rows of a multi-recipient message through msgrcpt', async () => {
      const { store } = database;
      const { msgrcptTable, maddrTable } = store.t;
      const mailId = await addMessage(store, {
        timeNum: 1_790_000_000,
        recipients: [
          { email: 'user+tag@x.test' },
          { email: 'poweruser@x.test' },
          { email: 'user@x.test.evil' },
        ],
      });
      const matcher = recipientMatcher(['user@x.test'], settings('+'));
      const rcpt = alias(maddrTable, 'rcpt');
      const rows = await store.connection.db
        .select({ rseqnum: msgrcptTable.rseqnum, email: rcpt.email })
        .from(msgrcptTable)
        .innerJoin(rcpt, eq(rcpt.id, msgrcptTable.rid))
        .where(and(eq(msgrcptTable.mailId, mailId), recipientCondition(rcpt.email, matcher)));
      expect(rows.map((row) => [row.rseqnum, decodeOctets(row.email)])).toEqual([[1, 'user+tag@x.test']]);
    });
  });

  describe('domainCondition', () => {
    const admin = (domains: string[]) => select((rcpt) => domainCondition(rcpt.domain, domains));

    it('matches nothing for no domains', async () => {
      expect(await admin([])).toEqual([]);
    });

    it('matches the domain exactly: not its sub-domains nor a longer name', async () => {
      expect(await admin(['x.test'])).toEqual(sorted(X_TEST));
      expect(await admin(['Sub.X.Test.'])).toEqual(['user@sub.x.test']);
    });

    it('adds alias domains', async () => {
      expect(await admin(['alias.test', 'x.test.evil'])).toEqual(
        sorted(['admin@alias.test', 'user@x.test.evil', 'user+tag@x.test.evil']),
      );
    });

    it('compares bytes, not the collation’s idea of equal', async () => {
      expect(await admin(['example.test'])).toEqual(['a@example.test']);
    });

    it('matches an IDN domain in the punycode amavisd stores', async () => {
      expect(await admin(['PÁJARO.example'])).toEqual(
        sorted([
          'pingüino@xn--pjaro-xqa.example',
          'pingÜino@xn--pjaro-xqa.example',
          'pingüino+x@xn--pjaro-xqa.example',
          'pinguino@xn--pjaro-xqa.example',
        ]),
      );
    });
  });
}
