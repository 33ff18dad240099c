// Composing a demo message and amavisd's quarantined copy of it: the original message as the
// sender's client and the MTA wrote it, the header block amavisd puts in front of it, the chunks it is
// stored in and the size amavisd logs. The random parts MailComposer would add (Message-ID, Date,
// multipart boundaries) are all set here.
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { foldTokens, formatScore, headerValue, joinRaw, rfc2822, splitRaw } from './demo-mime.ts';
import type { Random } from './demo-random.ts';
import {
  DEMO_HOST,
  KILL_LEVEL,
  type LocalUser,
  type MailSpec,
  type SaResult,
  TAG_LEVEL,
  TAG2_LEVEL,
} from './demo-scenarios.ts';

export const QUARANTINE_CHUNK_SIZE = 16384;

interface Composed {
  original: Buffer;
  messageId: string;
  fromHeader: string;
  subjectHeader: string;
}

export async function compose(
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
export function amavisHeaders(args: {
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

export function chunk(raw: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < raw.length; at += QUARANTINE_CHUNK_SIZE) {
    chunks.push(raw.subarray(at, Math.min(raw.length, at + QUARANTINE_CHUNK_SIZE)));
  }
  return chunks;
}

/** The size amavisd logs: the original message as received over SMTP, i.e. with CRLF line ends. */
export function smtpSize(original: Buffer): number {
  let lf = 0;
  for (const b of original) if (b === 0x0a) lf++;
  return original.length + lf;
}
