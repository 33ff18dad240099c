// Builds amavisd rows the way amavisd writes them, for tests that need precise data.
import { createHash, randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { hashPassword } from '../../server/access/passwords.ts';
import type { AmavisStore, ConsoleStore } from '../../server/db/stores.ts';

export interface RecipientSpec {
  email: string;
  content?: string;
  rs?: string;
  score?: number | null;
}

export interface MessageSpec {
  /** amavisd's $partition_tag (0 by default); the sender's and recipients' maddr rows get it too. */
  partitionTag?: number;
  mailId?: string;
  secretId?: string;
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

/** A (mail_id, secret_id) pair as amavisd makes them: mail_id = base64url(md5(secret bytes)), 12 chars. */
export function mailIdAndSecret(): { mailId: string; secretId: string } {
  for (;;) {
    const secret = randomBytes(9);
    const mailId = createHash('md5').update(secret).digest('base64url').slice(0, 12);
    if (/^[A-Za-z0-9].*[A-Za-z0-9]$/.test(mailId)) return { mailId, secretId: secret.toString('base64url') };
  }
}

/** amavisd's maddr.domain: the domain's labels reversed. */
export function reversedDomain(email: string): string {
  return (email.split('@')[1] ?? '').split('.').reverse().join('.');
}

export async function addressId(store: AmavisStore, email: string, partitionTag = 0): Promise<number> {
  const { db } = store.connection;
  const maddr = store.t.maddrTable;
  const bytes = Buffer.from(email, 'utf8');
  const find = () =>
    db
      .select({ id: maddr.id })
      .from(maddr)
      .where(and(eq(maddr.partitionTag, partitionTag), eq(maddr.email, bytes)));
  const existing = await find();
  if (existing[0]) return existing[0].id;
  await db.insert(maddr).values({ partitionTag, email: bytes, domain: reversedDomain(email) });
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
  const partitionTag = spec.partitionTag ?? 0;
  const sid = await addressId(store, spec.sender ?? 'sender@example.net', partitionTag);
  const content = spec.content === undefined ? (spec.recipients[0]?.content ?? 'S') : spec.content;
  const quarantined = spec.quarantined ?? content !== null;
  await db.insert(msgsTable).values({
    partitionTag,
    mailId,
    secretId: spec.secretId ?? randomMailId(),
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
      partitionTag,
      mailId,
      rseqnum,
      rid: await addressId(store, recipient.email, partitionTag),
      isLocal: 'Y',
      content: recipient.content ?? content ?? ' ',
      ds: 'D',
      rs: recipient.rs ?? ' ',
      bspamLevel: recipient.score === undefined ? 10 : recipient.score,
    });
  }
  if (quarantined) {
    await db.insert(quarantineTable).values({ partitionTag, mailId, chunkInd: 1, mailText: raw });
  }
  return mailId;
}

export interface AccountSpec {
  email: string;
  role: 'superadmin' | 'domainadmin' | 'user';
  password: string;
  addresses?: string[];
  /** For domain admins: the domains they administer (created when missing). */
  domains?: string[];
}

/** Creates a console account directly in the tables (tests of other features use the API). */
export async function addAccount(store: ConsoleStore, spec: AccountSpec): Promise<number> {
  const { db } = store.connection;
  const { accountsTable, accountAddressesTable, domainsTable, domainAdminsTable } = store.t;
  await db.insert(accountsTable).values({
    email: spec.email,
    role: spec.role,
    passwordHash: await hashPassword(spec.password),
  });
  const [account] = await db
    .select({ id: accountsTable.id })
    .from(accountsTable)
    .where(eq(accountsTable.email, spec.email));
  if (!account) throw new Error(`account ${spec.email} not stored`);
  const addresses = spec.addresses ?? [spec.email];
  if (addresses.length > 0) {
    await db
      .insert(accountAddressesTable)
      .values(addresses.map((address, i) => ({ accountId: account.id, address, isPrimary: i === 0 })));
  }
  for (const name of spec.domains ?? []) {
    let [domain] = await db.select().from(domainsTable).where(eq(domainsTable.name, name));
    if (!domain) {
      await db.insert(domainsTable).values({ name });
      [domain] = await db.select().from(domainsTable).where(eq(domainsTable.name, name));
    }
    if (domain) await db.insert(domainAdminsTable).values({ accountId: account.id, domainId: domain.id });
  }
  return account.id;
}
