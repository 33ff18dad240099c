// Mail through the real amavisd lab for the policy tests: send a message (GTUBE or clean) from a given
// envelope sender to one recipient, then read amavisd's verdict for that recipient from msgrcpt (ds:
// P passed / D discarded; wl / bl: white- or blacklisted) and whether the SMTP sink got it.
import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import type { AmavisStore } from '../../server/db/stores.ts';
import { GTUBE, headerField, type LabInstance, lab, sinkMessages, waitFor } from './amavis-lab.ts';

export interface Verdict {
  /** msgrcpt.ds: P (passed: delivered), D (discarded), B (bounced), R (rejected). */
  ds: string;
  /** msgrcpt.content: S spam, C clean, … */
  content: string;
  wl: string;
  bl: string;
  /** Whether the SMTP sink received it for the recipient. */
  delivered: boolean;
  messageId: string;
}

export async function sendAndJudge(
  instance: LabInstance,
  store: AmavisStore,
  options: { from: string; to: string; gtube: boolean; label: string },
): Promise<Verdict> {
  const tag = randomBytes(6).toString('hex');
  const messageId = `<policy-${options.label.replace(/\W+/g, '-')}-${tag}@sender.test>`;
  const raw = [
    `From: <${options.from}>`,
    `To: <${options.to}>`,
    `Subject: policy ${options.label} ${instance} ${tag}`,
    `Message-ID: ${messageId}`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `A message for the policy tests, ${tag}.`,
    'Nothing to see here: a short, plain note between colleagues about the meeting on Tuesday.',
    '',
    ...(options.gtube ? [GTUBE, ''] : []),
  ].join('\r\n');
  const [host, port] = (lab[`AMAVIS_LAB_${instance}_SMTP`] ?? '').split(':');
  const transport = nodemailer.createTransport({ host, port: Number(port), secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ envelope: { from: options.from, to: [options.to] }, raw });
  } finally {
    transport.close();
  }
  const { msgsTable: m, msgrcptTable: r, maddrTable: a } = store.t;
  const row = await waitFor(`msgrcpt row of ${messageId} for ${options.to}`, async () => {
    const [found] = await store.connection.db
      .select({ ds: r.ds, content: r.content, wl: r.wl, bl: r.bl })
      .from(m)
      .innerJoin(r, and(eq(r.partitionTag, m.partitionTag), eq(r.mailId, m.mailId)))
      .innerJoin(a, eq(a.id, r.rid))
      .where(and(eq(m.messageId, messageId), eq(a.email, Buffer.from(options.to, 'utf8'))));
    return found;
  });
  const inSink = () =>
    sinkMessages((header) => headerField(header, 'Message-ID') === messageId).filter((mail) =>
      mail.envelope.rcpt_tos.some((rcpt) => rcpt.toLowerCase() === options.to.toLowerCase()),
    );
  // amavisd answers after forwarding, but the sink writes its file asynchronously
  const delivered =
    row.ds === 'P'
      ? await waitFor(`${messageId} in the sink`, async () => (inSink().length > 0 ? true : null))
      : inSink().length > 0;
  return {
    ds: row.ds,
    content: row.content,
    wl: (row.wl ?? '').trim(),
    bl: (row.bl ?? '').trim(),
    delivered,
    messageId,
  };
}
