// Opening a 25 MB message: one quarantined message with a 25 MB attachment is written for the run (in
// amavisd's 16 KB chunks, older than everything else) and removed afterwards. The console's RSS is sampled
// from /proc every 5 ms while GraphQL's message(id) reassembles and parses it, and while the raw .eml and
// the attachment download; the bar is under 200 MB added over the RSS just before.
import { createHash, randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { and, eq, sql } from 'drizzle-orm';
import { QUARANTINE_CHUNK_SIZE } from '../../server/demo/demo-message.ts';
import { sampleRss } from '../lib/server.ts';
import type { BenchCase, BenchContext, CaseResult } from './types.ts';

const MAIL_ID = 'bench25MB00001';
const BYTES = 25 * 1024 * 1024;
const LIMIT_MB = 200;

const OPEN = `query($id: ID!) { message(id: $id) {
  id subject rawSize problems rawUrl text
  attachments { partId filename size sha256 downloadUrl }
} }`;

interface Opened {
  message: {
    rawSize: number;
    problems: string[];
    rawUrl: string;
    attachments: { size: number; sha256: string; downloadUrl: string }[];
  } | null;
}

function bigMessage(): { raw: Buffer; sha256: string } {
  const attachment = randomBytes(Math.floor((BYTES / 78) * 57));
  const head =
    'From: Bench <bench@sender.example>\nSubject: a 25 MB attachment\nMIME-Version: 1.0\n' +
    'Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nSee the attachment.\n--B\n' +
    'Content-Type: application/pdf; name=big.pdf\nContent-Transfer-Encoding: base64\n\n';
  const raw = Buffer.from(
    `${head}${attachment.toString('base64').replace(/.{76}/g, '$&\n')}\n--B--\n`,
    'latin1',
  );
  return { raw, sha256: createHash('sha256').update(attachment).digest('hex') };
}

async function remove(context: BenchContext): Promise<void> {
  const { db } = context.store.connection;
  const { msgsTable, msgrcptTable, quarantineTable } = context.store.t;
  const key = (table: typeof msgsTable | typeof msgrcptTable | typeof quarantineTable) =>
    and(eq(table.partitionTag, 0), eq(table.mailId, MAIL_ID));
  await db.delete(quarantineTable).where(key(quarantineTable));
  await db.delete(msgrcptTable).where(key(msgrcptTable));
  await db.delete(msgsTable).where(key(msgsTable));
}

async function insert(context: BenchContext, raw: Buffer): Promise<void> {
  const { connection, t } = context.store;
  const one = async (query: ReturnType<typeof sql>) =>
    Number(Object.values((await connection.rows(query))[0] ?? {})[0]);
  const oldest = await one(sql`select min(time_num) from msgs`);
  const sid = await one(sql`select min(id) from maddr`);
  const rid = await one(sql`select id from maddr where email = ${Buffer.from(context.accounts.user)}`);
  const timeNum = oldest - 3600;
  await connection.db.insert(t.msgsTable).values({
    partitionTag: 0,
    mailId: MAIL_ID,
    secretId: 'bench-secret',
    amId: '00000-01',
    timeNum,
    timeIso: new Date(timeNum * 1000),
    sid,
    size: raw.length,
    host: 'bench.example',
    content: 'B',
    quarType: 'Q',
    quarLoc: MAIL_ID,
    fromAddr: 'Bench <bench@sender.example>',
    subject: 'a 25 MB attachment',
  });
  const rows = [];
  for (let at = 0, chunk = 1; at < raw.length; at += QUARANTINE_CHUNK_SIZE, chunk++) {
    rows.push({
      partitionTag: 0,
      mailId: MAIL_ID,
      chunkInd: chunk,
      mailText: raw.subarray(at, at + QUARANTINE_CHUNK_SIZE),
    });
  }
  for (let at = 0; at < rows.length; at += 32) {
    await connection.db.insert(t.quarantineTable).values(rows.slice(at, at + 32));
  }
  await connection.db.insert(t.msgrcptTable).values({
    partitionTag: 0,
    mailId: MAIL_ID,
    rseqnum: 1,
    rid,
    isLocal: 'Y',
    content: 'B',
    ds: 'D',
    rs: ' ',
    bspamLevel: null,
  });
}

export const messageOpenCase: BenchCase = {
  name: 'message-open-25mb',
  run: async (context): Promise<CaseResult> => {
    const { raw, sha256 } = bigMessage();
    await remove(context);
    await insert(context, raw);
    try {
      const client = await context.client(context.accounts.superadmin);
      const id = encodeGlobalID('QuarantinedMessage', `0:${MAIL_ID}:1`);
      const pid = context.console.pid;
      const open: { ms: number; addedMb: number }[] = [];
      const rawDownload: { ms: number; addedMb: number }[] = [];
      const attachment: { ms: number; addedMb: number }[] = [];
      let opened: Opened['message'] = null;
      let bytes = 0;
      for (let run = 0; run < context.options.messageRuns; run++) {
        // let the previous run's garbage go before taking the baseline
        await new Promise((resolve) => setTimeout(resolve, 500));
        const t0 = performance.now();
        const sampled = await sampleRss(pid, () => client.query<Opened>(OPEN, { id }));
        open.push({ ms: Math.round(performance.now() - t0), addedMb: sampled.addedMb });
        opened = sampled.result.message;
        if (!opened) throw new Error('message(id) returned null for the 25 MB message');
        await new Promise((resolve) => setTimeout(resolve, 500));
        const t1 = performance.now();
        const rawUrl = opened.rawUrl;
        const downloaded = await sampleRss(pid, () => client.download(rawUrl));
        bytes = downloaded.result;
        rawDownload.push({ ms: Math.round(performance.now() - t1), addedMb: downloaded.addedMb });
        const file = opened.attachments[0];
        if (file) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          const t2 = performance.now();
          const got = await sampleRss(pid, () => client.download(file.downloadUrl));
          attachment.push({ ms: Math.round(performance.now() - t2), addedMb: got.addedMb });
        }
      }
      const worst = Math.max(
        ...open.map((r) => r.addedMb),
        ...rawDownload.map((r) => r.addedMb),
        ...attachment.map((r) => r.addedMb),
      );
      return {
        messageBytes: raw.length,
        rawSize: opened?.rawSize,
        downloadedBytes: bytes,
        attachmentIntact: opened?.attachments[0]?.sha256 === sha256,
        problems: opened?.problems,
        open,
        rawDownload,
        attachment,
        addedMbMax: worst,
        limitMb: LIMIT_MB,
        meets: worst < LIMIT_MB && bytes === raw.length && opened?.attachments[0]?.sha256 === sha256,
      };
    } finally {
      await remove(context);
    }
  },
};
