// The demo's world: the address book (local users, foreign recipients), the content categories with
// the SpamAssassin tests and scores that go with them, and the message scenarios (what a scenario is,
// and all but the spam and spammy ones, which are in demo-scenarios-spam.ts).
import {
  EICAR,
  fakeExe,
  fakePdf,
  headerValue,
  insertHeaderAfter,
  type RawMail,
  replaceHeader,
  utf8AsLatin1,
  zipStore,
} from './demo-mime.ts';
import type { Random } from './demo-random.ts';

/** The host Postfix and amavisd run on (their Received lines, msgs.host). */
export const DEMO_HOST = 'mail.example.com';

// ---------------------------------------------------------------------------------------------------
// People

export interface LocalUser {
  address: string;
  /** How the address arrives on the wire, when not all lowercase (maddr stores it lowercased). */
  wire?: string;
  name: string;
  weight: number;
}

// 20 local users over four domains; the last domain is the IDN bücher.example, stored punycoded.
export const LOCAL_USERS: readonly LocalUser[] = [
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

export const FOREIGN_RECIPIENTS: readonly LocalUser[] = [
  { address: 'partner@supplier.test', name: 'Partner', weight: 1 },
  { address: 'j.doe@customer.test', name: 'John Doe', weight: 1 },
];

export interface Sender {
  name?: string;
  address: string;
}

// ---------------------------------------------------------------------------------------------------
// Content categories, SpamAssassin tests

export type Ccat = 'S' | 'Y' | 'V' | 'B' | 'H' | 'M' | 'O' | 'U' | 'T' | 'C' | 's' | '?';

/** sa_tag_level -999: spam headers on every scanned message, as in the lab's amavisd setup. */
export const TAG_LEVEL = -999;
export const TAG2_LEVEL = 3;
export const KILL_LEVEL = 6;

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

export interface SaResult {
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

export function scoreFor(rng: Random, ccat: Ccat, gtube: boolean): SaResult | null {
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

export interface MailSpec {
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

export interface ScenarioContext {
  rng: Random;
  to: LocalUser;
  /** Adds a large attachment, so the message spans several quarantine chunks. */
  big: boolean;
  /** Target size of the large attachment in bytes. */
  bigSize: number;
  time: number;
}

export type Scenario = (ctx: ScenarioContext) => MailSpec;

export function firstName(user: LocalUser): string {
  const name = user.name.split(' ')[0] ?? user.name;
  return /^(Example|Shop|Support|Billing|Postmaster|Webmaster|Marketing|Kundenservice|Buchhaltung)$/.test(
    name,
  )
    ? 'there'
    : name;
}

export function bigPdf(ctx: ScenarioContext, filename: string): Attachment[] {
  return ctx.big
    ? [{ filename, content: fakePdf(ctx.rng, ctx.bigSize, filename), contentType: 'application/pdf' }]
    : [];
}
export const NEWSLETTER_HTML = (
  ctx: ScenarioContext,
  brand: string,
  headline: string,
  host: string,
) => `<html>
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

export const CLEAN = {
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

export const VIRUS = {
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

export const BANNED = {
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

export const BAD_HEADER = {
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

export const BAD_MIME = {
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

export const OVERSIZED = {
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

export const UNCHECKED = {
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
