// Bulk release through real amavisd (the lab, tests/amavis-lab): GTUBE mail to 50 recipients at a time is
// quarantined by amavisd in the lab's database of the bench's dialect, then every (message, recipient) pair
// is released twice: once by AM.PDP requests written by hand on one connection (the lower bound: amavisd
// re-delivers each through the MTA), once by the console's releaseMessages in one call, as a GraphQL bulk
// release runs it. amavisd releases a message as often as it is asked, so both see the same work.
// The bench's console tables hold the actor and the audit trail; amavis's tables are the lab's.
import { AmPdpSession } from '../../server/amavis/am-pdp.client.ts';
import { pdpRoutingFromSettings } from '../../server/amavis/pdp-endpoints.ts';
import { amavisTables } from '../../server/db/amavis-tables.ts';
import { openDatabase } from '../../server/db/database.ts';
import { releaseMessages } from '../../server/features/release/release.service.ts';
import { createLogger } from '../../server/log.ts';
import { createMailer } from '../../server/mail/mailer.ts';
import { lab, quarantineGtube } from '../../tests/support/amavis-lab.ts';
import { ratio, summarise } from '../lib/stats.ts';
import type { BenchCase, CaseResult } from './types.ts';

const PER_MESSAGE = 50;

export const releaseCase: BenchCase = {
  name: 'release-200',
  run: async (context): Promise<CaseResult> => {
    const instance = context.dialect === 'pg' ? 'PG' : 'MY';
    const url = lab[context.dialect === 'pg' ? 'AMAVIS_LAB_PG_URL' : 'AMAVIS_LAB_MYSQL_URL'];
    const [pdpHost, pdpPort] = (lab[`AMAVIS_LAB_${instance}_PDP`] ?? '').split(':');
    if (!url || !pdpHost)
      return { skipped: 'the amavis lab is not running (bash tests/amavis-lab/setup.sh)' };
    const pairs = context.options.releasePairs;
    const connection = await openDatabase(
      { kind: 'url', dialect: context.dialect, url, display: 'amavis lab' },
      'bench-release',
    );
    try {
      const store = { connection, t: amavisTables(context.dialect) };
      const quarantined = [];
      for (let at = 0; at < pairs; at += PER_MESSAGE) {
        const count = Math.min(PER_MESSAGE, pairs - at);
        const recipients = Array.from({ length: count }, (_, i) => `bench-release-${at + i}@example.test`);
        quarantined.push({
          q: await quarantineGtube(instance, store, { recipients, label: 'bench release' }),
          recipients,
        });
      }

      const viewer = await context.viewer(context.accounts.superadmin);
      const settings = {
        ...viewer.settings,
        amPdpMode: 'inet' as const,
        amPdpHost: pdpHost,
        amPdpPort: Number(pdpPort),
      };
      const endpoint = pdpRoutingFromSettings(settings).default;

      // the lower bound: one session, one request per pair, nothing else
      const rawTimes: number[] = [];
      const raw0 = performance.now();
      const session = await AmPdpSession.open(endpoint);
      let rawFailed = 0;
      try {
        for (const { q, recipients } of quarantined) {
          for (const recipient of recipients) {
            const t0 = performance.now();
            const outcome = await session.release({
              mailId: q.mailId,
              secretId: q.secretId,
              partitionTag: q.partitionTag,
              quarType: q.quarType,
              recipients: [recipient],
            });
            rawTimes.push(performance.now() - t0);
            if (!outcome.ok) rawFailed++;
          }
        }
      } finally {
        await session.close();
      }
      const rawMs = performance.now() - raw0;

      const keys = quarantined.flatMap(({ q, recipients }) =>
        recipients.map((_, i) => ({ partitionTag: q.partitionTag, mailId: q.mailId, rseqnum: i + 1 })),
      );
      const console0 = performance.now();
      const results = await releaseMessages(
        {
          stores: {
            amavis: store,
            console: context.consoleStore,
            amavisCreated: false,
            close: async () => {},
          },
          viewer: { actor: viewer.actor, settings },
          mailer: createMailer(null, createLogger('silent')),
          client: { ip: '127.0.0.1', userAgent: 'npm run bench' },
        },
        keys,
      );
      const consoleMs = performance.now() - console0;
      const released = results.filter((r) => r.outcome === 'released').length;
      return {
        pairs,
        endpoint: `${pdpHost}:${pdpPort}`,
        raw: { ...summarise(rawTimes), totalMs: Math.round(rawMs), failed: rawFailed },
        console: { totalMs: Math.round(consoleMs), released, failed: results.length - released },
        perPairMs: Math.round((consoleMs / pairs) * 10) / 10,
        ratio: ratio(consoleMs, rawMs),
        firstFailure: results.find((r) => r.outcome !== 'released')?.message ?? null,
      };
    } finally {
      await connection.close();
    }
  },
};
