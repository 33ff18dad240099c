// Releasing while amavisd is really down, on both databases and over both AM.PDP transports. A spare
// amavisd (tests/amavis-lab/spare.sh; the shared "pg"/"my" instances never stop) quarantines GTUBE and is
// stopped: the release fails with an error naming the endpoint, rs and the quarantine stay as they were,
// the failure is audited and service health says why. After the restart the same call releases the
// message, byte for byte.
import fs from 'node:fs';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadQuarantinedMessage } from '../../server/amavis/quarantine-reassembly.ts';
import {
  type LabInstance,
  type LabSpare,
  lab,
  labSpare,
  lockSpare,
  quarantineGtube,
  releasedCopies,
  spareAmavisd,
  splitMessage,
  waitFor,
  waitForCopies,
  wireBody,
} from '../support/amavis-lab.ts';
import type { Client } from '../support/graphql-client.ts';
import { type LabConsole, startLabConsole, updateSettingsAs } from '../support/lab-console.ts';
import { type ActionPayloadShape, messageId, RELEASE, recipientStatus } from '../support/release.shared.ts';
import { describeWith, IN_CI } from '../support/services.ts';
import type { TestApp } from '../support/test-app.ts';

const HEALTH = '{ serviceHealth { amavis { target ok detail } } }';
interface HealthShape {
  serviceHealth: { amavis: { target: string; ok: boolean; detail: string }[] };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const [instance, db, dialect, service] of [
  ['PG', 'pg', 'pg', 'postgresql'],
  ['MY', 'my', 'mysql', 'mariadb'],
] as const satisfies readonly [LabInstance, 'pg' | 'my', 'pg' | 'mysql', 'postgresql' | 'mariadb'][]) {
  const title = `releasing with the spare amavisd on ${service} stopped`;
  const spare = labSpare(db);
  if (!spare && lab.AMAVIS_LAB_PG_SMTP) {
    // the lab is up but older than its spare instances
    const reason = `the amavis lab has no spare amavisd for ${service} (re-run: bash tests/amavis-lab/setup.sh)`;
    if (IN_CI) {
      describe(title, () => {
        throw new Error(`CI=true but ${reason}`);
      });
    } else {
      describe.skip(`${title} (skipped: ${reason})`, () => {});
    }
    continue;
  }

  await describeWith(['amavisd', service], title, () => {
    // null only when there is no lab at all: then this block is skipped (or fails under CI) unrun
    const s: LabSpare = spare ?? {
      name: `${db}-spare`,
      db,
      smtp: '',
      pdpHost: '',
      pdpPort: 0,
      socket: '',
      pidFile: '',
      log: '',
    };
    let app: TestApp;
    let labConsole: LabConsole | undefined;
    let root: Client;
    let unlock: (() => void) | undefined;
    const recipient = `outage-${db}@example.test`;

    const transports = [
      {
        name: 'the unix socket',
        settings: { amPdpMode: 'unix', amPdpSocket: s.socket },
        endpoint: `unix:${s.socket}`,
        // amavisd removes its socket file when it stops
        reason: 'ENOENT no such socket',
      },
      {
        name: 'TCP',
        settings: { amPdpMode: 'inet', amPdpHost: s.pdpHost, amPdpPort: s.pdpPort },
        endpoint: `inet:${s.pdpHost}:${s.pdpPort}`,
        reason: 'ECONNREFUSED connection refused',
      },
    ] as const;

    beforeAll(async () => {
      unlock = await lockSpare(s, 90_000);
      // a run that died half way may have left it stopped
      await spareAmavisd(s, 'start');
      labConsole = await startLabConsole(dialect, {
        SMTP_URL: `smtp://${lab.AMAVIS_LAB_SINK ?? '127.0.0.1:10025'}`,
      });
      ({ app, root } = labConsole);
    }, 150_000); // another run of this file may hold the spare (lockSpare waits up to 90 s)

    afterAll(async () => {
      try {
        await spareAmavisd(s, 'start');
      } finally {
        unlock?.();
        await labConsole?.close();
      }
    });

    const release = async (mailId: string) => {
      const response = await root.gql<{ releaseMessages: ActionPayloadShape }>(RELEASE, {
        input: { ids: [messageId(mailId)] },
      });
      expect(response.errors).toBeUndefined();
      return response.data?.releaseMessages;
    };
    const health = async () => {
      const response = await root.gql<HealthShape>(HEALTH);
      expect(response.errors).toBeUndefined();
      return response.data?.serviceHealth.amavis[0];
    };
    const auditRows = async (mailId: string) => {
      const a = app.stores.console.t.auditLogTable;
      return app.stores.console.connection.db
        .select()
        .from(a)
        .where(and(eq(a.action, 'message.release'), eq(a.target, `0:${mailId}:1 for ${recipient}`)))
        .orderBy(a.id);
    };

    for (const transport of transports) {
      it(`over ${transport.name}: stopped, the release fails naming the endpoint and changes nothing; restarted, the same call releases`, async () => {
        await updateSettingsAs(root, transport.settings);
        const q = await quarantineGtube(instance, app.stores.amavis, {
          recipients: [recipient],
          label: `outage ${transport.name}`,
          smtp: s.smtp,
        });
        // the spare quarantined it, not the shared instance
        await waitFor(`${q.messageId} in ${s.log}`, async () =>
          fs.readFileSync(s.log, 'latin1').includes(q.messageId) ? true : null,
        );
        const expected = new RegExp(
          `^cannot connect to amavisd AM\\.PDP at ${escapeRegExp(transport.endpoint)}: ${transport.reason}\\b`,
        );

        try {
          await spareAmavisd(s, 'stop');
          expect(fs.existsSync(s.socket)).toBe(false);

          const failed = await release(q.mailId);
          expect(failed).toMatchObject({ succeeded: 0, failed: 1 });
          const result = failed?.results[0];
          expect(result).toMatchObject({ target: `0:${q.mailId}:1`, outcome: 'failed', recipient });
          expect(result?.message).toMatch(expected);
          console.log(`${service}, ${transport.name}, amavisd stopped: ${result?.message}`);
          // nothing changed, nothing lost, nothing sent
          expect(await recipientStatus(app, q.mailId)).toBe('');
          const stored = await loadQuarantinedMessage(app.stores.amavis, {
            partitionTag: q.partitionTag,
            mailId: q.mailId,
          });
          expect(stored?.problems).toEqual([]);
          expect(stored?.raw.equals(q.raw)).toBe(true);
          expect(releasedCopies(q.mailId)).toEqual([]);
          const [audited] = await auditRows(q.mailId);
          expect(audited).toMatchObject({ actor: 'root@admin.test', outcome: 'failure' });
          expect(audited?.detail).toMatchObject({
            result: 'failed',
            message: expect.stringMatching(expected),
          });

          const down = await health();
          expect(down).toMatchObject({ target: transport.endpoint, ok: false });
          expect(down?.detail).toMatch(expected);
          console.log(`${service}, ${transport.name}, serviceHealth while stopped: ${down?.detail}`);
        } finally {
          await spareAmavisd(s, 'start');
        }

        const up = await health();
        expect(up).toMatchObject({ target: transport.endpoint, ok: true });
        expect(up?.detail).toMatch(/450 4\.5\.0/);

        const retried = await release(q.mailId);
        expect(retried).toMatchObject({ succeeded: 1, failed: 0 });
        expect(retried?.results[0]).toMatchObject({ outcome: 'released', message: null, recipient });
        const [copy] = await waitForCopies(q.mailId, 1);
        expect(copy?.envelope.rcpt_tos).toEqual([recipient]);
        expect(copy && splitMessage(copy.raw).body.equals(wireBody(q.raw))).toBe(true);
        expect(await recipientStatus(app, q.mailId)).toBe('R');
        expect((await auditRows(q.mailId)).map((row) => row.outcome)).toEqual(['failure', 'success']);
      }, 90_000); // ~5 s; a stop and a start take longer on a loaded machine
    }
  });
}
