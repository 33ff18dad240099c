// Opening a quarantined message, downloading it and its attachments, and its sanitised HTML, on each
// database: scoped like the listing, audited, bytes intact, status rules kept.
import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { addAccount, addMessage } from './factories.ts';
import { type Client, logInAs } from './graphql-client.ts';
import type { DatabaseUnderTest } from './quarantine-listing.shared.ts';
import { startTestApp, type TestApp } from './test-app.ts';

export const EXE_BYTES = Buffer.from('TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA=', 'base64');

/** A hostile quarantined message as amavisd stores it (LF endings, amavisd's header block first). */
export function hostileMessage(mailId: string, recipient: string, trackerUrl: string): Buffer {
  const padding = 'All work and no play makes a long quarantined message. '.repeat(700);
  return Buffer.from(
    [
      'X-Envelope-From: <spammer@evil.test>',
      `X-Envelope-To: <${recipient}>`,
      `X-Quarantine-ID: <${mailId}>`,
      'X-Amavis-Alert: BANNED, message contains evil.exe',
      'X-Spam-Flag: YES',
      'X-Spam-Score: 12.5',
      'X-Spam-Status: Yes, score=12.5 tag=-999 tag2=5 kill=6 tests=[BAYES_99=3.5,',
      ' HTML_MESSAGE=0.001, URIBL_BLOCKED=0.001] autolearn=no',
      'From: =?UTF-8?B?SsO8cmdlbg==?= <j@evil.test>',
      `To: ${recipient}`,
      'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_from_quarantine?=',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: multipart/alternative; boundary="b2"',
      '',
      '--b2',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Hello Alice. ${padding}`,
      '--b2',
      'Content-Type: text/html; charset=utf-8',
      '',
      `<html><head><meta http-equiv="refresh" content="0;url=http://evil.test/"><base href="http://evil.test/"></head>`,
      `<body><p onclick="steal()">Hi <b>Alice</b></p><script>window.top.pwned = 1; document.title = 'pwned';</script>`,
      `<img src="${trackerUrl}/pixel.gif" alt="t"><img src="https://tracker.example/p.gif">`,
      `<a href="javascript:steal()">click</a><form action="${trackerUrl}/form"><input name="q"></form>`,
      `<iframe src="${trackerUrl}/frame"></iframe></body></html>`,
      '--b2--',
      '--b1',
      'Content-Type: application/octet-stream; name="../../evil.exe"',
      'Content-Disposition: attachment; filename="../../evil.exe"',
      'Content-Transfer-Encoding: base64',
      '',
      EXE_BYTES.toString('base64'),
      '--b1--',
      '',
    ].join('\n'),
  );
}

const OPEN = `query($id: ID!) { message(id: $id) {
  id status entry { recipient status { kind } content { kind } } subject from { name address } to { address } date
  amavis { envelopeFrom envelopeTo quarantineId alerts }
  spam { isSpam score required tests { name score } }
  parts { partId parentPartId depth contentType }
  text htmlUrl rawUrl rawSize problems
  attachments { partId filename originalFilename contentType size sha256 downloadUrl }
  headers { name value }
} }`;

interface Opened {
  message: {
    id: string;
    status: string;
    subject: string;
    from: { name: string; address: string }[];
    amavis: { envelopeFrom: string; alerts: string[]; quarantineId: string };
    spam: {
      isSpam: boolean;
      score: number;
      required: number;
      tests: { name: string; score: number }[];
    } | null;
    parts: { partId: string; parentPartId: string | null; depth: number; contentType: string }[];
    text: string;
    htmlUrl: string | null;
    rawUrl: string;
    rawSize: number;
    problems: string[];
    attachments: {
      partId: string;
      filename: string;
      originalFilename: string;
      sha256: string;
      size: number;
      downloadUrl: string;
    }[];
  } | null;
}

export interface MessageWorld {
  app: TestApp;
  admin: Client;
  alice: Client;
  bob: Client;
  raw: Buffer;
  /** Global IDs of alice's entry (new) and of a second one with a pending release request. */
  entry: string;
  pendingEntry: string;
  mailId: string;
}

export async function buildMessageWorld(
  env: Record<string, string>,
  trackerUrl: string,
): Promise<MessageWorld> {
  const app = await startTestApp(env);
  await createSuperadmin(
    app.stores.console,
    { email: 'root@admin.test', password: 'root-password-1' },
    { onlyIfNoAccounts: true },
  );
  await addAccount(app.stores.console, { email: 'alice@x.test', role: 'user', password: 'alice-password-1' });
  await addAccount(app.stores.console, { email: 'bob@x.test', role: 'user', password: 'bob-password-1' });
  const mailId = 'Hst1leMsg0001';
  const raw = hostileMessage(mailId, 'alice@x.test', trackerUrl);
  await addMessage(app.stores.amavis, {
    mailId,
    timeNum: 1_790_000_000,
    partitionTag: 7,
    raw: raw.subarray(0, 1),
    recipients: [{ email: 'alice@x.test', content: 'B' }],
  });
  // amavisd's chunks: the first is already there; the rest, inserted out of order, must come back in order
  const { quarantineTable } = app.stores.amavis.t;
  const { db } = app.stores.amavis.connection;
  await db
    .delete(quarantineTable)
    .where(and(eq(quarantineTable.partitionTag, 7), eq(quarantineTable.mailId, mailId)));
  const size = 16384;
  const chunks = Array.from({ length: Math.ceil(raw.length / size) }, (_, i) =>
    raw.subarray(i * size, (i + 1) * size),
  );
  expect(chunks.length).toBeGreaterThan(2);
  for (const i of [...chunks.keys()].reverse()) {
    await db
      .insert(quarantineTable)
      .values({ partitionTag: 7, mailId, chunkInd: i + 1, mailText: chunks[i] as Buffer });
  }
  await addMessage(app.stores.amavis, {
    mailId: 'PendingMsg001',
    timeNum: 1_789_999_000,
    raw: hostileMessage('PendingMsg001', 'alice@x.test', trackerUrl),
    recipients: [{ email: 'alice@x.test', rs: 'p' }],
  });
  const admin = await logInAs(app.url, 'root@admin.test', 'root-password-1');
  const alice = await logInAs(app.url, 'alice@x.test', 'alice-password-1');
  const bob = await logInAs(app.url, 'bob@x.test', 'bob-password-1');
  const list = await admin.gql<{ quarantine: { edges: { node: { id: string; mailId: string } }[] } }>(
    '{ quarantine(first: 10) { edges { node { id mailId } } } }',
  );
  const ids = list.data?.quarantine.edges.map((e) => e.node) ?? [];
  const entry = ids.find((n) => n.mailId === mailId)?.id ?? '';
  const pendingEntry = ids.find((n) => n.mailId !== mailId)?.id ?? '';
  return { app, admin, alice, bob, raw, entry, pendingEntry, mailId };
}

export function messageViewSuite(open: () => Promise<DatabaseUnderTest>): void {
  let database: DatabaseUnderTest;
  let world: MessageWorld;
  const rs = async (mailId: string) => {
    const r = world.app.stores.amavis.t.msgrcptTable;
    const [row] = await world.app.stores.amavis.connection.db
      .select({ rs: r.rs })
      .from(r)
      .where(eq(r.mailId, mailId));
    return row?.rs;
  };
  const fetchAs = (client: Client | null, path: string) =>
    fetch(`${world.app.url}${path}`, {
      headers: client?.session() ? { cookie: `ac_session=${client.session()}` } : {},
    });

  beforeAll(async () => {
    database = await open();
    await database.prepare?.();
    world = await buildMessageWorld(database.env, 'http://127.0.0.1:9');
  });

  afterAll(async () => {
    await world?.app.close();
    await database?.dispose();
  });

  it("an admin opening alice's mail sees it all and leaves it new", async () => {
    const opened = await world.admin.gql<Opened>(OPEN, { id: world.entry });
    expect(opened.errors).toBeUndefined();
    const message = opened.data?.message;
    expect(message).toMatchObject({
      subject: 'Grüße from quarantine',
      from: [{ name: 'Jürgen', address: 'j@evil.test' }],
      amavis: { envelopeFrom: 'spammer@evil.test', alerts: ['BANNED, message contains evil.exe'] },
      spam: { isSpam: true, score: 12.5, required: 5 },
      rawSize: world.raw.length,
      problems: [],
    });
    expect(message?.spam?.tests.map((t) => t.name)).toEqual(['BAYES_99', 'HTML_MESSAGE', 'URIBL_BLOCKED']);
    expect(message?.parts.map((p) => [p.partId, p.contentType])).toEqual([
      ['1', 'multipart/mixed'],
      ['1.1', 'multipart/alternative'],
      ['1.1.1', 'text/plain'],
      ['1.1.2', 'text/html'],
      ['1.2', 'application/octet-stream'],
    ]);
    expect(message?.text).toMatch(/^Hello Alice\. All work/);
    const [attachment] = message?.attachments ?? [];
    expect(attachment).toMatchObject({
      originalFilename: '../../evil.exe',
      size: EXE_BYTES.length,
      sha256: createHash('sha256').update(EXE_BYTES).digest('hex'),
    });
    expect(attachment?.filename).not.toMatch(/[/\\]/);
    expect(await rs(world.mailId)).toMatch(/^ ?$/);
  });

  it('its recipient opening it marks it viewed; a pending request stays pending', async () => {
    const opened = await world.alice.gql<Opened & { message: { entry: { status: { kind: string } } } }>(
      OPEN,
      {
        id: world.entry,
      },
    );
    expect(opened.data?.message?.status).toBe('V');
    expect(opened.data?.message?.entry.status.kind).toBe('viewed');
    expect(await rs(world.mailId)).toBe('V');
    const pending = await world.alice.gql<Opened>(OPEN, { id: world.pendingEntry });
    expect(pending.data?.message?.status).toBe('p');
    expect(await rs('PendingMsg001')).toBe('p');
  });

  it('another user gets nothing, and the attempt is audited', async () => {
    const opened = await world.bob.gql<Opened>(OPEN, { id: world.entry });
    expect(opened.errors).toBeUndefined();
    expect(opened.data?.message).toBeNull();
    const t = world.app.stores.console.t.auditLogTable;
    const rows = await world.app.stores.console.connection.db
      .select()
      .from(t)
      .where(eq(t.action, 'message.view'));
    expect(rows.map((r) => [r.actor, r.outcome])).toEqual(
      expect.arrayContaining([
        ['bob@x.test', 'denied'],
        ['alice@x.test', 'success'],
        ['root@admin.test', 'success'],
      ]),
    );
    expect(rows.find((r) => r.actor === 'alice@x.test')?.domain).toBe('x.test');
  });

  it('downloads the stored copy byte for byte, reassembled in chunk order', async () => {
    const message = (await world.alice.gql<Opened>(OPEN, { id: world.entry })).data?.message;
    const response = await fetchAs(world.alice, message?.rawUrl ?? '');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('message/rfc822');
    expect(response.headers.get('content-disposition')).toContain(`${world.mailId}.eml`);
    expect(Buffer.from(await response.arrayBuffer()).equals(world.raw)).toBe(true);
    expect((await fetchAs(null, message?.rawUrl ?? '')).status).toBe(401);
    expect((await fetchAs(world.bob, message?.rawUrl ?? '')).status).toBe(404);
    expect((await fetchAs(world.alice, '/messages/garbage/raw')).status).toBe(404);
  });

  it('downloads an attachment as an opaque file under a safe name', async () => {
    const message = (await world.alice.gql<Opened>(OPEN, { id: world.entry })).data?.message;
    const response = await fetchAs(world.alice, message?.attachments[0]?.downloadUrl ?? '');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('content-disposition')).not.toMatch(/\.\.\//);
    expect(Buffer.from(await response.arrayBuffer()).equals(EXE_BYTES)).toBe(true);
    expect((await fetchAs(world.bob, message?.attachments[0]?.downloadUrl ?? '')).status).toBe(404);
  });

  it('serves the HTML sanitised, under a Content-Security-Policy that blocks scripts and remote loads', async () => {
    const message = (await world.alice.gql<Opened>(OPEN, { id: world.entry })).data?.message;
    const response = await fetchAs(world.alice, message?.htmlUrl ?? '');
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/script-src/);
    expect(csp).not.toMatch(/https:/);
    const html = await response.text();
    expect(html).toContain('<b>Alice</b>');
    for (const banned of [
      '<script',
      'onclick',
      'javascript:',
      '<form',
      '<iframe',
      '<meta',
      '<base',
      'tracker.example',
      '127.0.0.1:9',
    ]) {
      expect(html).not.toContain(banned);
    }
    const withImages = await fetchAs(world.alice, `${message?.htmlUrl}?images=1`);
    expect(await withImages.text()).toContain('https://tracker.example/p.gif');
    expect(withImages.headers.get('content-security-policy')).toMatch(/img-src[^;]*https:/);
  });
}
