// Parsing quarantined messages for the viewer: the corpus of tricky messages in tests/fixtures/mail,
// generated extremes (deep nesting, 25 and 50 MB), and every message the demo generator writes.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadQuarantinedMessage } from '../../server/amavis/quarantine-reassembly.ts';
import { amavisTables, createAmavisTables } from '../../server/db/amavis-tables.ts';
import { type Connection, openDatabase } from '../../server/db/database.ts';
import { seedDemoData } from '../../server/demo/demo-data.ts';
import { cutUtf8 } from '../../server/demo/demo-mime.ts';
import { safeFilename } from '../../server/mail/attachment-filename.ts';
import { decodeText } from '../../server/mail/charsets.ts';
import { decodeEncodedWords } from '../../server/mail/header-fields.ts';
import {
  attachmentContent,
  type MimePart,
  type ParsedMessage,
  parseMessage,
} from '../../server/mail/parse-message.ts';
import { sanitizeEmailHtml } from '../../server/mail/sanitize-html.ts';
import { describeSpamTests, parseSpamReport, parseStatusTests } from '../../server/mail/spam-verdict.ts';
import { MEMORY_SAMPLER } from '../support/memory-sampler.ts';

const FIXTURES = new URL('../fixtures/mail/', import.meta.url);
const MB = 1024 * 1024;

function fixture(name: string): Buffer {
  return fs.readFileSync(new URL(name, FIXTURES));
}

async function parseFixture(name: string): Promise<ParsedMessage> {
  return parseMessage(fixture(name));
}

function flatten(part: MimePart | null): MimePart[] {
  return part ? [part, ...part.children.flatMap(flatten)] : [];
}

function depthOf(part: MimePart | null): number {
  return part ? 1 + Math.max(0, ...part.children.map(depthOf)) : 0;
}

function header(parsed: ParsedMessage, name: string): string | undefined {
  return parsed.headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
}

describe('the fixture corpus', () => {
  it('every fixture parses without throwing and keeps its header section', async () => {
    const names = fs.readdirSync(FIXTURES).filter((n) => n.endsWith('.eml'));
    expect(names.length).toBeGreaterThanOrEqual(20);
    for (const name of names) {
      const raw = fixture(name);
      const parsed = await parseMessage(raw);
      expect(parsed.size, name).toBe(raw.length);
      expect(parsed.headers.length, name).toBeGreaterThan(0);
      for (const problem of parsed.problems) expect(typeof problem, name).toBe('string');
    }
  });

  it('reads the amavisd header block: envelope, quarantine id, alert and the rule breakdown', async () => {
    const parsed = await parseFixture('amavis-gtube.eml');
    expect(parsed.problems).toEqual([]);
    expect(parsed.amavis).toEqual({
      envelopeFrom: 'spammer@sender.test',
      envelopeTo: ['user1@example.test', 'user2@example.test'],
      envelopeToBlocked: ['user1@example.test'],
      quarantineId: 'pRbzB9tqkvlQ',
      alerts: ['BAD HEADER SECTION, Duplicate header field: "Message-ID"'],
      spamFlag: true,
      spamScore: 999.998,
      spamLevel: 64,
    });
    expect(parsed.spam).toEqual({
      isSpam: true,
      score: 999.998,
      required: 5,
      tagLevel: -999,
      killLevel: 5,
      autolearn: 'no',
      tests: [
        { name: 'GTUBE', score: 1000, description: 'BODY: Generic Test for Unsolicited Bulk Email' },
        { name: 'NO_RECEIVED', score: -0.001, description: 'Informational: message has no Received headers' },
        { name: 'NO_RELAYS', score: -0.001, description: 'Informational: message was not relayed via SMTP' },
      ],
    });
    expect(parsed.subject).toBe('GTUBE test message');
    expect(parsed.from).toEqual([{ name: 'Spammer', address: 'spammer@sender.test' }]);
    expect(parsed.to).toEqual([{ name: 'User One', address: 'user1@example.test' }]);
    expect(parsed.messageId).toBe('<gtube-pg-1@sender.test>');
    expect(parsed.date?.toISOString()).toBe('2025-11-25T06:00:00.000Z');
    expect(parsed.text).toContain('GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL');
    // every header, in order, the sender's forged verdict included (but not taken for amavisd's)
    expect(parsed.headers.map((h) => h.name).slice(0, 4)).toEqual([
      'X-Envelope-From',
      'X-Envelope-To',
      'X-Envelope-To-Blocked',
      'X-Quarantine-ID',
    ]);
    expect(parsed.headers.filter((h) => h.name === 'X-Spam-Flag').map((h) => h.value)).toEqual(['YES', 'NO']);
    expect(header(parsed, 'X-Envelope-To')).toBe('<user1@example.test>, <user2@example.test>');
  });

  it('reads the classic tests=A,B form, several alerts and the null sender', async () => {
    const parsed = await parseFixture('spamassassin-classic-status.eml');
    expect(parsed.amavis.envelopeFrom).toBe('');
    expect(parsed.amavis.alerts).toEqual([
      'BANNED, message contains invoice.exe',
      'INFECTED, message contains virus: Eicar-Signature',
    ]);
    expect(parsed.spam?.tests.map((t) => t.name)).toEqual([
      'BAYES_99',
      'HTML_MESSAGE',
      'RDNS_NONE',
      'URIBL_BLOCKED',
    ]);
    expect(parsed.spam?.tests.every((t) => t.score === null && t.description === null)).toBe(true);
    expect(parsed.spam).toMatchObject({ isSpam: true, score: 7.1, required: 5, autolearn: 'spam' });
    const described = await parseMessage(fixture('spamassassin-classic-status.eml'), {
      ruleDescriptions: new Map([['BAYES_99', 'Bayes spam probability is 99 to 100%']]),
    });
    expect(described.spam?.tests[0]).toEqual({
      name: 'BAYES_99',
      score: null,
      description: 'Bayes spam probability is 99 to 100%',
    });
    expect(described.spam?.tests[1]?.description).toBeNull();
    expect(
      describeSpamTests(
        parsed.spam,
        new Map([['RDNS_NONE', 'Delivered to internal network by a host with no rDNS']]),
      )?.tests[2]?.description,
    ).toBe('Delivered to internal network by a host with no rDNS');
  });

  it('parses spam reports and test lists on their own', () => {
    expect(parseStatusTests('No, score=0.1 tests=none autolearn=ham')).toEqual([]);
    expect(parseStatusTests('Yes, tests=[A_B=1.5,\t C=-2]')).toEqual([
      { name: 'A_B', score: 1.5, description: null },
      { name: 'C', score: -2, description: null },
    ]);
    expect(
      parseSpamReport(
        'Content analysis details:   (6.2 points, 5.0 required)\n\n pts rule name              description\n' +
          '---- ---------------------- --------------------------------------------------\n' +
          ' 3.5 BAYES_99               BODY: Bayes spam probability is 99 to 100%\n' +
          '                            [score: 1.0000]\n' +
          ' 2.7 RDNS_NONE              Delivered to internal network by a host with no rDNS\n',
      ),
    ).toEqual([
      {
        name: 'BAYES_99',
        score: 3.5,
        description: 'BODY: Bayes spam probability is 99 to 100% [score: 1.0000]',
      },
      { name: 'RDNS_NONE', score: 2.7, description: 'Delivered to internal network by a host with no rDNS' },
    ]);
  });

  it('says when a multipart has no boundary parameter', async () => {
    const parsed = await parseFixture('missing-boundary-param.eml');
    expect(parsed.problems).toEqual([
      'part 1 is multipart/mixed without a usable boundary; its parts could not be separated',
    ]);
    expect(parsed.mime?.children).toEqual([]);
    expect(parsed.subject).toBe('multipart without a boundary');
  });

  it('says when the boundary never closes, and still shows the parts before the end', async () => {
    const parsed = await parseFixture('unterminated-boundary.eml');
    expect(parsed.problems).toEqual([
      'the multipart boundary "----=_Part_0_1234" of part 1 never closes; the message may be cut short',
    ]);
    expect(parsed.text).toBe('Attached document.');
    expect(parsed.attachments.map((a) => [a.partId, a.filename, a.contentType])).toEqual([
      ['1.2', 'document.pdf', 'application/pdf'],
    ]);
    expect(parsed.attachments[0]?.size).toBe(55);
  });

  it('says when a declared boundary never appears', async () => {
    const parsed = await parseFixture('boundary-never-appears.eml');
    expect(parsed.problems).toEqual([
      'the multipart boundary "declared-but-unused" of part 1 never appears; its parts could not be separated',
    ]);
  });

  it('finds an inner multipart that is never closed, and the parts after it', async () => {
    const parsed = await parseFixture('nested-unterminated.eml');
    expect(parsed.problems).toEqual([
      'the multipart boundary "inner" of part 1.1 never closes; the message may be cut short',
    ]);
    expect(flatten(parsed.mime).map((p) => `${p.partId} ${p.contentType}`)).toEqual([
      '1 multipart/mixed',
      '1.1 multipart/alternative',
      '1.1.1 text/plain',
      '1.1.2 text/html',
      '1.2 text/csv',
    ]);
    expect(parsed.text).toBe('plain text');
    expect(parsed.html).toBe('<p>html text</p>');
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['data.csv']);
  });

  it('a message cut in the middle of an attachment (a lost last chunk) shows what is there', async () => {
    const parsed = await parseFixture('truncated-mid-part.eml');
    expect(parsed.text).toBe('before the cut');
    expect(parsed.attachments[0]).toMatchObject({ partId: '1.2', filename: 'big.pdf' });
    expect(parsed.attachments[0]?.size).toBeGreaterThan(50);
    expect(parsed.problems).toEqual([
      'the multipart boundary "cut" of part 1 never closes; the message may be cut short',
    ]);
  });

  it('falls back on unknown charsets and says so', async () => {
    const parsed = await parseFixture('unknown-charset.eml');
    expect(parsed.subject).toBe('café');
    expect(parsed.text).toBe('café crème brûlée\n');
    expect(parsed.problems).toEqual([
      'the Subject header: unknown charset x-unknown, shown as windows-1252',
      'part 1: unknown charset x-foo, shown as windows-1252',
    ]);
  });

  it('reads Latin-1 text that claims to be UTF-8 as windows-1252', async () => {
    const parsed = await parseFixture('wrong-charset-utf8.eml');
    expect(parsed.text).toBe('Die Ware wird Anfang nächster Woche geliefert. Grüße aus München\n');
    expect(parsed.problems).toEqual(['part 1 is not valid UTF-8 as declared, shown as windows-1252']);
  });

  it('reads UTF-8 text that claims to be Latin-1 as UTF-8', async () => {
    const parsed = await parseFixture('latin1-declared-but-utf8.eml');
    expect(parsed.text).toBe('Grüße aus München\n');
    expect(parsed.problems).toEqual(['part 1 declares iso-8859-1 but is UTF-8, shown as UTF-8']);
  });

  it('keeps damaged UTF-8 readable (replacement characters) instead of turning it all into mojibake', async () => {
    const parsed = await parseFixture('broken-encodings.eml');
    expect(parsed.text).toBe('soft break at the end =ZZ bad hex é ok \ufffd');
    expect(parsed.problems).toEqual([
      'part 1.1 is not valid UTF-8 as declared; the bad bytes are shown as replacement characters',
    ]);
    expect(parsed.attachments[0]?.size).toBe(8);
  });

  it('reads raw 8-bit UTF-8 headers without complaint (RFC 6532)', async () => {
    const parsed = await parseFixture('raw-8bit-utf8-headers.eml');
    expect(parsed.problems).toEqual([]);
    expect(parsed.subject).toBe('Ihre Bestellung über 49,90 € – Lieferung heute');
    expect(parsed.from).toEqual([{ name: 'Günther Groß', address: 'guenther@versandhandel.test' }]);
    expect(parsed.to).toEqual([{ name: 'Jörg', address: 'joerg@example.test' }]);
  });

  it('reads raw 8-bit Latin-1 headers as windows-1252 and says so', async () => {
    const parsed = await parseFixture('raw-8bit-latin1-headers.eml');
    expect(parsed.subject).toBe('Ihre Bestellung über 49,90 EUR');
    expect(parsed.from[0]?.name).toBe('Günther Groß');
    expect(parsed.amavis.alerts[0]).toContain('BAD HEADER SECTION');
    expect(parsed.problems).toEqual([
      'the From header has raw 8-bit bytes that are not UTF-8, shown as windows-1252',
      'the Subject header has raw 8-bit bytes that are not UTF-8, shown as windows-1252',
    ]);
    expect(parsed.text).toBe('Grüße\n');
  });

  it('decodes encoded-words: split characters, Q and B, ISO-2022-JP, windows-1251, encoded commas', async () => {
    const parsed = await parseFixture('encoded-words.eml');
    expect(parsed.problems).toEqual([]);
    expect(parsed.subject).toBe('Grüße, Jürgen ✓');
    expect(parsed.from).toEqual([{ name: 'Jürgen Müller', address: 'j@example.test' }]);
    expect(parsed.to).toEqual([
      { name: 'Doe, John', address: 'john@example.test' },
      { name: 'Anna , Petrova', address: 'anna@example.test' },
    ]);
    expect(header(parsed, 'X-Japanese')).toBe('【セール】');
    expect(header(parsed, 'X-Cyrillic')).toBe('Скидки');
    expect(header(parsed, 'X-Mixed')).toBe('plain word text');
  });

  it('makes hostile attachment names safe and keeps the original', async () => {
    const parsed = await parseFixture('path-traversal-names.eml');
    expect(parsed.attachments.map((a) => [a.filename, a.originalFilename])).toEqual([
      ['passwd', '../../etc/passwd'],
      ['evil.exe', 'C:\\Windows\\evil.exe'],
      ['hiddenname.txt', '../../hidden\u0000name\n.txt'],
      ['invoicefdp.exe', 'invoice\u202efdp.exe'],
      ['htaccess', '.htaccess'],
      ['_CON.txt', 'CON.txt'],
      ['part-1.8.png', '...'],
    ]);
    expect(parsed.text).toBe('see attachments');
    const passwd = await attachmentContent(fixture('path-traversal-names.eml'), '1.2');
    expect(passwd?.filename).toBe('passwd');
    expect(passwd?.content.toString()).toBe('root:x:0:0:root:/root:/bin/bash\n');
  });

  it('safeFilename strips directories, controls, leading dots, reserved names and bounds the length', () => {
    expect(safeFilename('../../etc/passwd', '1.2', 'text/plain')).toBe('passwd');
    expect(safeFilename('C:\\evil.exe', '1.2', 'application/octet-stream')).toBe('evil.exe');
    expect(safeFilename('a\u0007b\u0085c\u202e.txt', '1', 'text/plain')).toBe('abc.txt');
    expect(safeFilename('report:2024|final?.pdf', '1', 'application/pdf')).toBe('report_2024_final_.pdf');
    expect(safeFilename('..', '1.3', 'image/jpeg')).toBe('part-1.3.jpeg');
    expect(safeFilename(null, '1.4', 'message/rfc822')).toBe('part-1.4.eml');
    expect(safeFilename('lpt1', '2', 'text/plain')).toBe('_lpt1');
    const long = safeFilename(`${'x'.repeat(400)}.pdf`, '1', 'application/pdf');
    expect(long).toHaveLength(150);
    expect(long.endsWith('.pdf')).toBe(true);
  });

  it('reports malformed header lines, invalid content types and unknown transfer encodings', async () => {
    const parsed = await parseFixture('malformed-headers.eml');
    expect(parsed.headers[0]).toEqual({ name: '', value: 'this line has no colon' });
    expect(parsed.subject).toBe('malformed\u0000headers');
    expect(parsed.problems).toEqual([
      'a header line has no field name',
      'part 1 has an invalid Content-Type "garbage", read as text/plain',
      'part 1 has an unknown Content-Transfer-Encoding "x-uuencode"; shown undecoded',
    ]);
    expect(parsed.text).toBe('begin 644 file.txt\n`\nend\n');
  });

  it('shows the tree of an embedded message, its attachments, and offers it as .eml', async () => {
    const raw = fixture('embedded-message.eml');
    const parsed = await parseMessage(raw);
    expect(parsed.problems).toEqual([]);
    expect(flatten(parsed.mime).map((p) => `${p.partId} ${p.contentType} ${p.size}`)).toEqual([
      '1 multipart/mixed 485',
      '1.1 text/plain 26',
      '1.2 message/rfc822 392',
      '1.2.1 multipart/mixed 59',
      '1.2.1.1 text/plain 37',
      '1.2.1.2 application/zip 22',
      '1.3 message/rfc822 67',
    ]);
    // the embedded message's text is not this message's body
    expect(parsed.text).toBe('See the forwarded message.');
    expect(parsed.attachments.map((a) => `${a.partId} ${a.filename}`)).toEqual([
      '1.2 part-1.2.eml',
      '1.2.1.2 payload.zip',
      '1.3 attached.eml',
    ]);
    const embedded = await attachmentContent(raw, '1.2');
    expect(embedded?.content.toString()).toMatch(/^From: original@example.test\n[\s\S]*--inner--\n$/);
    expect(await attachmentContent(raw, '1.2.1')).toBeNull();
    expect(await attachmentContent(raw, '1')).toBeNull();
    expect(await attachmentContent(raw, '9.9')).toBeNull();
  });

  it('every attachment downloads with the size and SHA-256 the view reported', async () => {
    for (const name of [
      'embedded-message.eml',
      'path-traversal-names.eml',
      'html-hostile.eml',
      'broken-encodings.eml',
    ]) {
      const raw = fixture(name);
      const parsed = await parseMessage(raw);
      expect(parsed.attachments.length, name).toBeGreaterThan(0);
      for (const attachment of parsed.attachments) {
        const content = await attachmentContent(raw, attachment.partId);
        expect(content?.content.length, `${name} ${attachment.partId}`).toBe(attachment.size);
        expect(
          createHash('sha256')
            .update(content?.content ?? Buffer.alloc(0))
            .digest('hex'),
        ).toBe(attachment.sha256);
        expect(content?.filename).toBe(attachment.filename);
      }
    }
  });

  it('keeps the HTML body raw (sanitising is separate) and lists the inline cid image', async () => {
    const parsed = await parseFixture('html-hostile.eml');
    expect(parsed.problems).toEqual([]);
    expect(parsed.text).toBe('Verify your account now.');
    expect(parsed.html).toContain('<script>alert(1)</script>');
    expect(parsed.attachments).toEqual([
      {
        partId: '1.2.2',
        filename: 'logo.png',
        originalFilename: 'logo.png',
        contentType: 'image/png',
        disposition: 'inline',
        contentId: 'logo@paypai',
        size: 70,
        sha256: createHash('sha256')
          .update(
            Buffer.from(
              'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
              'base64',
            ),
          )
          .digest('hex'),
      },
    ]);
    const safe = sanitizeEmailHtml(parsed.html ?? '', { allowRemoteImages: false });
    expect(safe.html).not.toMatch(/<script|onload|<form|javascript:|refresh/i);
    expect(safe.html).toContain('src="cid:logo@paypai"');
    expect(safe.blockedRemoteResources).toBe(1);
  });

  it('format=flowed text is unwrapped, CRLF messages read the same, headers-only messages have an empty body', async () => {
    expect((await parseFixture('format-flowed.eml')).text).toBe(
      "This is a long line that was wrapped by the sender's client.\n> quoted",
    );
    const crlf = await parseFixture('crlf.eml');
    expect(crlf.subject).toBe('CRLF line ends');
    expect(crlf.html).toBe('<p>one</p>\r\n<p>two</p>\r\n');
    const headersOnly = await parseFixture('headers-only.eml');
    expect(headersOnly.subject).toBe('no body at all');
    expect(headersOnly.headers.at(-1)).toEqual({ name: 'X-Last', value: 'value' });
    expect(headersOnly.text).toBe('');
    expect(headersOnly.problems).toEqual([]);
  });

  it('refuses to decode UTF-7 (a filter-evasion charset)', async () => {
    const parsed = await parseFixture('utf7-html.eml');
    expect(parsed.html).toBe('+ADw-script+AD4-alert(1)+ADw-/script+AD4-\n');
    expect(parsed.problems).toEqual([
      'part 1 uses charset utf-7, which is not decoded; shown as windows-1252',
    ]);
  });

  it('binary garbage and empty input give headers or a problem, never an exception', async () => {
    const garbage = await parseFixture('binary-garbage.eml');
    expect(garbage.headers.length).toBeGreaterThan(0);
    expect(garbage.problems).toContain('a header line has no field name');
    const empty = await parseMessage(Buffer.alloc(0));
    expect(empty.problems).toEqual(['the message is empty']);
    expect(empty.headers).toEqual([]);
  });
});

describe('charsets and encoded-words', () => {
  it('decodes what it knows and names what it does not', () => {
    expect(decodeText(Buffer.from([0xc4, 0xe9]), 'ISO-8859-7', 'x')).toEqual({ text: 'Δι', problem: null });
    expect(decodeText(Buffer.from('€', 'utf8'), null, 'x')).toEqual({ text: '€', problem: null });
    expect(decodeText(Buffer.from([0xe9]), null, 'part 2')).toEqual({
      text: 'é',
      problem: 'part 2 has 8-bit text without a declared charset that is not UTF-8, shown as windows-1252',
    });
    // a character cut by the body size limit is not a charset error
    expect(decodeText(Buffer.from('aé', 'utf8').subarray(0, 2), 'utf-8', 'x', true)).toEqual({
      text: 'a',
      problem: null,
    });
  });

  it('keeps text between encoded-words and joins adjacent words of one charset', () => {
    const problems = new Set<string>();
    expect(decodeEncodedWords('a =?utf-8?q?b?= =?utf-8?q?c?= d', 'x', problems)).toBe('a bc d');
    expect(decodeEncodedWords('=?utf-8?B?w6k=?==?iso-8859-1?Q?=E9?=', 'x', problems)).toBe('éé');
    // 7-bit text in an unknown charset reads the same in any ASCII-compatible one
    expect(decodeEncodedWords('=?bogus?Q?x?=', 'the X header', problems)).toBe('x');
    expect([...problems]).toEqual([]);
    decodeEncodedWords('=?bogus?Q?=E9?=', 'the X header', problems);
    expect([...problems]).toEqual(['the X header: unknown charset bogus, shown as windows-1252']);
  });
});

describe('bounds', () => {
  function nested(levels: number): Buffer {
    let body = '';
    for (let i = 0; i < levels; i++)
      body += `--b${i}\nContent-Type: multipart/mixed; boundary="b${i + 1}"\n\n`;
    body += `--b${levels}\nContent-Type: text/plain\n\ndeep text\n--b${levels}--\n`;
    for (let i = levels - 1; i >= 0; i--) body += `--b${i}--\n`;
    return Buffer.from(
      `From: a@example.test\nSubject: deep\nContent-Type: multipart/mixed; boundary="b0"\n\n${body}`,
    );
  }

  it('50 levels of nesting: the first 20 are shown, the rest is reported', async () => {
    const parsed = await parseMessage(nested(50));
    expect(parsed.problems).toEqual(['MIME nesting deeper than 20 levels was not parsed']);
    expect(depthOf(parsed.mime)).toBe(21);
    expect(parsed.subject).toBe('deep');
    expect(parsed.text).toBeNull();
    const all = await parseMessage(nested(50), { maxDepth: 60 });
    expect(all.problems).toEqual([]);
    expect(depthOf(all.mime)).toBe(52);
    expect(all.text).toBe('deep text');
  });

  it('a nesting bomb stops parsing at three times the depth limit', async () => {
    const parsed = await parseMessage(nested(200));
    expect(parsed.problems).toEqual([
      'MIME nesting deeper than 20 levels was not parsed',
      'MIME nesting deeper than 60 levels; the rest of the message was not parsed',
    ]);
    expect(depthOf(parsed.mime)).toBe(21);
    expect(parsed.subject).toBe('deep');
  });

  it('many open multiparts are reported in one line', async () => {
    const cut = nested(30)
      .toString('latin1')
      .replace(/--b\d+--\n/g, '');
    const parsed = await parseMessage(Buffer.from(cut, 'latin1'), { maxDepth: 40 });
    expect(parsed.problems).toEqual([
      '31 multipart boundaries never close, the outermost being the multipart boundary "b0" of part 1; the message may be cut short',
    ]);
    expect(parsed.text).toBe('deep text\n');
  });

  it('stops at the part limit', async () => {
    const parts = Array.from({ length: 2000 }, (_, i) => `--x\nContent-Type: text/plain\n\npart ${i}\n`).join(
      '',
    );
    const parsed = await parseMessage(
      Buffer.from(`Subject: many\nContent-Type: multipart/mixed; boundary=x\n\n${parts}--x--\n`),
      { maxNodes: 100 },
    );
    expect(parsed.problems).toEqual(['the message has more than 100 MIME parts; the rest was not parsed']);
    expect(flatten(parsed.mime)).toHaveLength(100);
    expect(parsed.text?.startsWith('part 0\npart 1\n')).toBe(true);
  });

  it('stops after the time limit with what it has', async () => {
    const parts = Array.from({ length: 400 }, (_, i) => `--x\nContent-Type: text/plain\n\npart ${i}\n`).join(
      '',
    );
    const parsed = await parseMessage(
      Buffer.from(`Subject: slow\nContent-Type: multipart/mixed; boundary=x\n\n${parts}--x--\n`),
      { timeoutMs: 0 },
    );
    expect(parsed.subject).toBe('slow');
    expect(parsed.problems).toEqual(['parsing stopped after 0 s; the rest of the message is not shown']);
  });

  it('limits the number of listed headers and the length of a value', async () => {
    const many = Array.from({ length: 1500 }, (_, i) => `X-H${i}: v`).join('\n');
    const long = `X-Long: ${'y'.repeat(100_000)}`;
    const parsed = await parseMessage(Buffer.from(`Subject: h\n${long}\n${many}\n\nbody\n`));
    expect(parsed.headers).toHaveLength(1000);
    expect(parsed.headers[1]?.value.length).toBe(64 * 1024 + 3);
    expect(parsed.problems).toEqual([
      'the message has 1502 header fields; only the first 1000 are listed',
      'the X-Long header is longer than 64 KB and was cut',
    ]);
    expect(parsed.text).toBe('body\n');
  });
});

/** A multipart message of about `bytes` with a text part and one base64 attachment of random bytes. */
function bigMessage(bytes: number): { raw: Buffer; attachment: Buffer } {
  const head =
    'From: big@example.test\nSubject: big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="BIG"\n\n' +
    '--BIG\nContent-Type: text/plain; charset=utf-8\n\nsee the attachment\n--BIG\n' +
    'Content-Type: application/pdf; name="big.pdf"\nContent-Transfer-Encoding: base64\n' +
    'Content-Disposition: attachment; filename="big.pdf"\n\n';
  const attachment = randomBytes(Math.floor(((bytes - head.length) / 78) * 57));
  const b64 = attachment.toString('base64').replace(/.{76}/g, '$&\n');
  return { raw: Buffer.from(`${head}${b64}\n--BIG--\n`, 'latin1'), attachment };
}

async function measure<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

interface MemoryReport {
  node: string;
  ms: number;
  peakRssMb: number;
  /** Peak growth of the JS heap plus Buffers. */
  peakHeapMb: number;
  problems: string[];
  attachmentSize: number;
}

/**
 * Parses a generated message of `megabytes` in a fresh Node process (this worker's heap already
 * holds other tests' garbage, which hides what one parse costs) and reports the RSS growth over the
 * parse, sampled every 2 ms, with the message itself already in memory.
 */
async function measureInFreshProcess(megabytes: number): Promise<MemoryReport> {
  const module = new URL('../../server/mail/parse-message.ts', import.meta.url).href;
  const code = `
    import { randomBytes } from 'node:crypto';
    import { parseMessage } from ${JSON.stringify(module)};
    const head = 'Subject: big\\nContent-Type: multipart/mixed; boundary=B\\n\\n--B\\nContent-Type: text/plain\\n\\nhi\\n' +
      '--B\\nContent-Type: application/pdf; name=big.pdf\\nContent-Transfer-Encoding: base64\\n\\n';
    const bytes = Math.floor((${megabytes} * 1048576 / 78) * 57);
    const raw = Buffer.from(head + randomBytes(bytes).toString('base64').replace(/.{76}/g, '$&\\n') + '\\n--B--\\n');
${MEMORY_SAMPLER}
    const started = performance.now();
    const parsed = await parseMessage(raw);
    const ms = performance.now() - started;
    clearInterval(timer);
    sample();
    console.log(JSON.stringify({
      node: process.version, ms, peakRssMb: peak / 1048576, peakHeapMb: peakHeap / 1048576,
      problems: parsed.problems, attachmentSize: parsed.attachments[0]?.size ?? 0,
    }));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', code],
    {
      maxBuffer: 1024 * 1024,
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as MemoryReport;
}

describe('large messages', () => {
  it('a 25 MB message parses adding well under 200 MB of memory (measured in a fresh process)', async () => {
    const report = await measureInFreshProcess(25);
    console.info(
      `25 MB message on ${report.node}: ${Math.round(report.ms)} ms, peak RSS +${Math.round(report.peakRssMb)} MB, ` +
        `peak heap+buffers +${Math.round(report.peakHeapMb)} MB`,
    );
    expect(report.problems).toEqual([]);
    expect(report.attachmentSize).toBeGreaterThan(18 * MB);
    expect(report.peakRssMb).toBeLessThan(200);
    expect(report.peakHeapMb).toBeLessThan(200);
  });

  it('a 25 MB message: the attachment size and SHA-256 are right', async () => {
    const { raw, attachment } = bigMessage(25 * MB);
    const { result } = await measure(() => parseMessage(raw));
    expect(result.problems).toEqual([]);
    expect(result.text).toBe('see the attachment');
    expect(result.attachments[0]?.size).toBe(attachment.length);
    expect(result.attachments[0]?.sha256).toBe(createHash('sha256').update(attachment).digest('hex'));
  });

  it('a 50 MB message parses in bounded time and reports what it holds', async () => {
    const report = await measureInFreshProcess(50);
    console.info(
      `50 MB message on ${report.node}: ${Math.round(report.ms)} ms, peak RSS +${Math.round(report.peakRssMb)} MB, ` +
        `peak heap+buffers +${Math.round(report.peakHeapMb)} MB`,
    );
    expect(report.ms).toBeLessThan(10_000);
    expect(report.peakRssMb).toBeLessThan(200);
    expect(report.problems).toEqual([]);
    const { raw, attachment } = bigMessage(50 * MB);
    const download = await attachmentContent(raw, '1.2');
    expect(download?.content.equals(attachment)).toBe(true);
  });

  it('a 50 MB text body is shown up to the body limit', async () => {
    const raw = Buffer.concat([
      Buffer.from('Subject: long text\nContent-Type: text/plain; charset=utf-8\n\n'),
      Buffer.alloc(50 * MB, 'Grüße aus München\n'),
    ]);
    const { result, ms } = await measure(() => parseMessage(raw));
    expect(ms).toBeLessThan(10_000);
    expect(result.mime?.size).toBe(50 * MB);
    expect(Buffer.byteLength(result.text ?? '')).toBeLessThanOrEqual(2 * MB);
    expect(result.text?.startsWith('Grüße aus München\nGrüße')).toBe(true);
    expect(result.problems).toEqual(['the text body is larger than 2.0 MB; only the start is shown']);
  });

  it('50 MB without a single line break: the header limit applies and the headers still show', async () => {
    const raw = Buffer.concat([Buffer.from('Subject: x'), Buffer.alloc(50 * MB, 'x')]);
    const { result, ms } = await measure(() => parseMessage(raw));
    expect(ms).toBeLessThan(10_000);
    expect(result.headers[0]?.name).toBe('Subject');
    expect(result.problems).toContain(
      'a MIME header section is larger than 1.0 MB; the rest of the message was not parsed',
    );
  });
});

describe('the demo generator messages', () => {
  let connection: Connection;
  let dir: string;
  const t = amavisTables('pg');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-parse-'));
    connection = await openDatabase({ kind: 'embedded', dir }, 'test');
    await createAmavisTables(connection);
    await seedDemoData({ connection, t }, { now: new Date('2026-03-01T12:00:00Z'), seed: 7, messages: 120 });
  });

  afterAll(async () => {
    await connection.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('all parse; only the deliberately broken ones report problems', async () => {
    const store = { connection, t };
    const msgs = await connection.db
      .select({ mailId: t.msgsTable.mailId, subject: t.msgsTable.subject, fromAddr: t.msgsTable.fromAddr })
      .from(t.msgsTable)
      .where(eq(t.msgsTable.quarType, 'Q'))
      .orderBy(asc(t.msgsTable.mailId));
    expect(msgs.length).toBeGreaterThanOrEqual(100);
    let multiChunk = 0;
    let withHtml = 0;
    let withAttachments = 0;
    for (const msg of msgs) {
      const stored = await loadQuarantinedMessage(store, { partitionTag: 0, mailId: msg.mailId });
      expect(stored?.problems, msg.mailId).toEqual([]);
      if ((stored?.chunks ?? 0) > 1) multiChunk++;
      const parsed = await parseMessage(stored?.raw ?? Buffer.alloc(0));
      const alerts = parsed.amavis.alerts.join(' ');
      let expected: string[] = [];
      if (alerts.includes('MIME error')) {
        expected = [
          expect.stringMatching(/^the multipart boundary ".*" of part 1 never closes/) as unknown as string,
        ];
      } else if (parsed.subject === 'Lieferschein und Rechnung') {
        expected = ['part 1 is not valid UTF-8 as declared, shown as windows-1252'];
      }
      expect(parsed.problems, `${msg.mailId} ${parsed.subject}`).toEqual(expected);
      expect(parsed.amavis.quarantineId).toBe(msg.mailId);
      expect(parsed.amavis.envelopeTo.length).toBeGreaterThan(0);
      // amavisd's msgs.subject is the decoded Subject cut to 255 bytes: the parser must agree
      expect(cutUtf8(parsed.subject ?? '', 255), msg.mailId).toBe(msg.subject);
      if (parsed.html !== null) {
        withHtml++;
        const safe = sanitizeEmailHtml(parsed.html, { allowRemoteImages: false });
        expect(safe.html).not.toMatch(/<script|<iframe|<form|\son[a-z]+=|javascript:/i);
      }
      if (parsed.attachments.length > 0) withAttachments++;
      for (const a of parsed.attachments) expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(multiChunk).toBeGreaterThan(0);
    expect(withHtml).toBeGreaterThan(0);
    expect(withAttachments).toBeGreaterThan(0);
  });
});
