// Releasing from the real amavisd-new's SQL quarantine over AM.PDP, on both lab instances (PostgreSQL
// and MariaDB) and both transports (unix socket and TCP): a GTUBE mail goes in over SMTP, amavisd
// quarantines it, the client releases it, and the SMTP sink receives the quarantined body unchanged.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  AmPdpError,
  AmPdpSession,
  describeEndpoint,
  type PdpEndpoint,
  probeAmPdp,
  type ReleaseRequest,
} from '../../server/amavis/am-pdp.client.ts';
import { parsePdpEndpoint } from '../../server/amavis/pdp-endpoints.ts';
import { amavisTables } from '../../server/db/amavis-tables.ts';
import { openDatabase } from '../../server/db/database.ts';
import type { AmavisStore } from '../../server/db/stores.ts';
import {
  type Delivered,
  headerField,
  LAB_SENDER,
  lab,
  type Quarantined,
  quarantineGtube,
  releasedCopies,
  sleep,
  splitMessage,
  waitForCopies,
  wireBody,
} from '../support/amavis-lab.ts';
import { describeWith } from '../support/services.ts';

const SENDER = LAB_SENDER;
const RECIPIENT = 'user1@example.test';

function releaseOf(q: Quarantined, change: Partial<ReleaseRequest> = {}): ReleaseRequest {
  return {
    mailId: q.mailId,
    secretId: q.secretId,
    partitionTag: q.partitionTag,
    quarType: q.quarType,
    recipients: [RECIPIENT],
    requestedBy: 'admin@example.test',
    ...change,
  };
}

function expectReleasedCopy(copy: Delivered, q: Quarantined, recipient: string, requestedBy: string): void {
  expect(copy.envelope.rcpt_tos).toEqual([recipient]);
  expect(copy.envelope.mail_from).toBe(SENDER);
  const released = splitMessage(copy.raw);
  expect(released.body.equals(wireBody(q.raw))).toBe(true);
  expect(released.body.toString('utf8')).toContain(
    'Grüße – ünïcödé ✓\r\n.a line that starts with a dot\r\n..and',
  );
  expect(headerField(released.header, 'Resent-From')).toBe(`<${requestedBy}>`);
  expect(headerField(released.header, 'Resent-To')).toBe(`<${recipient}>`);
  expect(headerField(released.header, 'Subject')).toBe(headerField(splitMessage(q.raw).header, 'Subject'));
  // amavisd's own bookkeeping fields of the quarantine copy are not passed on
  expect(headerField(released.header, 'X-Quarantine-ID')).toBeUndefined();
}

/** A mail_id with a secret_id that matches it, for a message that does not exist. */
function unknownPair(): { mailId: string; secretId: string } {
  for (;;) {
    const secret = randomBytes(9);
    const mailId = createHash('md5').update(secret).digest('base64url').slice(0, 12);
    if (/^[A-Za-z0-9].*[A-Za-z0-9]$/.test(mailId)) return { mailId, secretId: secret.toString('base64url') };
  }
}

async function withSession<T>(endpoint: PdpEndpoint, use: (session: AmPdpSession) => Promise<T>): Promise<T> {
  const session = await AmPdpSession.open(endpoint);
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}

for (const [instance, dialect, service] of [
  ['PG', 'pg', 'postgresql'],
  ['MY', 'mysql', 'mariadb'],
] as const) {
  await describeWith(['amavisd', service], `AM.PDP release through amavisd-new on ${service}`, () => {
    let store: AmavisStore;
    const tcp = parsePdpEndpoint(lab[`AMAVIS_LAB_${instance}_PDP`] ?? '127.0.0.1:1');
    const unix = parsePdpEndpoint(lab[`AMAVIS_LAB_${instance}_PDP_SOCKET`] ?? '/nonexistent');
    const transports = [
      ['the unix socket', unix],
      ['TCP', tcp],
    ] as const;

    beforeAll(async () => {
      const url = lab[dialect === 'pg' ? 'AMAVIS_LAB_PG_URL' : 'AMAVIS_LAB_MYSQL_URL'] ?? '';
      const connection = await openDatabase(
        { kind: 'url', dialect, url, display: `amavis lab (${dialect})` },
        'amavis',
      );
      store = { connection, t: amavisTables(dialect) };
    });

    afterAll(async () => {
      await store?.connection.close();
    });

    for (const [label, endpoint] of transports) {
      it(`releases a quarantined GTUBE to its recipient over ${label}, body byte for byte`, async () => {
        const q = await quarantineGtube(instance, store, {
          recipients: [RECIPIENT],
          label: 'AM.PDP release',
        });
        expect(q.quarType).toBe('Q');
        expect(q.host).toBe(lab.AMAVIS_LAB_HOSTNAME);
        const outcome = await withSession(endpoint, (session) => session.release(releaseOf(q)));
        expect(outcome.error).toBeNull();
        expect(outcome.ok).toBe(true);
        expect(outcome.replies).toHaveLength(1);
        expect(outcome.replies[0]).toMatchObject({ code: 250, enhanced: '2.0.0' });
        // amavisd passes on the MTA's answer (here the sink's "250 2.0.0 Ok: stored")
        expect(outcome.replies[0]?.text).toMatch(
          /^from MTA\(smtp:\[127\.0\.0\.1\]:\d+\): 250 2\.0\.0 Ok: stored$/,
        );

        const [copy, ...more] = await waitForCopies(q.mailId, 1);
        expect(more).toEqual([]);
        expectReleasedCopy(copy as Delivered, q, RECIPIENT, 'admin@example.test');
      });

      it(`answers the probe over ${label}`, async () => {
        const result = await probeAmPdp(endpoint);
        expect(result.detail).toMatch(
          new RegExp(
            `^amavisd at ${describeEndpoint(endpoint).replace(/[.[\]]/g, '\\$&')} answered in \\d+ ms: 450 4\\.5\\.0 Failure: `,
          ),
        );
        expect(result.ok).toBe(true);
        expect(result.latencyMs).toBeLessThan(5000);
      });

      it(`refuses an unknown mail_id over ${label}`, async () => {
        const outcome = await withSession(endpoint, (session) =>
          session.release({ ...unknownPair(), partitionTag: 0, quarType: 'Q', recipients: [RECIPIENT] }),
        );
        expect(outcome.ok).toBe(false);
        expect(outcome.replies).toMatchObject([{ code: 450, enhanced: '4.5.0' }]);
        expect(outcome.error).toBe(
          "450 4.5.0 Failure: Can't open sql obj for reading: No such file or directory",
        );
      });
    }

    it('releases to another address chosen by an admin, and only to that address', async () => {
      const q = await quarantineGtube(instance, store, { recipients: [RECIPIENT], label: 'AM.PDP release' });
      const other = `other-${q.tag}@elsewhere.test`;
      const outcome = await withSession(tcp, (session) =>
        session.release(releaseOf(q, { recipients: [other], requestedBy: 'root@admin.test' })),
      );
      expect(outcome).toMatchObject({ ok: true, error: null, replies: [{ code: 250 }] });
      const copies = await waitForCopies(q.mailId, 1);
      expect(copies).toHaveLength(1);
      expectReleasedCopy(copies[0] as Delivered, q, other, 'root@admin.test');
    });

    it("refuses a wrong secret_id over TCP with amavisd's text, and sends nothing", async () => {
      const q = await quarantineGtube(instance, store, { recipients: [RECIPIENT], label: 'AM.PDP release' });
      const wrong = unknownPair().secretId;
      const outcome = await withSession(tcp, (session) => session.release(releaseOf(q, { secretId: wrong })));
      expect(outcome.ok).toBe(false);
      expect(outcome.replies).toHaveLength(1);
      expect(outcome.replies[0]).toMatchObject({ code: 450, enhanced: '4.5.0' });
      expect(outcome.replies[0]?.text).toContain(
        `Failure: Secret_id ${wrong} does not match mail_id ${q.mailId}`,
      );
      expect(outcome.error).toBe(`450 4.5.0 Failure: Secret_id … does not match mail_id ${q.mailId}`);
      await sleep(300);
      expect(releasedCopies(q.mailId)).toEqual([]);
    });

    it('needs the secret_id over TCP but not over the unix socket (the lab policy banks)', async () => {
      const q = await quarantineGtube(instance, store, { recipients: [RECIPIENT], label: 'AM.PDP release' });
      const overTcp = await withSession(tcp, (session) => session.release(releaseOf(q, { secretId: '' })));
      expect(overTcp).toMatchObject({
        ok: false,
        error: '450 4.5.0 Failure: Secret_id is required, but missing',
      });
      const overSocket = await withSession(unix, (session) =>
        session.release(releaseOf(q, { secretId: '' })),
      );
      expect(overSocket).toMatchObject({ ok: true, error: null });
      const [copy] = await waitForCopies(q.mailId, 1);
      expectReleasedCopy(copy as Delivered, q, RECIPIENT, 'admin@example.test');
    });

    it('carries several releases, and refusals between them, on one session', async () => {
      const first = await quarantineGtube(instance, store, {
        recipients: [RECIPIENT],
        label: 'AM.PDP release',
      });
      const second = await quarantineGtube(instance, store, {
        recipients: [RECIPIENT],
        label: 'AM.PDP release',
      });
      const outcomes = await withSession(tcp, async (session) => [
        await session.release(releaseOf(first)),
        await session.release(releaseOf(second, { secretId: first.secretId })),
        await session.release(releaseOf(first, { partitionTag: first.partitionTag + 1 })),
        await session.release(
          releaseOf(second, { recipients: [RECIPIENT, `copy-${second.tag}@elsewhere.test`] }),
        ),
      ]);
      expect(outcomes.map((o) => o.ok)).toEqual([true, false, false, true]);
      expect(outcomes[1]?.error).toContain(`does not match mail_id ${second.mailId}`);
      expect(outcomes[2]?.error).toBe(
        "450 4.5.0 Failure: Can't open sql obj for reading: No such file or directory",
      );
      expect(outcomes[3]?.replies.map((r) => r.code)).toEqual([250, 250]);

      expectReleasedCopy(
        (await waitForCopies(first.mailId, 1))[0] as Delivered,
        first,
        RECIPIENT,
        'admin@example.test',
      );
      // two recipients, one SMTP transaction
      const [copy, ...more] = await waitForCopies(second.mailId, 1);
      expect(more).toEqual([]);
      expect((copy as Delivered).envelope.rcpt_tos).toEqual([RECIPIENT, `copy-${second.tag}@elsewhere.test`]);
      expect(splitMessage((copy as Delivered).raw).body.equals(wireBody(second.raw))).toBe(true);
      expect(headerField(splitMessage((copy as Delivered).raw).header, 'Resent-To')).toBe(
        'undisclosed-recipients:;',
      );
    });

    it('says so when pointed at the SMTP port instead of AM.PDP', async () => {
      const smtp = parsePdpEndpoint(lab[`AMAVIS_LAB_${instance}_SMTP`] ?? '');
      const error = await withSession(smtp, (session) => session.request([['request', 'release']])).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AmPdpError);
      expect((error as AmPdpError).reason).toBe('protocol');
      expect((error as AmPdpError).message).toMatch(
        /"220 [^"]*ESMTP[^"]*": this port speaks SMTP, not AM.PDP/,
      );
    });
  });
}

await describeWith(['amavisd'], 'AM.PDP endpoints nobody listens on', () => {
  it('fails fast with reason connect, naming a free TCP port', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const started = Date.now();
    const error = await AmPdpSession.open({ kind: 'inet', host: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(AmPdpError);
    expect(error).toMatchObject({ reason: 'connect', endpoint: `inet:127.0.0.1:${port}` });
    expect((error as Error).message).toContain(`inet:127.0.0.1:${port}: ECONNREFUSED connection refused`);
  });

  it('fails fast with reason connect, naming a socket path that does not exist', async () => {
    const missing = `/var/lib/amavis/amavisd-nonexistent-${randomBytes(4).toString('hex')}.sock`;
    const started = Date.now();
    const error = await AmPdpSession.open({ kind: 'unix', path: missing }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({ name: 'AmPdpError', reason: 'connect', endpoint: `unix:${missing}` });
    expect((error as Error).message).toContain(`unix:${missing}: ENOENT no such socket`);
    const probe = await probeAmPdp({ kind: 'unix', path: missing });
    expect(probe.ok).toBe(false);
    expect(probe.detail).toContain('ENOENT no such socket');
  });
});
