// Releasing through the console, end to end, on both real amavisd instances: GTUBE is quarantined by
// amavisd, released through GraphQL (AM.PDP over the unix socket and TCP), and arrives at the SMTP sink
// with its body unchanged; the request workflow mails its outcomes through the same sink.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseMessage } from '../../server/mail/parse-message.ts';
import {
  headerField,
  type LabInstance,
  lab,
  quarantineGtube,
  sinkMessages,
  splitMessage,
  waitFor,
  waitForCopies,
  wireBody,
} from '../support/amavis-lab.ts';
import { addAccount } from '../support/factories.ts';
import { type Client, logInAs } from '../support/graphql-client.ts';
import { type LabConsole, startLabConsole, updateSettingsAs } from '../support/lab-console.ts';
import {
  type ActionPayloadShape,
  APPROVE,
  closedPort,
  DENY,
  messageId,
  RELEASE,
  REQUESTS,
  type RequestShape,
  recipientStatus,
} from '../support/release.shared.ts';
import { describeWith } from '../support/services.ts';
import type { TestApp } from '../support/test-app.ts';

/** The console's notice about the request for the message tagged `tag`, once it reached the sink. */
function notice(subject: string, tag: string) {
  return waitFor(`"${subject}" for ${tag}`, async () => {
    for (const mail of sinkMessages((header) => headerField(header, 'Subject') === subject)) {
      if ((await parseMessage(mail.raw)).text?.includes(tag)) return mail;
    }
    return null;
  });
}

for (const [instance, dialect, service] of [
  ['PG', 'pg', 'postgresql'],
  ['MY', 'mysql', 'mariadb'],
] as const satisfies readonly [LabInstance, string, string][]) {
  await describeWith(['amavisd', service], `releasing through amavisd-new on ${service}`, () => {
    let app: TestApp;
    let labConsole: LabConsole;
    let root: Client;
    let user: Client;
    const [pdpHost, pdpPort] = (lab[`AMAVIS_LAB_${instance}_PDP`] ?? '').split(':');
    const socket = lab[`AMAVIS_LAB_${instance}_PDP_SOCKET`] ?? '';
    const tcp = { amPdpMode: 'inet', amPdpHost: pdpHost, amPdpPort: Number(pdpPort) };
    const unix = { amPdpMode: 'unix', amPdpSocket: socket };
    const userAddress = `release-user-${instance.toLowerCase()}@example.test`;

    const configure = (settings: Record<string, unknown>) => updateSettingsAs(root, settings);
    const rs = (mailId: string, rseqnum = 1) => recipientStatus(app, mailId, rseqnum);
    const gtube = (recipients: string[], label: string) =>
      quarantineGtube(instance, app.stores.amavis, { recipients, label });

    beforeAll(async () => {
      labConsole = await startLabConsole(dialect, {
        SMTP_URL: `smtp://${lab.AMAVIS_LAB_SINK ?? '127.0.0.1:10025'}`,
      });
      ({ app, root } = labConsole);
      await addAccount(app.stores.console, { email: userAddress, role: 'user', password: 'release-user-1' });
      user = await logInAs(app.url, userAddress, 'release-user-1');
    });

    afterAll(async () => {
      await labConsole?.close();
    });

    for (const [transport, settings] of [
      ['the unix socket', unix],
      ['TCP', tcp],
    ] as const) {
      it(`an admin's release over ${transport} arrives at the sink byte for byte; rs R; audited`, async () => {
        await configure(settings);
        const q = await gtube([userAddress], `console release ${transport}`);
        const released = await root.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
          input: { ids: [messageId(q.mailId)] },
        });
        expect(released.errors).toBeUndefined();
        expect(released.data?.releaseMessages.results[0]).toMatchObject({
          outcome: 'released',
          message: null,
        });
        const [copy] = await waitForCopies(q.mailId, 1);
        expect(copy?.envelope.rcpt_tos).toEqual([userAddress]);
        expect(copy && splitMessage(copy.raw).body.equals(wireBody(q.raw))).toBe(true);
        expect(copy && headerField(splitMessage(copy.raw).header, 'Resent-From')).toContain(
          'root@admin.test',
        );
        expect(await rs(q.mailId)).toBe('R');
        const a = app.stores.console.t.auditLogTable;
        const [audit] = await app.stores.console.connection.db
          .select()
          .from(a)
          .where(and(eq(a.action, 'message.release'), eq(a.target, `0:${q.mailId}:1 for ${userAddress}`)));
        expect(audit).toMatchObject({ actor: 'root@admin.test', outcome: 'success' });

        const again = await root.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
          input: { ids: [messageId(q.mailId)] },
        });
        expect(again.data?.releaseMessages.results[0]?.outcome).toBe('alreadyReleased');
      });
    }

    it('an admin releases to another address: only that address gets it, and the status stays', async () => {
      await configure(tcp);
      const q = await gtube([userAddress], 'console release elsewhere');
      const other = `inspect-${q.tag}@example.test`;
      const released = await root.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
        input: { ids: [messageId(q.mailId)], to: [other] },
      });
      expect(released.data?.releaseMessages.results[0]).toMatchObject({
        outcome: 'released',
        message: `released to ${other}`,
      });
      const [copy] = await waitForCopies(q.mailId, 1);
      expect(copy?.envelope.rcpt_tos).toEqual([other]);
      expect(await rs(q.mailId)).toBe('');
    });

    it('service health: both transports answer the test release, SpamAssassin answers', async () => {
      for (const settings of [unix, tcp]) {
        await configure(settings);
        const health = await root.gql<{
          serviceHealth: {
            amavis: { ok: boolean; detail: string }[];
            spamassassin: { ok: boolean; detail: string };
          };
        }>('{ serviceHealth { amavis { ok detail } spamassassin { ok detail } } }');
        expect(health.data?.serviceHealth.amavis[0]).toMatchObject({ ok: true });
        expect(health.data?.serviceHealth.amavis[0]?.detail).toMatch(/450 4\.5\.0/);
        expect(health.data?.serviceHealth.spamassassin.ok).toBe(true);
      }
    });

    it('a request approved by an admin is released and the requester told; a second approval is a no-op', async () => {
      await configure({ ...tcp, userCanRelease: false });
      const q = await gtube([userAddress], 'console request');
      const asked = await user.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
        input: { ids: [messageId(q.mailId)] },
      });
      expect(asked.data?.releaseMessages.results[0]?.outcome).toBe('requested');
      expect(await rs(q.mailId)).toBe('p');
      const queue = await root.gql<{ releaseRequests: { edges: { node: RequestShape }[] } }>(REQUESTS, {
        statuses: ['pending'],
      });
      const request = queue.data?.releaseRequests.edges.find(
        (e) => e.node.message?.id === messageId(q.mailId),
      );
      const approved = await root.gql<{ approveReleaseRequests: ActionPayloadShape }>(APPROVE, {
        input: { ids: [request?.node.id] },
      });
      expect(approved.data?.approveReleaseRequests.results[0]?.outcome).toBe('released');
      const [copy] = await waitForCopies(q.mailId, 1);
      expect(copy && splitMessage(copy.raw).body.equals(wireBody(q.raw))).toBe(true);
      expect(await rs(q.mailId)).toBe('R');
      const told = await notice('Release request approved', q.tag);
      expect(told.envelope.rcpt_tos).toEqual([userAddress]);

      const twice = await root.gql<{ approveReleaseRequests: ActionPayloadShape }>(APPROVE, {
        input: { ids: [request?.node.id] },
      });
      expect(twice.data?.approveReleaseRequests.results[0]?.outcome).toBe('alreadyReleased');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await waitForCopies(q.mailId, 1)).toHaveLength(1);
    });

    it('a denied request stays quarantined and the reason is mailed to the requester', async () => {
      await configure({ ...tcp, userCanRelease: false });
      const q = await gtube([userAddress], 'console deny');
      await user.gql(RELEASE, { input: { ids: [messageId(q.mailId)] } });
      const queue = await root.gql<{ releaseRequests: { edges: { node: RequestShape }[] } }>(REQUESTS, {
        statuses: ['pending'],
      });
      const request = queue.data?.releaseRequests.edges.find(
        (e) => e.node.message?.id === messageId(q.mailId),
      );
      const reason = `Not releasing ${q.tag}: the sender is a known spammer`;
      const denied = await root.gql<{ denyReleaseRequests: ActionPayloadShape }>(DENY, {
        input: { ids: [request?.node.id], reason },
      });
      expect(denied.data?.denyReleaseRequests.results[0]?.outcome).toBe('denied');
      const told = await notice('Release request denied', q.tag);
      expect(told.envelope.rcpt_tos).toEqual([userAddress]);
      expect((await parseMessage(told.raw)).text).toContain(reason);
      expect(await rs(q.mailId)).toBe('V');
    });

    it('bulk: 200 pairs where 3 are invalid release 197 and report the 3 with a reason', async () => {
      await configure(tcp);
      const batches = [50, 50, 50, 47];
      const quarantined = [];
      for (const [b, size] of batches.entries()) {
        const recipients = Array.from({ length: size }, (_, i) => `bulk-${b}-${i}@example.test`);
        quarantined.push({ q: await gtube(recipients, `console bulk ${b}`), size });
      }
      const ids = quarantined.flatMap(({ q, size }) =>
        Array.from({ length: size }, (_, i) => messageId(q.mailId, i + 1)),
      );
      ids.splice(10, 0, 'not-a-global-id');
      ids.splice(100, 0, messageId('NoSuchMailId1', 1));
      ids.push(messageId(quarantined[0]?.q.mailId ?? '', 99));
      expect(ids).toHaveLength(200);
      const started = performance.now();
      const result = await root.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, { input: { ids } });
      const ms = performance.now() - started;
      expect(result.errors).toBeUndefined();
      expect(result.data?.releaseMessages).toMatchObject({ succeeded: 197, failed: 3 });
      const failures = result.data?.releaseMessages.results.filter((r) => r.outcome !== 'released') ?? [];
      expect(failures.map((f) => f.outcome)).toEqual(['notFound', 'notFound', 'notFound']);
      expect(failures.every((f) => (f.message ?? '').length > 0)).toBe(true);
      for (const { q, size } of quarantined) {
        await waitForCopies(q.mailId, size);
        expect(await rs(q.mailId, size)).toBe('R');
      }
      console.log(`bulk release of 197 pairs on ${service}: ${Math.round(ms)} ms`);
    }, 120_000);

    it('with amavisd unreachable: an error naming the endpoint, rs unchanged; back up, the same call works', async () => {
      const dead = await closedPort();
      await configure({ ...tcp, amPdpPort: dead });
      const q = await gtube([userAddress], 'console down');
      const failed = await root.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
        input: { ids: [messageId(q.mailId)] },
      });
      const result = failed.data?.releaseMessages.results[0];
      expect(result?.outcome).toBe('failed');
      expect(result?.message).toContain(`127.0.0.1:${dead}`);
      expect(await rs(q.mailId)).toBe('');
      await configure({ ...unix, amPdpSocket: '/nonexistent/amavisd.sock' });
      const noSocket = await root.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
        input: { ids: [messageId(q.mailId)] },
      });
      expect(noSocket.data?.releaseMessages.results[0]?.message).toContain('/nonexistent/amavisd.sock');

      await configure(tcp);
      const retried = await root.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
        input: { ids: [messageId(q.mailId)] },
      });
      expect(retried.data?.releaseMessages.results[0]?.outcome).toBe('released');
      await waitForCopies(q.mailId, 1);
      expect(await rs(q.mailId)).toBe('R');
    });
  });
}
