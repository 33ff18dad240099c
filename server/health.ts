import { describeEndpoint, type PdpEndpoint, probeAmPdp } from './amavis/am-pdp.client.ts';
import { pdpRoutingFromSettings } from './amavis/pdp-endpoints.ts';
import type { Connection } from './db/database.ts';
import type { Stores } from './db/stores.ts';
import { learnerConfig } from './features/learning/learning.service.ts';
import type { Settings } from './features/settings/settings.service.ts';
import { probeSpamAssassin } from './mail/spam-learner.ts';
import { VERSION } from './version.ts';

export interface DatabaseHealth {
  reachable: boolean;
  dialect: 'postgresql' | 'mysql';
  embedded: boolean;
  error?: string;
}

export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  databases: { amavis: DatabaseHealth; console: DatabaseHealth };
  /** With /healthz?details=1: amavisd's AM.PDP endpoints and SpamAssassin (they do not set status). */
  services?: ServicesHealth;
}

const PING_TIMEOUT_MS = 2000;

async function probe(connection: Connection): Promise<DatabaseHealth> {
  const base = {
    dialect: connection.dialect === 'pg' ? 'postgresql' : 'mysql',
    embedded: connection.embedded,
  } as const;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      connection.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), PING_TIMEOUT_MS);
      }),
    ]);
    return { ...base, reachable: true };
  } catch (error) {
    // Only a short reason: driver messages can name hosts, never credentials, but keep it terse anyway.
    const reason = error instanceof Error ? ((error as { code?: string }).code ?? error.message) : 'failed';
    return { ...base, reachable: false, error: String(reason).split('\n')[0] };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(stores: Stores): Promise<Health> {
  const [amavis, separateConsole] = await Promise.all([
    probe(stores.amavis.connection),
    stores.console.connection === stores.amavis.connection ? null : probe(stores.console.connection),
  ]);
  const consoleHealth = separateConsole ?? amavis;
  return {
    status: amavis.reachable && consoleHealth.reachable ? 'ok' : 'degraded',
    version: VERSION,
    databases: { amavis, console: consoleHealth },
  };
}

export interface ServiceProbe {
  /** What was probed: an AM.PDP endpoint, or SpamAssassin's sa-learn / spamd. */
  target: string;
  /** For AM.PDP: the msgs.host routed to this endpoint; null for the default endpoint. */
  host: string | null;
  ok: boolean;
  latencyMs: number;
  /** The precise result or error: refused, timeout, permission, amavisd's own answer. */
  detail: string;
}

export interface ServicesHealth {
  amavis: ServiceProbe[];
  spamassassin: ServiceProbe;
}

/** Probes every AM.PDP endpoint the settings name, and SpamAssassin, at once. */
export async function checkServices(settings: Settings): Promise<ServicesHealth> {
  const learner = learnerConfig(settings);
  const spamTarget = learner.mode === 'local' ? 'sa-learn (local)' : `spamd ${learner.host}:${learner.port}`;
  const spamassassin = probeSpamAssassin(learner).then((r) => ({ target: spamTarget, host: null, ...r }));
  let endpoints: { host: string | null; endpoint: PdpEndpoint }[];
  try {
    const routing = pdpRoutingFromSettings(settings);
    endpoints = [
      { host: null, endpoint: routing.default },
      ...[...routing.byHost].map(([host, endpoint]) => ({ host, endpoint })),
    ];
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return {
      amavis: [{ target: 'AM.PDP', host: null, ok: false, latencyMs: 0, detail }],
      spamassassin: await spamassassin,
    };
  }
  const amavis = await Promise.all(
    endpoints.map(async ({ host, endpoint }) => ({
      target: describeEndpoint(endpoint),
      host,
      ...(await probeAmPdp(endpoint, { connectMs: 2000, readMs: 5000 })),
    })),
  );
  return { amavis, spamassassin: await spamassassin };
}
