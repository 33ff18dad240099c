// The real thing: a GTUBE message goes through amavisd-new over SMTP, amavisd quarantines it in SQL,
// and the console's GraphQL list shows it — on amavisd's PostgreSQL and MariaDB instances.
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '../support/graphql-client.ts';
import { type LabConsole, startLabConsole } from '../support/lab-console.ts';
import { describeWith, readLabEnv } from '../support/services.ts';

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

interface Entry {
  id: string;
  mailId: string;
  recipient: string;
  envelopeSender: string;
  fromHeader: string;
  subject: string;
  size: number;
  score: number | null;
  content: { code: string; kind: string };
  status: { kind: string };
}

for (const [instance, dialect, service] of [
  ['PG', 'pg', 'postgresql'],
  ['MY', 'mysql', 'mariadb'],
] as const) {
  await describeWith(['amavisd', service], `GTUBE through amavisd-new on ${service}`, () => {
    let labConsole: LabConsole;
    let admin: Client;
    const lab = readLabEnv() ?? {};

    beforeAll(async () => {
      labConsole = await startLabConsole(dialect);
      admin = labConsole.root;
    });

    afterAll(async () => {
      await labConsole?.close();
    });

    it('lands in the quarantine and the list shows sender, recipient, subject, type and score', async () => {
      const tag = randomBytes(6).toString('hex');
      const subject = `GTUBE ${instance} ${tag} – Grüße`;
      const [host, port] = (lab[`AMAVIS_LAB_${instance}_SMTP`] ?? '').split(':');
      const transport = nodemailer.createTransport({
        host,
        port: Number(port),
        secure: false,
        ignoreTLS: true,
      });
      const info = await transport.sendMail({
        envelope: { from: 'spammer@sender.test', to: ['user1@example.test'] },
        from: 'Spammer <spammer@sender.test>',
        to: 'User One <user1@example.test>',
        subject,
        messageId: `<gtube-${tag}@sender.test>`,
        text: `unique body ${tag}\n\n${GTUBE}\n`,
      });
      // amavisd discards spam at kill level but still answers 250 and keeps a copy in SQL
      expect(info.response).toMatch(/^250 2\.7\.0 Ok, discarded/);

      let entry: Entry | undefined;
      for (let attempt = 0; attempt < 60 && !entry; attempt++) {
        const result = await admin.gql<{ quarantine: { edges: { node: Entry }[] } }>(
          `{ quarantine(first: 100) { edges { node {
              id mailId recipient envelopeSender fromHeader subject size score
              content { code kind } status { kind } } } } }`,
        );
        expect(result.errors).toBeUndefined();
        entry = result.data?.quarantine.edges.map((e) => e.node).find((n) => n.subject === subject);
        if (!entry) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(entry).toMatchObject({
        recipient: 'user1@example.test',
        envelopeSender: 'spammer@sender.test',
        fromHeader: 'Spammer <spammer@sender.test>',
        subject,
        content: { code: 'S', kind: 'spam' },
        status: { kind: 'new' },
      });
      expect(entry?.mailId).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{10}[A-Za-z0-9]$/);
      // GTUBE scores 1000 minus a few header rules
      expect(entry?.score).toBeGreaterThan(990);
      expect(entry?.score).toBeLessThan(1010);
      expect(entry?.size).toBeGreaterThan(200);

      // Opened, it shows amavisd's verdict rule by rule, described from SpamAssassin's own rule files.
      const opened = await admin.gql<{
        message: {
          text: string;
          amavis: { quarantineId: string; envelopeFrom: string };
          spam: { isSpam: boolean; tests: { name: string; score: number; description: string | null }[] };
          problems: string[];
        };
      }>(
        `query($id: ID!) { message(id: $id) { text problems amavis { quarantineId envelopeFrom }
           spam { isSpam tests { name score description } } } }`,
        { id: entry?.id },
      );
      const message = opened.data?.message;
      expect(message?.problems).toEqual([]);
      expect(message?.amavis).toEqual({ quarantineId: entry?.mailId, envelopeFrom: 'spammer@sender.test' });
      expect(message?.text).toContain(`unique body ${tag}`);
      const gtube = message?.spam.tests.find((t) => t.name === 'GTUBE');
      expect(gtube?.score).toBe(1000);
      expect(gtube?.description).toMatch(/Generic Test for Unsolicited Bulk Email/i);
    });
  });
}
