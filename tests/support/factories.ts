// Builds amavisd rows the way amavisd writes them, for tests that need precise data.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { AmavisStore } from '../../server/db/stores.ts';

export interface RecipientSpec {
  email: string;
  content?: string;
  rs?: string;
  score?: number | null;
}

export interface MessageSpec {
  mailId?: string;
  timeNum: number;
  sender?: string;
  fromHeader?: string;
  subject?: string;
  size?: number;
  /** Message-level content; null means amavisd is still processing it. */
  content?: string | null;
  /** Whether amavisd stored the message in the SQL quarantine. */
  quarantined?: boolean;
  raw?: Buffer;
  recipients: RecipientSpec[];
}

export function randomMailId(): string {
  for (;;) {
    const id = randomBytes(9).toString('base64url');
    if (/^[A-Za-z0-9].*[A-Za-z0-9]$/.test(id)) return id;
  }
}

/** amavisd's maddr.domain: the domain's labels reversed. */
export function reversedDomain(email: string): string {
  return (email.split('@')[1] ?? '').split('.').reverse().join('.');
}

export async function addressId(store: AmavisStore, email: string): Promise<number> {
  const { db } = store.connection;
  const maddr = store.t.maddrTable;
  const bytes = Buffer.from(email, 'utf8');
  const find = () => db.select({ id: maddr.id }).from(maddr).where(eq(maddr.email, bytes));
  const existing = await find();
  if (existing[0]) return existing[0].id;
  await db.insert(maddr).values({ partitionTag: 0, email: bytes, domain: reversedDomain(email) });
  const created = await find();
  if (!created[0]) throw new Error(`could not insert maddr ${email}`);
  return created[0].id;
}

export async function addMessage(store: AmavisStore, spec: MessageSpec): Promise<string> {
  const { db } = store.connection;
  const { msgsTable, msgrcptTable, quarantineTable } = store.t;
  const mailId = spec.mailId ?? randomMailId();
  const raw =
    spec.raw ??
    Buffer.from(
      `From: ${spec.fromHeader ?? 'sender@example.net'}\nSubject: ${spec.subject ?? 'test'}\n\nbody\n`,
    );
  const sid = await addressId(store, spec.sender ?? 'sender@example.net');
  const content = spec.content === undefined ? (spec.recipients[0]?.content ?? 'S') : spec.content;
  const quarantined = spec.quarantined ?? content !== null;
  await db.insert(msgsTable).values({
    partitionTag: 0,
    mailId,
    secretId: randomMailId(),
    amId: '12345-01',
    timeNum: spec.timeNum,
    timeIso: new Date(spec.timeNum * 1000),
    sid,
    size: spec.size ?? raw.length,
    host: 'mail.example.test',
    content,
    quarType: quarantined ? 'Q' : ' ',
    quarLoc: quarantined ? mailId : '',
    fromAddr: spec.fromHeader ?? 'sender@example.net',
    subject: spec.subject ?? 'test',
  });
  let rseqnum = 0;
  for (const recipient of spec.recipients) {
    rseqnum += 1;
    await db.insert(msgrcptTable).values({
      partitionTag: 0,
      mailId,
      rseqnum,
      rid: await addressId(store, recipient.email),
      isLocal: 'Y',
      content: recipient.content ?? content ?? ' ',
      ds: 'D',
      rs: recipient.rs ?? ' ',
      bspamLevel: recipient.score === undefined ? 10 : recipient.score,
    });
  }
  if (quarantined) {
    await db.insert(quarantineTable).values({ partitionTag: 0, mailId, chunkInd: 1, mailText: raw });
  }
  return mailId;
}
