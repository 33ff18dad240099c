// The bench data generator (bench/generate-data.ts) on the real servers: counts and shape of what it
// writes, and that the console's listing reads it.

import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BENCH_SUPERADMIN, generateAmavisData, seedBenchAccounts } from '../../bench/generate-data.ts';
import type { Dialect } from '../../server/config.ts';
import { amavisTables, createAmavisTables } from '../../server/db/amavis-tables.ts';
import { type Connection, openDatabase } from '../../server/db/database.ts';
import { listQuarantine } from '../../server/features/quarantine/quarantine.service.ts';
import { DEFAULT_SETTINGS } from '../../server/features/settings/settings.service.ts';
import { createTempDatabase, type TempDatabase } from '../support/databases.ts';
import { describeWith } from '../support/services.ts';

const MESSAGES = 5000;
const NOW = new Date('2026-11-20T12:00:00Z');

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `bench generator on ${service}`, () => {
    let temp: TempDatabase;
    let connection: Connection;
    let summary: Awaited<ReturnType<typeof generateAmavisData>>;
    const num = async (query: ReturnType<typeof sql>) =>
      Number(Object.values((await connection.rows(query))[0] ?? {})[0]);

    beforeAll(async () => {
      temp = await createTempDatabase(dialect as Dialect);
      connection = await openDatabase({ kind: 'url', dialect, url: temp.url, display: temp.name }, 'test');
      await createAmavisTables(connection);
      summary = await generateAmavisData(
        { dialect, url: temp.url },
        { messages: MESSAGES, seed: 3, now: NOW },
      );
    }, 120_000);
    afterAll(async () => {
      await connection?.close();
      await temp?.drop();
    });

    it('writes the counts it reports', async () => {
      expect(summary.messages).toBe(MESSAGES);
      expect(await num(sql`select count(*) from msgs`)).toBe(MESSAGES);
      expect(await num(sql`select count(*) from msgrcpt`)).toBe(summary.recipients);
      expect(await num(sql`select count(*) from quarantine`)).toBe(summary.chunks);
      expect(await num(sql`select count(*) from maddr`)).toBe(summary.addresses);
      expect(await num(sql`select count(distinct mail_id) from quarantine`)).toBe(summary.quarantined);
      expect(summary.quarantined / MESSAGES).toBeGreaterThan(0.15);
      expect(summary.quarantined / MESSAGES).toBeLessThan(0.25);
    });

    it('gives every message 1–3 recipients numbered from 1', async () => {
      const rows = await connection.rows<{ n: unknown; lo: unknown; hi: unknown }>(
        sql`select count(*) as n, min(rseqnum) as lo, max(rseqnum) as hi from msgrcpt group by mail_id`,
      );
      expect(rows).toHaveLength(MESSAGES);
      for (const r of rows) {
        expect(Number(r.lo)).toBe(1);
        expect(Number(r.n)).toBe(Number(r.hi));
        expect(Number(r.n)).toBeGreaterThanOrEqual(1);
        expect(Number(r.n)).toBeLessThanOrEqual(3);
      }
    });

    it('stores quarantined copies in contiguous chunks from 1, some multi-chunk', async () => {
      const rows = await connection.rows<{ n: unknown; lo: unknown; hi: unknown }>(
        sql`select count(*) as n, min(chunk_ind) as lo, max(chunk_ind) as hi from quarantine group by mail_id`,
      );
      for (const r of rows) {
        expect(Number(r.lo)).toBe(1);
        expect(Number(r.hi)).toBe(Number(r.n));
      }
      expect(rows.filter((r) => Number(r.n) > 1).length).toBeGreaterThan(0);
      // quarantined messages are not clean; the others are, and have no quarantine rows
      expect(
        await num(
          sql`select count(*) from msgs m where m.content <> 'C' and not exists (select 1 from quarantine q where q.mail_id = m.mail_id)`,
        ),
      ).toBe(0);
      expect(
        await num(
          sql`select count(*) from msgs m where m.content = 'C' and exists (select 1 from quarantine q where q.mail_id = m.mail_id)`,
        ),
      ).toBe(0);
      const { quarantineTable } = amavisTables(dialect);
      const [first] = await connection.db
        .select({ text: quarantineTable.mailText })
        .from(quarantineTable)
        .where(sql`${quarantineTable.chunkInd} = 1`)
        .limit(1);
      const text = Buffer.from(first?.text as Buffer).toString('latin1');
      expect(text).toMatch(/^X-Envelope-From: </);
      expect(text).toContain('X-Quarantine-ID: <');
      expect(text).toContain('MIME-Version: 1.0');
    });

    it('stores maddr domains reversed, times within the last 30 days and amavisd content codes', async () => {
      const rows = await connection.rows<{ email: unknown; domain: string }>(
        sql`select email, domain from maddr where email <> ''`,
      );
      for (const r of rows.slice(0, 500)) {
        const email = Buffer.isBuffer(r.email) ? r.email.toString('latin1') : String(r.email);
        expect(r.domain).toBe((email.split('@')[1] ?? '').split('.').reverse().join('.'));
      }
      const nowSec = Math.floor(NOW.getTime() / 1000);
      expect(await num(sql`select min(time_num) from msgs`)).toBeGreaterThanOrEqual(nowSec - 30 * 86400);
      expect(await num(sql`select max(time_num) from msgs`)).toBeLessThan(nowSec);
      const codes = (await connection.rows<{ c: string }>(sql`select distinct content as c from msgs`)).map(
        (r) => r.c,
      );
      for (const c of ['C', 'S', 'Y', 'V', 'B', 'H']) expect(codes).toContain(c);
      const rs = (await connection.rows<{ r: string }>(sql`select distinct rs as r from msgrcpt`)).map(
        (r) => r.r,
      );
      for (const r of ['V', 'R', 'p', 'D']) expect(rs).toContain(r);
      expect(await num(sql`select count(*) from msgrcpt where content = 'C'`)).toBeGreaterThan(MESSAGES / 2);
    });

    it("is read by the console's listing", async () => {
      const page = await listQuarantine(
        { connection, t: amavisTables(dialect) },
        {
          actor: {
            kind: 'account',
            accountId: 1,
            email: BENCH_SUPERADMIN.email,
            role: 'superadmin',
            addresses: [BENCH_SUPERADMIN.email],
            othersAddresses: [],
            domains: [],
            access: 'full',
            via: 'session',
          },
          settings: DEFAULT_SETTINGS,
        },
        { first: 50 },
      );
      expect(page.items).toHaveLength(50);
      const times = page.items.map((e) => e.timeNum);
      expect([...times].sort((a, b) => b - a)).toEqual(times);
    });

    it('seeds console accounts matching the addresses', async () => {
      const seeded = await seedBenchAccounts({ dialect, url: temp.url }, { seed: 3 });
      expect(seeded.domainAdmins).toBe(40);
      expect(await num(sql`select count(*) from console_accounts where role = 'superadmin'`)).toBe(1);
      expect(await num(sql`select count(*) from console_accounts`)).toBe(
        1 + seeded.domainAdmins + seeded.users,
      );
      // every user account's address is one the generator used
      expect(
        await num(
          sql`select count(*) from console_accounts a where a.role = 'user' and not exists (select 1 from maddr m where m.email = ${sql.raw(dialect === 'pg' ? "convert_to(a.email, 'UTF8')" : 'cast(a.email as binary)')})`,
        ),
      ).toBe(0);
    }, 60_000);
  });
}
