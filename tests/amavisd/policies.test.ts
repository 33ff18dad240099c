// Policies and sender lists as real amavisd-new reads them (@lookup_sql_dsn, its default sel_policy and
// sel_wblist queries), on PostgreSQL and on MariaDB: what the console writes through GraphQL changes
// amavisd's verdict for the next message, for exactly the recipients it should, and going back to
// inherit (or removing an entry) restores amavisd.conf's behaviour. Each run uses its own domain under
// example.test (a local domain in the lab) and leaves no lookup rows behind.
import { randomBytes } from 'node:crypto';
import { eq, like, or, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LabInstance } from '../support/amavis-lab.ts';
import { type LabConsole, startLabConsole } from '../support/lab-console.ts';
import { must, REMOVE_ENTRY, SET_ENTRY, UPDATE_POLICY } from '../support/policies.shared.ts';
import { sendAndJudge } from '../support/policies-lab.shared.ts';
import { describeWith } from '../support/services.ts';

for (const [instance, dialect, service] of [
  ['PG', 'pg', 'postgresql'],
  ['MY', 'mysql', 'mariadb'],
] as const satisfies readonly [LabInstance, string, string][]) {
  await describeWith(['amavisd', service], `policies and sender lists in amavisd-new on ${service}`, () => {
    let labConsole: LabConsole;
    const run = randomBytes(4).toString('hex');
    const domain = `pol-${run}-${instance.toLowerCase()}.example.test`;
    const alice = `alice@${domain}`;
    const bob = `bob@${domain}`;
    const aliasDomain = `pol-${run}-${instance.toLowerCase()}-alias.example.test`;
    const bobAtAlias = `bob@${aliasDomain}`;
    const senderDomain = `snd-${run}-${instance.toLowerCase()}.test`;
    const friend = `friend@${senderDomain}`;
    const pest = `pest@blocked-${senderDomain}`;
    const ids: Record<string, string> = {};

    const judge = (options: { from: string; to: string; gtube: boolean; label: string }) =>
      sendAndJudge(instance, labConsole.app.stores.amavis, options);
    const update = async (owner: string, changes: Record<string, unknown>[]) =>
      must(await labConsole.root.gql(UPDATE_POLICY, { input: { owner, changes } }));
    const setEntry = async (input: Record<string, unknown>) =>
      must(await labConsole.root.gql(SET_ENTRY, { input }));
    const removeEntry = async (input: Record<string, unknown>) =>
      must(await labConsole.root.gql(REMOVE_ENTRY, { input }));

    beforeAll(async () => {
      labConsole = await startLabConsole(dialect);
      const created = must(
        await labConsole.root.gql<{ createDomain: { domain: { id: string } } }>(
          'mutation($name: String!) { createDomain(input: { name: $name }) { domain { id } } }',
          { name: domain },
        ),
      );
      ids.domain = created.createDomain.domain.id;
      must(
        await labConsole.root.gql(
          'mutation($id: ID!, $name: String!) { addDomainAlias(input: { domainId: $id, name: $name }) { domain { id } } }',
          { id: ids.domain, name: aliasDomain },
        ),
      );
      for (const email of [alice, bob]) {
        const account = must(
          await labConsole.root.gql<{ createAccount: { account: { id: string } } }>(
            'mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }',
            { input: { email, role: 'user', password: 'policy-lab-user-1' } },
          ),
        );
        ids[email] = account.createAccount.account.id;
      }
    });

    afterAll(async () => {
      if (!labConsole) return;
      try {
        for (const email of [alice, bob]) {
          if (ids[email]) {
            await labConsole.root.gql(
              'mutation($id: ID!) { deleteAccount(input: { id: $id }) { deletedAccountId } }',
              {
                id: ids[email],
              },
            );
          }
        }
        if (ids.domain) {
          await labConsole.root.gql(
            'mutation($id: ID!) { deleteDomain(input: { id: $id }) { deletedDomainId } }',
            {
              id: ids.domain,
            },
          );
        }
      } finally {
        await labConsole.close();
      }
    });

    it('amavisd quarantines GTUBE for the new domain by default (amavisd.conf levels)', async () => {
      const verdict = await judge({ from: friend, to: alice, gtube: true, label: 'default' });
      expect(verdict).toMatchObject({ ds: 'D', content: 'S', delivered: false });
    });

    it('delivers GTUBE from a sender the recipient allowed; removing the entry restores quarantine', async () => {
      await setEntry({ owner: alice, sender: friend, action: 'allow' });
      const allowed = await judge({ from: friend, to: alice, gtube: true, label: 'allowed' });
      expect(allowed).toMatchObject({ ds: 'P', wl: 'Y', delivered: true });
      // only alice allowed it
      const other = await judge({ from: friend, to: bob, gtube: true, label: 'allowed-other' });
      expect(other).toMatchObject({ ds: 'D', delivered: false });

      await removeEntry({ owner: alice, sender: friend });
      const again = await judge({ from: friend, to: alice, gtube: true, label: 'allow-removed' });
      expect(again).toMatchObject({ ds: 'D', wl: 'N', delivered: false });
    });

    it('blocks a clean message from a blocked sender domain; removing the entry lets it through', async () => {
      const clean = await judge({ from: pest, to: bob, gtube: false, label: 'clean' });
      expect(clean).toMatchObject({ ds: 'P', delivered: true });

      // a domain-wide entry (@domain), as a domain admin would set it
      await setEntry({ owner: `@${domain}`, sender: `@blocked-${senderDomain}`, action: 'block' });
      const blocked = await judge({ from: pest, to: bob, gtube: false, label: 'blocked' });
      expect(blocked).toMatchObject({ ds: 'D', bl: 'Y', delivered: false });
      // the alias domain has the domain's list too
      const atAlias = await judge({ from: pest, to: bobAtAlias, gtube: false, label: 'blocked-alias' });
      expect(atAlias).toMatchObject({ ds: 'D', bl: 'Y', delivered: false });

      await removeEntry({ owner: `@${domain}`, sender: `@blocked-${senderDomain}` });
      const unblocked = await judge({ from: pest, to: bob, gtube: false, label: 'unblocked' });
      expect(unblocked).toMatchObject({ ds: 'P', bl: 'N', delivered: true });
    });

    it("adds a soft score for a subdomain pattern to SpamAssassin's", async () => {
      const sender = `news@mail.${senderDomain}`;
      await setEntry({ owner: alice, sender: `@.${senderDomain}`, action: 'score', score: 50 });
      const pushed = await judge({ from: sender, to: alice, gtube: false, label: 'soft-score' });
      expect(pushed).toMatchObject({ ds: 'D', content: 'S', delivered: false });
      await removeEntry({ owner: alice, sender: `@.${senderDomain}` });
      const clean = await judge({ from: sender, to: alice, gtube: false, label: 'soft-score-removed' });
      expect(clean).toMatchObject({ ds: 'P', delivered: true });
    });

    it('lets GTUBE through a domain with spam checks bypassed; inherit restores quarantine', async () => {
      await update(`@${domain}`, [{ field: 'bypassSpamChecks', state: 'on' }]);
      const bypassed = await judge({ from: friend, to: bob, gtube: true, label: 'bypassed' });
      expect(bypassed).toMatchObject({ ds: 'P', delivered: true });
      // the alias domain shares the policy
      const atAlias = await judge({ from: friend, to: bobAtAlias, gtube: true, label: 'bypassed-alias' });
      expect(atAlias).toMatchObject({ ds: 'P', delivered: true });

      await update(`@${domain}`, [{ field: 'bypassSpamChecks', state: 'inherit' }]);
      const checked = await judge({ from: friend, to: bob, gtube: true, label: 'bypass-inherit' });
      expect(checked).toMatchObject({ ds: 'D', content: 'S', delivered: false });
      const checkedAtAlias = await judge({
        from: friend,
        to: bobAtAlias,
        gtube: true,
        label: 'bypass-inherit-alias',
      });
      expect(checkedAtAlias).toMatchObject({ ds: 'D', delivered: false });
    });

    it("changes the verdict with a domain's kill level, and for one recipient only with a user override", async () => {
      // GTUBE scores about 1000: above amavisd.conf's kill level 5, below 2000
      await update(`@${domain}`, [{ field: 'spamKillLevel', state: 'value', number: 2000 }]);
      // delivered as spammy (content Y: above tag2, below kill)
      expect(await judge({ from: friend, to: alice, gtube: true, label: 'kill-2000-alice' })).toMatchObject({
        ds: 'P',
        content: 'Y',
        delivered: true,
      });
      expect(await judge({ from: friend, to: bob, gtube: true, label: 'kill-2000-bob' })).toMatchObject({
        ds: 'P',
        delivered: true,
      });

      await update(alice, [{ field: 'spamKillLevel', state: 'value', number: 5 }]);
      expect(await judge({ from: friend, to: alice, gtube: true, label: 'override-alice' })).toMatchObject({
        ds: 'D',
        delivered: false,
      });
      expect(await judge({ from: friend, to: bob, gtube: true, label: 'override-bob' })).toMatchObject({
        ds: 'P',
        delivered: true,
      });

      await update(`@${domain}`, [{ field: 'spamKillLevel', state: 'inherit' }]);
      await update(alice, [{ field: 'spamKillLevel', state: 'inherit' }]);
      expect(await judge({ from: friend, to: bob, gtube: true, label: 'kill-inherit' })).toMatchObject({
        ds: 'D',
        delivered: false,
      });
    });

    it('leaves no users, policy, wblist or mailaddr rows for the domain once it and its users are gone', async () => {
      await setEntry({ owner: bob, sender: friend, action: 'allow' });
      await update(bob, [{ field: 'spamTag2Level', state: 'value', number: 4 }]);
      for (const email of [alice, bob]) {
        must(
          await labConsole.root.gql(
            'mutation($id: ID!) { deleteAccount(input: { id: $id }) { deletedAccountId } }',
            {
              id: ids[email],
            },
          ),
        );
        delete ids[email];
      }
      must(
        await labConsole.root.gql(
          'mutation($id: ID!) { deleteDomain(input: { id: $id }) { deletedDomainId } }',
          {
            id: ids.domain,
          },
        ),
      );
      delete ids.domain;
      const store = labConsole.app.stores.amavis;
      const { usersTable: u, policyTable: p, mailaddrTable: m } = store.t;
      const { db } = store.connection;
      const pattern = Buffer.from(`%pol-${run}-${instance.toLowerCase()}%`, 'utf8');
      const typed = dialect === 'pg' ? sql`cast(${pattern} as bytea)` : sql`${pattern}`;
      expect(await db.select({ id: u.id }).from(u).where(sql`${u.email} like ${typed}`)).toEqual([]);
      expect(
        await db
          .select({ id: p.id })
          .from(p)
          .where(like(p.policyName, `%${domain.slice(0, 20)}%`)),
      ).toEqual([]);
      expect(
        await db
          .select({ id: m.id })
          .from(m)
          .where(or(eq(m.email, Buffer.from(friend)), eq(m.email, Buffer.from(`@blocked-${senderDomain}`)))),
      ).toEqual([]);
    });
  });
}
