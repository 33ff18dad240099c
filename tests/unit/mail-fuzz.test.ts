// Property-based fuzzing of the message view's parsing path: arbitrary bytes, structured but broken
// MIME (random boundaries, truncation, random headers, charsets and transfer encodings), mutated
// fixtures, and hostile HTML through the sanitiser. Nothing may throw, every run must finish fast,
// and what the view reports must agree with what a download gives.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeFilename } from '../../server/mail/attachment-filename.ts';
import { decodeEncodedWords } from '../../server/mail/header-fields.ts';
import {
  attachmentContent,
  type MimePart,
  type ParsedMessage,
  parseMessage,
} from '../../server/mail/parse-message.ts';
import { sanitizeEmailHtml } from '../../server/mail/sanitize-html.ts';

// Each property's runs; together they keep this file well under 20 s on the CI machines.
// MAIL_FUZZ_SCALE=50 (say) fuzzes fifty times longer, for a nightly or a bug hunt.
const SCALE = Math.max(1, Number(process.env.MAIL_FUZZ_SCALE) || 1);
const RUNS = {
  bytes: 1000 * SCALE,
  mime: 1500 * SCALE,
  mutated: 1500 * SCALE,
  html: 2000 * SCALE,
  small: 2000 * SCALE,
};
const PER_MESSAGE_MS = 2000;
const OPTIONS = { maxNodes: 60, maxDepth: 6 };

function parts(part: MimePart | null): MimePart[] {
  return part ? [part, ...part.children.flatMap(parts)] : [];
}

function depthOf(part: MimePart | null): number {
  return part ? 1 + Math.max(0, ...part.children.map(depthOf)) : 0;
}

/** What must hold for any input. */
function checkInvariants(raw: Buffer, parsed: ParsedMessage, maxNodes: number, maxDepth: number): void {
  expect(parsed.size).toBe(raw.length);
  for (const problem of parsed.problems) expect(typeof problem).toBe('string');
  for (const h of parsed.headers) {
    expect(typeof h.name).toBe('string');
    expect(typeof h.value).toBe('string');
  }
  const all = parts(parsed.mime);
  expect(all.length).toBeLessThanOrEqual(maxNodes);
  expect(depthOf(parsed.mime)).toBeLessThanOrEqual(maxDepth + 1);
  const ids = all.map((p) => p.partId);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(id).toMatch(/^1(?:\.[1-9]\d*)*$/);
  for (const a of parsed.attachments) {
    expect(ids).toContain(a.partId);
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may survive
    expect(a.filename).not.toMatch(/[/\\\u0000-\u001f]/);
    expect(a.filename.startsWith('.')).toBe(false);
  }
}

async function parseTimed(raw: Buffer, options = OPTIONS): Promise<ParsedMessage> {
  const started = performance.now();
  const parsed = await parseMessage(raw, options);
  expect(performance.now() - started).toBeLessThan(PER_MESSAGE_MS);
  checkInvariants(raw, parsed, options.maxNodes, options.maxDepth);
  return parsed;
}

// ---------------------------------------------------------------------------------------------------
// Structured but broken MIME

/** null three times out of four. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary, weight: 1 });
const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

const charset = fc.constantFrom(
  'utf-8',
  'UTF-8',
  'us-ascii',
  'iso-8859-1',
  'windows-1252',
  'windows-1251',
  'koi8-r',
  'iso-2022-jp',
  'shift_jis',
  'gb2312',
  'big5',
  'utf-16',
  'utf-7',
  'x-unknown',
  'utf-8*en',
  '',
  '"',
);
const transferEncoding = fc.constantFrom(
  '',
  '7bit',
  '8bit',
  'binary',
  'base64',
  'BASE64',
  'quoted-printable',
  'x-uuencode',
  '"base64"',
);
const boundary = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9'()+_,./:=? -]{1,70}$/),
  fc.constantFrom('', ' ', '-', '--', 'b', 'ä', '"', 'a b'),
);
const encodedWord = fc
  .tuple(charset, fc.constantFrom('B', 'Q', 'b', 'q', 'X'), fc.uint8Array({ maxLength: 30 }))
  .map(([cs, enc, bytes]) => {
    const payload =
      enc.toUpperCase() === 'B'
        ? Buffer.from(bytes).toString('base64')
        : [...bytes].map((b) => `=${b.toString(16).padStart(2, '0')}`).join('');
    return `=?${cs}?${enc}?${payload}?=`;
  });
const headerValue = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.uint8Array({ maxLength: 60 }).map(latin1),
  fc
    .array(fc.oneof(encodedWord, fc.constantFrom(' ', ', ', '"', '<a@b>', '\n ', '\t')), { maxLength: 6 })
    .map((a) => a.join('')),
  fc.constantFrom(
    'Yes, score=7.1 required=5.0 tests=BAYES_99,\n\tHTML_MESSAGE autolearn=no',
    'Yes, score=999 tag=-999 tag2=5 kill=5 tests=[GTUBE=1000,\n NO_RELAYS=-0.001] autolearn=no',
    '\n\t* 1.0 GTUBE BODY: x\n\t*  [score: 1]',
    '<a@example.test>,\n <b@example.test>',
    '"Doe, John" <j@example.test>, =?utf-8?q?A_=2C_B?= <ab@example.test>',
  ),
);
const headerName = fc.oneof(
  fc.constantFrom(
    'Subject',
    'From',
    'To',
    'Cc',
    'Reply-To',
    'Date',
    'Message-ID',
    'X-Amavis-Alert',
    'X-Spam-Status',
    'X-Spam-Report',
    'X-Spam-Score',
    'X-Envelope-To',
    'X-Quarantine-ID',
  ),
  fc.stringMatching(/^[!-9;-~]{1,20}$/),
);
const extraHeader = fc.tuple(headerName, headerValue).map(([n, v]) => `${n}: ${v}`);

interface Leaf {
  kind: 'leaf';
  contentType: string;
  charset: string;
  encoding: string;
  filename: string | null;
  disposition: string | null;
  body: Uint8Array;
  headers: string[];
}
interface Multi {
  kind: 'multi';
  subtype: string;
  boundary: string;
  preamble: string;
  children: Node[];
  closes: boolean;
  dropDelimiter: number | null;
}
type Node = Leaf | Multi;

const tree = fc.letrec<{ node: Node; leaf: Leaf; multi: Multi }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('multi')),
  leaf: fc.record({
    kind: fc.constant('leaf' as const),
    contentType: fc.constantFrom(
      'text/plain',
      'text/html',
      'text/html',
      'text/plain',
      'application/octet-stream',
      'image/png',
      'message/rfc822',
      'text/calendar',
      'garbage',
      'multipart/mixed',
    ),
    charset,
    encoding: transferEncoding,
    filename: rarely(
      fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('../../etc/passwd', 'C:\\a.exe', '.x', '..')),
    ),
    disposition: rarely(fc.constantFrom('inline', 'attachment', 'weird')),
    body: fc.uint8Array({ maxLength: 400 }),
    headers: fc.array(extraHeader, { maxLength: 2 }),
  }),
  multi: fc.record({
    kind: fc.constant('multi' as const),
    subtype: fc.constantFrom('mixed', 'alternative', 'related', 'report', 'digest'),
    boundary,
    preamble: fc.string({ maxLength: 40 }),
    children: fc.array(tie('node'), { maxLength: 4 }),
    closes: fc.boolean(),
    dropDelimiter: rarely(fc.nat({ max: 4 })),
  }),
}));

function encodeBody(bytes: Uint8Array, encoding: string): string {
  const buffer = Buffer.from(bytes);
  if (encoding.toLowerCase() === 'base64') return buffer.toString('base64').replace(/.{76}/g, '$&\n');
  if (encoding === 'quoted-printable') {
    return [...buffer]
      .map((b) =>
        b >= 33 && b <= 126 && b !== 61
          ? String.fromCharCode(b)
          : `=${b.toString(16).toUpperCase().padStart(2, '0')}`,
      )
      .join('')
      .replace(/.{70}/g, '$&=\n');
  }
  return buffer.toString('latin1');
}

function render(node: Node, nl: string): string {
  if (node.kind === 'leaf') {
    const lines = [
      `Content-Type: ${node.contentType}${node.charset ? `; charset=${node.charset}` : ''}${node.filename !== null ? `; name="${node.filename}"` : ''}`,
      ...(node.encoding ? [`Content-Transfer-Encoding: ${node.encoding}`] : []),
      ...(node.disposition
        ? [
            `Content-Disposition: ${node.disposition}${node.filename !== null ? `; filename="${node.filename}"` : ''}`,
          ]
        : []),
      ...node.headers,
    ];
    return `${lines.join(nl)}${nl}${nl}${encodeBody(node.body, node.encoding)}`;
  }
  let out = `Content-Type: multipart/${node.subtype}; boundary="${node.boundary}"${nl}${nl}${node.preamble}${nl}`;
  node.children.forEach((child, i) => {
    if (node.dropDelimiter !== i) out += `--${node.boundary}${nl}`;
    out += `${render(child, nl)}${nl}`;
  });
  if (node.closes) out += `--${node.boundary}--${nl}`;
  return out;
}

const message = fc
  .record({
    top: fc.array(extraHeader, { maxLength: 6 }),
    amavis: fc.boolean(),
    body: fc.oneof({ arbitrary: tree.multi, weight: 3 }, { arbitrary: tree.leaf, weight: 1 }),
    crlf: fc.boolean(),
    cut: rarely(fc.nat()),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
  })
  .map(({ top, amavis, body, crlf, cut, flips }) => {
    const nl = crlf ? '\r\n' : '\n';
    const block = amavis
      ? [
          'X-Envelope-From: <s@example.test>',
          'X-Envelope-To: <r@example.test>',
          'X-Quarantine-ID: <abcDEF123456>',
          'X-Amavis-Alert: BAD HEADER SECTION, MIME error',
          'X-Spam-Status: Yes, score=9 tag=-999 tag2=5 kill=5 tests=[A=4,\n B=5]',
        ]
      : [];
    const text = [...block, ...top, 'MIME-Version: 1.0', render(body, nl)].join(nl);
    const raw = Buffer.from(text, 'latin1');
    for (const [at, byte] of flips) if (raw.length > 0) raw[at % raw.length] = byte;
    return cut === null || raw.length === 0 ? raw : raw.subarray(0, cut % (raw.length + 1));
  });

describe('fuzzing the parser', () => {
  it('arbitrary bytes never throw and finish fast', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
        await parseTimed(Buffer.from(bytes));
      }),
      { numRuns: RUNS.bytes },
    );
  });

  it('structured but broken MIME never throws, and every attachment downloads as reported', async () => {
    await fc.assert(
      fc.asyncProperty(message, async (raw) => {
        const parsed = await parseTimed(raw);
        for (const attachment of parsed.attachments.slice(0, 4)) {
          const download = await attachmentContent(raw, attachment.partId, OPTIONS);
          expect(download).not.toBeNull();
          expect(download?.content.length).toBe(attachment.size);
          expect(
            createHash('sha256')
              .update(download?.content ?? Buffer.alloc(0))
              .digest('hex'),
          ).toBe(attachment.sha256);
        }
        if (parsed.html !== null) {
          const safe = sanitizeEmailHtml(parsed.html, { allowRemoteImages: false });
          expect(safe.html).not.toMatch(/<script/i);
        }
      }),
      { numRuns: RUNS.mime },
    );
  });

  it('mutated fixtures (bytes flipped, cut, duplicated) never throw', async () => {
    const dir = new URL('../fixtures/mail/', import.meta.url);
    const corpus = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.eml'))
      .map((n) => fs.readFileSync(new URL(n, dir)));
    const mutation = fc.record({
      which: fc.nat(),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      cut: fc.option(fc.nat()),
      repeat: fc.option(fc.tuple(fc.nat(), fc.nat({ max: 200 }), fc.integer({ min: 1, max: 20 }))),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ which, flips, cut, repeat }) => {
        let raw = Buffer.from(corpus[which % corpus.length] ?? Buffer.alloc(0));
        for (const [at, byte] of flips) if (raw.length > 0) raw[at % raw.length] = byte;
        if (repeat && raw.length > 0) {
          const start = repeat[0] % raw.length;
          const piece = raw.subarray(start, start + repeat[1]);
          raw = Buffer.concat([raw.subarray(0, start), ...Array(repeat[2]).fill(piece), raw.subarray(start)]);
        }
        if (cut !== null) raw = raw.subarray(0, cut % (raw.length + 1));
        await parseTimed(raw);
      }),
      { numRuns: RUNS.mutated },
    );
  });

  it('encoded-words and attachment names: any text in, something safe out', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.array(encodedWord, { maxLength: 4 }), (text, words) => {
        const problems = new Set<string>();
        const decoded = decodeEncodedWords(`${text}${words.join(' ')}`, 'the X header', problems);
        expect(typeof decoded).toBe('string');
        const name = safeFilename(`${text}${decoded}`, '1.2', 'application/pdf');
        expect(name.length).toBeGreaterThan(0);
        expect([...name].length).toBeLessThanOrEqual(150);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may survive
        expect(name).not.toMatch(/[/\\<>:"|?*\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
        expect(name.startsWith('.')).toBe(false);
      }),
      { numRuns: RUNS.small },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Hostile HTML

const fragment = fc.constantFrom(
  '<script>alert(1)</script>',
  '<SCRIPT SRC=//evil.test/x.js></SCRIPT>',
  '<img src=x onerror=alert(1)>',
  '<img src="https://tracker.test/p.gif">',
  '<img srcset="https://t.test/a.png 1x">',
  '<img src="cid:logo">',
  '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
  '<a href="javascript:alert(1)">x</a>',
  '<a href="jav&#x09;ascript:alert(1)">x</a>',
  '<a href=" JaVaScRiPt:alert(1)">x</a>',
  '<a href="vbscript:x">x</a>',
  '<a href="data:text/html,<script>alert(1)</script>">x</a>',
  '<a href="https://ok.test/">ok</a>',
  '<form action="https://evil.test"><input name=p><button>go</button></form>',
  '<meta http-equiv="refresh" content="0;url=https://evil.test">',
  '<base href="https://evil.test/">',
  '<link rel=stylesheet href="https://evil.test/x.css">',
  '<iframe src="https://evil.test"></iframe>',
  '<svg><script>alert(1)</script></svg>',
  '<svg onload=alert(1)>',
  '<math><mtext><img src=x onerror=alert(1)></mtext></math>',
  '<style>body{background:url(https://t.test/bg.png)}</style>',
  '<style>@import "https://evil.test/x.css";</style>',
  '<style>a{b:\\75rl(https://t.test/x)}</style>',
  '<style></style><script>alert(1)</script>',
  '<div style="background:url(https://t.test/x.png);color:red">',
  '<div style="width:expression(alert(1))">',
  '<table background="https://t.test/bg.gif"><tr><td>',
  '<object data="https://evil.test/x.swf"></object>',
  '<embed src="https://evil.test/x.swf">',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
  '<textarea><script>alert(1)</script></textarea>',
  '<xmp><script>alert(1)</script></xmp>',
  '<!--<script>alert(1)</script>-->',
  '<![CDATA[<script>alert(1)</script>]]>',
  '</',
  '<',
  '"',
  "'",
  '>',
  '<p>',
  '</p>',
  '<body onload=alert(1)>',
  '<video poster="https://t.test/p.png"><source src="https://t.test/v.mp4"></video>',
);

const TAG = /<[a-zA-Z][^>]*>/g;
const ALLOWED_URL = /^(?:https?:|mailto:|tel:|cid:|#|data:image\/(?:png|gif|jpe?g|webp)[;,])/i;

function checkSafe(html: string, allowRemoteImages: boolean): void {
  expect(html).not.toMatch(
    /<\/?(?:script|iframe|object|embed|form|input|button|meta|base|link|svg|math|textarea|select|frame|frameset|noscript|xmp)\b/i,
  );
  for (const [tag] of html.matchAll(TAG)) {
    // attribute values are escaped text: only the names outside the quotes are attributes
    const names = tag.replace(/"[^"]*"/g, '""');
    expect(names).not.toMatch(/\son[a-z]+\s*=/i);
    expect(names).not.toMatch(/\s(?:srcset|poster|action|formaction)\s*=/i);
    for (const m of tag.matchAll(/\s(href|src|background)\s*=\s*"([^"]*)"/gi)) {
      const value = (m[2] ?? '').replace(/&amp;/g, '&');
      expect(value).toMatch(ALLOWED_URL);
      if (m[1]?.toLowerCase() !== 'href' && (!allowRemoteImages || m[1]?.toLowerCase() !== 'src')) {
        expect(value).not.toMatch(/^https?:/i);
      }
    }
    const style = /\sstyle="([^"]*)"/i.exec(tag)?.[1] ?? '';
    expect(style).not.toMatch(/url\(|expression|\\/i);
  }
  for (const m of html.matchAll(/<style>([\s\S]*?)<\/style>/g)) {
    expect(m[1]).not.toMatch(/url\(\s*["']?\s*(?:https?:)?\/\/|@import|</i);
  }
}

describe('fuzzing the sanitiser', () => {
  it('hostile fragments in any order and mixed with any text come out safe', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fragment, fc.string({ maxLength: 20 })), { maxLength: 12 }),
        fc.boolean(),
        (pieces, allowRemoteImages) => {
          const result = sanitizeEmailHtml(pieces.join(''), { allowRemoteImages });
          checkSafe(result.html, allowRemoteImages);
          expect(result.blockedRemoteResources).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: RUNS.html },
    );
  });
});
