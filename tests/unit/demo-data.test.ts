// The demo dataset on embedded PGlite: it must look like what amavisd-new writes, fit the summary it
// returns, and come out the same for the same seed and time.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { asc, sql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmavisTables, amavisTables, createAmavisTables } from '../../server/db/amavis-tables.ts';
import { type Connection, openDatabase } from '../../server/db/database.ts';
import { type DemoSummary, seedDemoData } from '../../server/demo/demo-data.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const NOW_SEC = NOW.getTime() / 1000;
const CODES = ['S', 'Y', 'V', 'B', 'H', 'M', 'O', 'U', 'T', 'C', 's', '?'];
// Assembled at run time, like the module does, so that this file is no test virus itself.
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS', '-TEST-FILE!$H+H*'].join('');

interface Db {
  connection: Connection;
  t: AmavisTables;
  dir: string;
}

const opened: Db[] = [];

async function freshDatabase(): Promise<Db> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-data-'));
  const connection = await openDatabase({ kind: 'embedded', dir }, 'test');
  await createAmavisTables(connection);
  const db = { connection, t: amavisTables('pg'), dir };
  opened.push(db);
  return db;
}

afterAll(async () => {
  for (const db of opened) {
    await db.connection.close();
    fs.rmSync(db.dir, { recursive: true, force: true });
  }
});

function latin1(buffer: Buffer): string {
  return buffer.toString('latin1');
}

/** Loosely undoes quoted-printable (soft breaks and =XX), enough to search HTML bodies. */
function unQp(text: string): string {
  return text
    .replace(/=\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Header fields of a header block, continuation lines joined with their LF. */
function fields(head: string): string[] {
  const out: string[] = [];
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && out.length > 0) out[out.length - 1] += `\n${line}`;
    else out.push(line);
  }
  return out;
}

function field(head: string, name: string): string | undefined {
  const f = fields(head).find((x) => x.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return f?.slice(name.length + 1).trim();
}

interface Stored {
  raw: Buffer;
  chunks: { chunkInd: number; length: number }[];
}

async function loadAll(db: Db) {
  const { t } = db;
  const d = db.connection.db;
  const msgs = await d.select().from(t.msgsTable).orderBy(asc(t.msgsTable.timeNum), asc(t.msgsTable.mailId));
  const rcpts = await d
    .select()
    .from(t.msgrcptTable)
    .orderBy(asc(t.msgrcptTable.mailId), asc(t.msgrcptTable.rseqnum));
  const maddr = await d.select().from(t.maddrTable).orderBy(asc(t.maddrTable.id));
  // Deliberately fetched in reverse chunk order: reassembly must sort by chunk_ind.
  const chunks = await d.select().from(t.quarantineTable).orderBy(sql`chunk_ind desc`);
  const stored = new Map<string, Stored>();
  for (const mailId of new Set(chunks.map((c) => c.mailId))) {
    const own = chunks.filter((c) => c.mailId === mailId).sort((a, b) => a.chunkInd - b.chunkInd);
    stored.set(mailId, {
      raw: Buffer.concat(own.map((c) => c.mailText)),
      chunks: own.map((c) => ({ chunkInd: c.chunkInd, length: c.mailText.length })),
    });
  }
  return { msgs, rcpts, maddr, stored, chunkRows: chunks.length };
}

type Loaded = Awaited<ReturnType<typeof loadAll>>;

/** Splits a stored quarantine copy into amavisd's header block and the original message. */
function splitAmavisBlock(raw: Buffer): { prefix: string; original: Buffer } {
  const text = latin1(raw);
  const headEnd = text.indexOf('\n\n');
  const head = fields(text.slice(0, headEnd));
  const amavisReceived = head.findIndex(
    (f) => f.startsWith('Received:') && f.includes('(amavis, port 10024)'),
  );
  if (amavisReceived < 0) throw new Error('no amavisd Received header');
  const prefix = `${head.slice(0, amavisReceived + 1).join('\n')}\n`;
  return { prefix, original: raw.subarray(Buffer.byteLength(prefix, 'latin1')) };
}

describe('seedDemoData on embedded PGlite', () => {
  let db: Db;
  let summary: DemoSummary;
  let seedMs: number;
  let data: Loaded;

  beforeAll(async () => {
    db = await freshDatabase();
    const started = performance.now();
    summary = await seedDemoData(db, { now: NOW, seed: 1 });
    seedMs = performance.now() - started;
    data = await loadAll(db);
  });

  const quarantinedMsgs = () => data.msgs.filter((m) => data.stored.has(m.mailId));

  it('is fast: 300 messages in well under 5 s', () => {
    expect(seedMs).toBeLessThan(5000);
  });

  it('returns a summary that matches the rows', async () => {
    expect(summary.quarantined).toBe(300);
    expect(data.msgs).toHaveLength(summary.messages);
    expect(data.rcpts).toHaveLength(summary.recipients);
    expect(data.stored.size).toBe(summary.quarantined);
    expect(data.chunkRows).toBe(summary.chunks);
    // every quarantined message has a msgs row (no orphans)
    const ids = new Set(data.msgs.map((m) => m.mailId));
    for (const mailId of data.stored.keys()) expect(ids.has(mailId)).toBe(true);
  });

  it('has every content code among the quarantined messages, mostly spam', () => {
    const counts = new Map<string, number>();
    for (const m of quarantinedMsgs())
      counts.set(m.content ?? 'null', (counts.get(m.content ?? 'null') ?? 0) + 1);
    for (const code of CODES) expect(counts.get(code) ?? 0, `content ${code}`).toBeGreaterThan(0);
    expect(counts.has('null')).toBe(false);
    const spam = (counts.get('S') ?? 0) + (counts.get('Y') ?? 0);
    expect(spam / summary.quarantined).toBeGreaterThan(0.5);
    const rcptCodes = new Set(data.rcpts.filter((r) => data.stored.has(r.mailId)).map((r) => r.content));
    for (const code of CODES) expect(rcptCodes.has(code), `msgrcpt content ${code}`).toBe(true);
  });

  it('logs clean mail without quarantining it, and has one message still being processed', () => {
    const logged = data.msgs.filter((m) => !data.stored.has(m.mailId) && m.content !== null);
    expect(logged.length).toBeGreaterThanOrEqual(3);
    for (const m of logged) {
      expect(m.quarType?.trim() ?? '').toBe('');
      expect(m.quarLoc).toBe('');
      expect(data.rcpts.some((r) => r.mailId === m.mailId)).toBe(true);
    }
    const processing = data.msgs.filter((m) => m.content === null);
    expect(processing).toHaveLength(1);
    const [p] = processing;
    expect(data.stored.has(p?.mailId ?? '')).toBe(false);
    expect(data.rcpts.some((r) => r.mailId === p?.mailId)).toBe(false);
  });

  it('writes mail_id/secret_id pairs the amavisd way', () => {
    for (const m of data.msgs) {
      expect(m.mailId).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{10}[A-Za-z0-9]$/);
      expect(m.secretId).toMatch(/^[A-Za-z0-9_-]{12}$/);
      const secret = Buffer.from(m.secretId ?? '', 'base64url');
      expect(secret).toHaveLength(9);
      expect(createHash('md5').update(secret).digest('base64url').slice(0, 12)).toBe(m.mailId);
    }
    expect(new Set(data.msgs.map((m) => m.mailId)).size).toBe(data.msgs.length);
  });

  it('fills the msgs columns like save_info_final does', () => {
    for (const m of data.msgs) {
      expect(m.partitionTag).toBe(0);
      expect(m.amId).toMatch(/^\d{5}-\d{2}$/);
      expect(m.timeIso.getTime()).toBe(m.timeNum * 1000);
      expect(m.timeNum).toBeLessThanOrEqual(NOW_SEC);
      expect(m.timeNum).toBeGreaterThan(NOW_SEC - 14 * 86400);
      expect(m.host).toBe('mail.example.com');
      expect(m.originating).toBe('N');
      expect(m.clientAddr).toMatch(/^(\d+\.\d+\.\d+\.\d+|2001:db8:[0-9a-f:]+)$/);
    }
    for (const m of quarantinedMsgs()) {
      expect(m.quarType).toBe('Q');
      expect(m.quarLoc).toBe(m.mailId);
      expect(m.messageId).toMatch(/^<[^<>\s]+@[^<>\s]+>$/);
      expect(['N', 'Y']).toContain(m.dsnSent);
      expect(m.fromAddr).not.toBe('');
      expect(Buffer.byteLength(m.fromAddr ?? '', 'utf8')).toBeLessThanOrEqual(255);
      expect(Buffer.byteLength(m.subject ?? '', 'utf8')).toBeLessThanOrEqual(255);
    }
    // spread over the two weeks, not bunched up
    const days = new Set(data.msgs.map((m) => Math.floor((NOW_SEC - m.timeNum) / 86400)));
    expect(days.size).toBe(14);
  });

  it('stores from_addr and subject MIME-decoded as UTF-8, cut to 255 bytes', () => {
    const subjects = new Set(data.msgs.map((m) => m.subject));
    const froms = new Set(data.msgs.map((m) => m.fromAddr));
    expect(subjects).toContain('Скидки до 70% только сегодня'); // windows-1251 B
    expect(subjects).toContain('【セール】ポイントがもらえるキャンペーン'); // ISO-2022-JP B
    expect(subjects).toContain('Glückwunsch! Ihr Gewinn über 5.000 EUR wartet auf Sie'); // ISO-8859-1 Q
    expect(subjects).toContain('Ihre Bestellung über 49,90 € – Lieferung heute'); // raw 8-bit UTF-8
    expect(subjects).toContain('Увеличьте продажи в 3 раза — бесплатная консультация'); // UTF-8 B
    expect(subjects).toContain('🔥🔥 Up to 90% off – today only! 🛍️');
    expect(froms).toContain('Jürgen Müller <j.mueller@gewinnspiel.test>');
    expect(froms).toContain('Günther Groß <guenther@versandhandel.test>');
    expect(froms).toContain('Mail Delivery System <MAILER-DAEMON@mx.remote-host.test>');
    const long = data.msgs.filter((m) => Buffer.byteLength(m.subject ?? '', 'utf8') > 240);
    expect(long.length).toBeGreaterThan(0);
    for (const m of long) expect(m.subject).toMatch(/^【期間限定】/);
    // plain ASCII headers are stored exactly as written
    for (const m of quarantinedMsgs()) {
      const { original } = splitAmavisBlock(data.stored.get(m.mailId)?.raw ?? Buffer.alloc(0));
      const head = latin1(original).slice(0, latin1(original).indexOf('\n\n'));
      const from = (field(head, 'From') ?? '').replace(/\n(?=[ \t])/g, '');
      if (/^[\x20-\x7e]*$/.test(from) && !from.includes('=?')) expect(m.fromAddr).toBe(from);
    }
  });

  it('stores maddr like find_or_save_addr: lowercased, reversed domain, <> as empty', () => {
    const emails = data.maddr.map((a) => latin1(a.email));
    expect(new Set(emails).size).toBe(emails.length);
    for (const a of data.maddr) {
      const email = a.email.toString('utf8');
      expect(a.partitionTag).toBe(0);
      expect(email).toBe(email.toLowerCase());
      const domain = email.includes('@') ? (email.split('@')[1] ?? '').split('.').reverse().join('.') : '';
      expect(a.domain).toBe(domain);
    }
    expect(emails).toContain('');
    expect(data.maddr.find((a) => a.email.length === 0)?.domain).toBe('');
    expect(emails).toContain('kunde@xn--bcher-kva.example');
    expect(data.maddr.find((a) => latin1(a.email) === 'orders@shop.example.net')?.domain).toBe(
      'net.example.shop',
    );
    const ids = new Set(data.maddr.map((a) => a.id));
    for (const m of data.msgs) expect(ids.has(m.sid)).toBe(true);
    for (const r of data.rcpts) expect(ids.has(r.rid)).toBe(true);
    // the null sender is used, for bounces
    const nullSender = data.maddr.find((a) => a.email.length === 0)?.id;
    expect(data.msgs.some((m) => m.sid === nullSender)).toBe(true);
    const localDomains = new Set(
      data.rcpts.filter((r) => r.isLocal === 'Y').map((r) => data.maddr.find((a) => a.id === r.rid)?.domain),
    );
    expect([...localDomains].sort()).toEqual([
      'com.example',
      'example.xn--bcher-kva',
      'net.example.shop',
      'org.example',
    ]);
  });

  it('advances the maddr sequence past the explicit ids', async () => {
    const { t } = db;
    const before = Math.max(...data.maddr.map((a) => a.id));
    await db.connection.db
      .insert(t.maddrTable)
      .values({ partitionTag: 0, email: Buffer.from('late@arrival.test'), domain: 'test.arrival' });
    const [row] = await db.connection.rows<{ id: number }>(
      sql`select id from maddr where email = ${Buffer.from('late@arrival.test')}`,
    );
    expect(row?.id).toBe(before + 1);
    await db.connection.db.execute(sql`delete from maddr where id = ${before + 1}`);
  });

  it('writes one msgrcpt row per recipient with rseqnum 1..n, local and foreign', () => {
    const byMail = new Map<string, typeof data.rcpts>();
    for (const r of data.rcpts) byMail.set(r.mailId, [...(byMail.get(r.mailId) ?? []), r]);
    for (const rows of byMail.values()) {
      expect(rows.map((r) => r.rseqnum)).toEqual(rows.map((_, i) => i + 1));
      expect(new Set(rows.map((r) => r.rid)).size).toBe(rows.length);
    }
    const sizes = [...byMail.values()].map((rows) => rows.length);
    expect(sizes.filter((n) => n === 2).length).toBeGreaterThan(0);
    expect(sizes.filter((n) => n === 3).length).toBeGreaterThan(0);
    expect(data.rcpts.filter((r) => r.isLocal === 'N').length).toBeGreaterThanOrEqual(2);
    const users = new Set(data.rcpts.filter((r) => r.isLocal === 'Y').map((r) => r.rid));
    expect(users.size).toBeGreaterThanOrEqual(18);
  });

  it('mixes release and delivery statuses', () => {
    const quarantined = data.rcpts.filter((r) => data.stored.has(r.mailId));
    const rs = new Map<string, number>();
    for (const r of quarantined) rs.set(r.rs, (rs.get(r.rs) ?? 0) + 1);
    for (const code of [' ', 'V', 'R', 'p', 'S', 'H', 'D'])
      expect(rs.get(code) ?? 0, `rs ${code}`).toBeGreaterThan(0);
    expect((rs.get(' ') ?? 0) / quarantined.length).toBeGreaterThan(0.5);
    const msgContent = new Map(data.msgs.map((m) => [m.mailId, m.content]));
    for (const r of quarantined) {
      const content = msgContent.get(r.mailId);
      if (content === 'V' || content === 'B') expect(r.ds).toBe('D');
      if (content === 'S' && r.content === 'S') expect(r.ds).toBe('D');
      if (content === 'H' || content === 'C') expect(r.ds).toBe('P');
      if (r.ds === 'D') expect(r.smtpResp).toMatch(/^250 2\.7\.0 Ok, discarded, id=\d{5}-\d{2} - /);
    }
    for (const r of data.rcpts.filter((x) => !data.stored.has(x.mailId))) expect(r.rs).toBe(' ');
  });

  it('keeps msgs.spam_level at the minimum of the recipients bspam_level, with realistic scores', () => {
    const byMail = new Map<string, (number | null)[]>();
    for (const r of data.rcpts) byMail.set(r.mailId, [...(byMail.get(r.mailId) ?? []), r.bspamLevel]);
    let boosted = 0;
    for (const m of data.msgs) {
      const levels = (byMail.get(m.mailId) ?? []).filter((v): v is number => v !== null);
      if (levels.length === 0) expect(m.spamLevel).toBeNull();
      else expect(m.spamLevel).toBe(Math.min(...levels));
      if (levels.length > 1 && Math.min(...levels) < Math.max(...levels)) boosted++;
    }
    expect(boosted).toBeGreaterThan(0);
    const q = quarantinedMsgs();
    const levelsOf = (code: string) => q.filter((m) => m.content === code).map((m) => m.spamLevel);
    for (const v of levelsOf('S')) expect(v).toBeGreaterThanOrEqual(3);
    expect(levelsOf('S').filter((v) => (v ?? 0) > 999).length).toBeGreaterThanOrEqual(2);
    expect(
      Math.max(
        ...levelsOf('S')
          .filter((v) => (v ?? 0) < 999)
          .map(Number),
      ),
    ).toBeLessThanOrEqual(40);
    for (const v of levelsOf('Y')) expect(v).toBeGreaterThanOrEqual(3);
    for (const v of levelsOf('Y')) expect(v).toBeLessThan(6);
    for (const v of levelsOf('C')) expect(v).toBeLessThan(2);
    expect([...levelsOf('V'), ...levelsOf('B')].some((v) => v === null)).toBe(true);
  });

  it('chunks the raw message in 16384-byte pieces numbered from 1; big ones span several', () => {
    let multi = 0;
    for (const { chunks } of data.stored.values()) {
      expect(chunks.map((c) => c.chunkInd)).toEqual(chunks.map((_, i) => i + 1));
      chunks.forEach((c, i) => {
        if (i < chunks.length - 1) expect(c.length).toBe(16384);
        else expect(c.length).toBeGreaterThan(0);
        expect(c.length).toBeLessThanOrEqual(16384);
      });
      if (chunks.length > 1) multi++;
    }
    expect(multi).toBeGreaterThanOrEqual(6);
    const counts = new Set([...data.stored.values()].map((s) => s.chunks.length));
    for (const n of [2, 3, 4, 5]) expect(counts.has(n), `${n} chunks`).toBe(true);
    const biggest = Math.max(...data.msgs.map((m) => m.size));
    expect(biggest).toBeGreaterThan(180_000);
    expect(biggest).toBeLessThan(230_000);
  });

  it('reassembles to amavisd headers + the original message, whose SMTP size is msgs.size', () => {
    for (const m of quarantinedMsgs()) {
      const raw = data.stored.get(m.mailId)?.raw ?? Buffer.alloc(0);
      const text = latin1(raw);
      expect(text.includes('\r')).toBe(false); // LF line endings
      const { prefix, original } = splitAmavisBlock(raw);
      expect(prefix.startsWith('X-Envelope-From: <')).toBe(true);
      expect(field(prefix, 'X-Quarantine-ID')).toBe(`<${m.mailId}>`);
      expect(field(prefix, 'X-Envelope-To')).toMatch(/^<[^>]+@[^>]+>/);
      // msgs.size counts the original as received over SMTP: CRLF line ends, no amavisd headers
      const lfs = original.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
      expect(original.length + lfs).toBe(m.size);
      // ...and it parses: a header block with the usual fields, then a body
      const body = latin1(original);
      const headEnd = body.indexOf('\n\n');
      expect(headEnd).toBeGreaterThan(0);
      const head = body.slice(0, headEnd);
      expect(field(head, 'Received')).toMatch(/by mail\.example\.com \(Postfix\)/);
      expect(field(head, 'Message-ID')).toBe(m.messageId);
      expect(field(head, 'From')).toBeTruthy();
      expect(field(head, 'Date')).toMatch(/^\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/);
      expect(field(head, 'MIME-Version')).toBe('1.0');
      if (m.spamLevel !== null) {
        expect(field(prefix, 'X-Spam-Status')).toMatch(
          /^(Yes|No), score=-?[\d.]+ tag=-999 tag2=3 kill=6\s+tests=\[/,
        );
        expect(field(prefix, 'X-Spam-Status')).toMatch(/[A-Z0-9_]+=-?[\d.]+\]/);
      }
    }
  });

  it('puts the amavisd alerts and the right payloads in banned, virus and bad-header mail', () => {
    const eicarBase64 = Buffer.from(EICAR).toString('base64').slice(0, 60);
    for (const m of quarantinedMsgs()) {
      const raw = latin1(data.stored.get(m.mailId)?.raw ?? Buffer.alloc(0));
      const { prefix } = splitAmavisBlock(Buffer.from(raw, 'latin1'));
      const alert = field(prefix, 'X-Amavis-Alert') ?? '';
      if (m.content === 'B') expect(alert).toMatch(/^BANNED, message contains /);
      if (m.content === 'V') expect(alert).toBe('INFECTED, message contains virus: Eicar-Signature');
      if (m.content === 'H') expect(alert).toMatch(/^BAD HEADER SECTION, /);
    }
    const raws = (code: string) =>
      quarantinedMsgs()
        .filter((m) => m.content === code)
        .map((m) => latin1(data.stored.get(m.mailId)?.raw ?? Buffer.alloc(0)));
    expect(raws('B').some((r) => r.includes('filename=invoice.exe'))).toBe(true);
    expect(raws('V').some((r) => r.includes('filename=eicar.com') && r.includes(eicarBase64))).toBe(true);
    expect(raws('V').some((r) => r.includes('filename=label.zip'))).toBe(true);
    // raw 8-bit UTF-8 in a header, and Latin-1 bytes in a body declared UTF-8
    expect(
      raws('H').some((r) => r.includes(Buffer.from('From: Günther Groß', 'utf8').toString('latin1'))),
    ).toBe(true);
    expect(raws('C').some((r) => r.includes(Buffer.from('Grüßen', 'latin1').toString('latin1')))).toBe(true);
  });

  it('includes hostile HTML (scripts, handlers, trackers, forms, refresh) for the viewer to defuse', () => {
    const html = quarantinedMsgs()
      .map((m) => unQp(latin1(data.stored.get(m.mailId)?.raw ?? Buffer.alloc(0))))
      .filter((r) => r.includes('<form'));
    expect(html.length).toBeGreaterThanOrEqual(3);
    for (const needle of [
      '<script',
      'onerror=',
      'src="https://tracker.example/',
      '<meta http-equiv="refresh"',
    ]) {
      expect(
        html.some((r) => r.includes(needle)),
        needle,
      ).toBe(true);
    }
    const all = quarantinedMsgs().map((m) => latin1(data.stored.get(m.mailId)?.raw ?? Buffer.alloc(0)));
    expect(all.some((r) => r.includes('Content-Type: multipart/alternative'))).toBe(true);
    expect(all.some((r) => r.includes('Content-Type: multipart/report; report-type=delivery-status'))).toBe(
      true,
    );
    expect(all.some((r) => r.includes('=?ISO-8859-1?Q?'))).toBe(true);
  });

  describe('determinism', () => {
    let other: Db;

    beforeAll(async () => {
      other = await freshDatabase();
    });

    it('gives the same rows and bytes for the same seed and time', async () => {
      const again = await seedDemoData(other, { now: NOW, seed: 1 });
      expect(again).toEqual(summary);
      const copy = await loadAll(other);
      expect(copy.msgs).toEqual(data.msgs);
      expect(copy.rcpts).toEqual(data.rcpts);
      expect(copy.maddr).toEqual(data.maddr);
      const digest = (l: Loaded) =>
        [...l.stored.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([id, s]) => `${id}:${createHash('sha256').update(s.raw).digest('hex')}`)
          .join('\n');
      expect(digest(copy)).toBe(digest(data));
    });

    it('gives other messages for another seed, reusing existing addresses', async () => {
      const before = await loadAll(other);
      const small = await seedDemoData(other, { now: NOW, seed: 2, messages: 30 });
      expect(small.quarantined).toBe(30);
      const after = await loadAll(other);
      expect(after.msgs).toHaveLength(before.msgs.length + small.messages);
      expect(after.rcpts).toHaveLength(before.rcpts.length + small.recipients);
      const oldIds = new Set(before.msgs.map((m) => m.mailId));
      const fresh = after.msgs.filter((m) => !oldIds.has(m.mailId));
      expect(fresh).toHaveLength(small.messages);
      // local users already had maddr rows: no duplicates, and their ids are reused
      const emails = after.maddr.map((a) => latin1(a.email));
      expect(new Set(emails).size).toBe(emails.length);
      const oldMaddr = new Set(before.maddr.map((a) => a.id));
      const freshRcpts = after.rcpts.filter((r) => !oldIds.has(r.mailId));
      expect(freshRcpts.some((r) => oldMaddr.has(r.rid))).toBe(true);
      const codes = new Set(fresh.filter((m) => after.stored.has(m.mailId)).map((m) => m.content));
      for (const code of CODES) expect(codes.has(code), `content ${code} with 30 messages`).toBe(true);
    });

    it('rolls back completely when an insert fails', async () => {
      const before = await loadAll(other);
      // The last insert (quarantine) goes to a table that does not exist.
      const missing = pgTable('no_such_table', {
        partitionTag: integer('partition_tag').notNull(),
        mailId: text('mail_id').notNull(),
        chunkInd: integer('chunk_ind').notNull(),
        mailText: text('mail_text').notNull(),
      });
      const broken = { ...other.t, quarantineTable: missing } as unknown as AmavisTables;
      await expect(
        seedDemoData({ connection: other.connection, t: broken }, { now: NOW, seed: 3, messages: 30 }),
      ).rejects.toThrow();
      const after = await loadAll(other);
      expect(after.msgs).toHaveLength(before.msgs.length);
      expect(after.rcpts).toHaveLength(before.rcpts.length);
      expect(after.maddr).toHaveLength(before.maddr.length);
      // the same seed does add addresses, so the failed run had inserted (and rolled back) some
      await seedDemoData(other, { now: NOW, seed: 3, messages: 30 });
      expect((await loadAll(other)).maddr.length).toBeGreaterThan(before.maddr.length);
    });
  });
});
