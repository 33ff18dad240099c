// Training SpamAssassin through the console, on both real amavisd instances: GTUBE quarantined by
// amavisd is marked through GraphQL and SpamAssassin's SQL Bayes store shows the counts move for the
// username amavisd scans that recipient with, at each level, locally (sa-learn) and through spamd.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { scanUsername } from '../../server/amavis/policy-lookup.ts';
import { type LabInstance, lab, quarantineGtube, waitForCopies } from '../support/amavis-lab.ts';
import { addAccount } from '../support/factories.ts';
import { type Client, errorCode, logInAs } from '../support/graphql-client.ts';
import { type LabConsole, startLabConsole, updateSettingsAs } from '../support/lab-console.ts';
import {
  type ActionPayloadShape,
  closedPort,
  messageId,
  recipientStatus,
} from '../support/release.shared.ts';
import { describeWith } from '../support/services.ts';
import type { TestApp } from '../support/test-app.ts';

const MARK = `mutation($input: MarkMessagesInput!) { markMessages(input: $input) {
  succeeded failed results { target outcome message recipient } } }`;
const _SETTINGS =
  'mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { manualLearning } }';

for (const [instance, dialect, service] of [
  ['PG', 'pg', 'postgresql'],
  ['MY', 'mysql', 'mariadb'],
] as const satisfies readonly [LabInstance, string, string][]) {
  await describeWith(['amavisd', service], `learning through the console on ${service}`, () => {
    let app: TestApp;
    let labConsole: LabConsole;
    let root: Client;
    let user: Client;
    let bayes: postgres.Sql;
    const run = randomBytes(4).toString('hex');
    // a subdomain of the lab's local domain per run: its @domain policy is this test's alone
    const domain = `learn-${run}.example.test`;
    const userAddress = `alice-${instance.toLowerCase()}@${domain}`;
    const globalUser = `global-${run}-${instance.toLowerCase()}`;
    const [pdpHost, pdpPort] = (lab[`AMAVIS_LAB_${instance}_PDP`] ?? '').split(':');

    const counts = async (username: string) => {
      const rows = await bayes<{ spam_count: number; ham_count: number }[]>`
        SELECT spam_count, ham_count FROM bayes_vars WHERE username = ${username}`;
      return { spam: rows[0]?.spam_count ?? 0, ham: rows[0]?.ham_count ?? 0 };
    };
    const configure = (settings: Record<string, unknown>) => updateSettingsAs(root, settings);
    const rs = (mailId: string, rseqnum = 1) => recipientStatus(app, mailId, rseqnum);
    const mark = (client: Client, mailId: string, input: Record<string, unknown>) =>
      client.gql<{ markMessages: ActionPayloadShape }>(MARK, {
        input: { ids: [messageId(mailId)], ...input },
      });

    beforeAll(async () => {
      bayes = postgres(lab.AMAVIS_LAB_BAYES_PG_URL ?? '', { max: 1, onnotice: () => {} });
      labConsole = await startLabConsole(dialect);
      ({ app, root } = labConsole);
      await addAccount(app.stores.console, { email: userAddress, role: 'user', password: 'learn-user-1' });
      user = await logInAs(app.url, userAddress, 'learn-user-1');
      await configure({
        manualLearning: true,
        domainLevelLearning: true,
        userLevelLearning: true,
        saIsLocal: true,
        defaultUser: globalUser,
        amPdpMode: 'inet',
        amPdpHost: pdpHost,
        amPdpPort: Number(pdpPort),
      });
    });

    afterAll(async () => {
      await labConsole?.close();
      await bayes?.end();
    });

    it('global level: the default user learns the spam; rs becomes S', async () => {
      const q = await quarantineGtube(instance, app.stores.amavis, {
        recipients: [userAddress],
        label: 'learn global',
      });
      const result = await mark(root, q.mailId, { as: 'spam', level: 'global' });
      expect(result.data?.markMessages.results[0]).toMatchObject({ outcome: 'learned' });
      expect(await counts(globalUser)).toEqual({ spam: 1, ham: 0 });
      expect(await rs(q.mailId)).toBe('S');
    });

    it("domain level: the domain's policy names its Bayes user, which amavisd then scans with", async () => {
      const q = await quarantineGtube(instance, app.stores.amavis, {
        recipients: [userAddress],
        label: 'learn domain',
      });
      const result = await mark(root, q.mailId, { as: 'spam', level: 'domain' });
      expect(result.data?.markMessages.results[0]?.message).toContain(`for ${domain}`);
      expect(await counts(domain)).toEqual({ spam: 1, ham: 0 });
      const other = `someone-else@${domain}`;
      expect(await scanUsername(app.stores.amavis, other, '', 'amavis')).toBe(domain);
    });

    it("user level, by the user: the address's own Bayes user, set in its own policy", async () => {
      const q = await quarantineGtube(instance, app.stores.amavis, {
        recipients: [userAddress],
        label: 'learn user',
      });
      const result = await mark(user, q.mailId, { as: 'spam' });
      expect(result.data?.markMessages.results[0]).toMatchObject({ outcome: 'learned' });
      expect(await counts(userAddress)).toEqual({ spam: 1, ham: 0 });
      expect(await scanUsername(app.stores.amavis, userAddress, '', 'amavis')).toBe(userAddress);
      // a user may not train the global database
      const global = await mark(user, q.mailId, { as: 'spam', level: 'global' });
      expect(errorCode(global)).toBe('FORBIDDEN');
    });

    it('not spam: learns ham and releases in one call; the copy reaches the sink', async () => {
      const q = await quarantineGtube(instance, app.stores.amavis, {
        recipients: [userAddress],
        label: 'learn ham',
      });
      const before = await counts(globalUser);
      const result = await mark(root, q.mailId, { as: 'ham', level: 'global', release: true });
      expect(result.data?.markMessages.results[0]).toMatchObject({ outcome: 'released' });
      expect(result.data?.markMessages.results[0]?.message).toContain('as ham');
      expect(await counts(globalUser)).toEqual({ spam: before.spam, ham: before.ham + 1 });
      await waitForCopies(q.mailId, 1);
      expect(await rs(q.mailId)).toBe('R');
    });

    it('through spamd (spamc -L): counts move; spam and delete in one call', async () => {
      await configure({
        saIsLocal: false,
        spamdAddress: '127.0.0.1',
        spamdPort: Number((lab.AMAVIS_LAB_SPAMD ?? ':783').split(':')[1]),
      });
      try {
        const q = await quarantineGtube(instance, app.stores.amavis, {
          recipients: [userAddress],
          label: 'learn spamd',
        });
        const before = await counts(globalUser);
        const result = await mark(root, q.mailId, { as: 'spam', level: 'global', delete: true });
        expect(result.data?.markMessages.results[0]).toMatchObject({ outcome: 'deleted' });
        expect(await counts(globalUser)).toEqual({ spam: before.spam + 1, ham: before.ham });
        expect(await rs(q.mailId)).toBe('D');
      } finally {
        await configure({ saIsLocal: true });
      }
    });

    it("a failing learner's message reaches the caller; rs stays", async () => {
      await configure({ saIsLocal: false, spamdAddress: '127.0.0.1', spamdPort: await closedPort() });
      try {
        const q = await quarantineGtube(instance, app.stores.amavis, {
          recipients: [userAddress],
          label: 'learn fail',
        });
        const result = await mark(root, q.mailId, { as: 'spam', level: 'global' });
        const item = result.data?.markMessages.results[0];
        expect(item?.outcome).toBe('failed');
        expect(item?.message).toMatch(/refused|failed/i);
        expect(await rs(q.mailId)).toBe('');
      } finally {
        await configure({ saIsLocal: true });
      }
    });
  });
}
