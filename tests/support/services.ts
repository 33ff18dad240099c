// Which real services a test tier needs, and what happens when one is missing: outside CI the tier is
// skipped with a reason; under CI=true a missing service fails the run.
import fs from 'node:fs';
import net from 'node:net';
import { describe } from 'vitest';

export const IN_CI = process.env.CI === 'true';

export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const MYSQL_ADMIN_URL = process.env.TEST_MYSQL_ADMIN_URL ?? 'mysql://root@127.0.0.1:3306/';
export const LAB_STATE_DIR = process.env.STATE_DIR ?? '/tmp/amavis-console-lab';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function hostPort(url: string, defaultPort: number): [string, number] {
  const parsed = new URL(url);
  return [parsed.hostname, Number(parsed.port || defaultPort)];
}

export type LabEnv = Record<string, string>;

/** The amavisd lab's connection details, as tests/amavis-lab/setup.sh wrote them. */
export function readLabEnv(): LabEnv | null {
  const file = `${LAB_STATE_DIR}/lab.json`;
  if (!fs.existsSync(file)) return null;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as LabEnv;
}

export const AMAVIS_DOC_DIR = process.env.AMAVIS_DOC_DIR ?? '/usr/share/doc/amavisd-new';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const probes = {
  chromium: async () => fs.existsSync(CHROMIUM),
  amavisDocs: async () =>
    fs.existsSync(`${AMAVIS_DOC_DIR}/README.sql-pg.gz`) &&
    fs.existsSync(`${AMAVIS_DOC_DIR}/README.sql-mysql.gz`),
  postgresql: () => portOpen(...hostPort(PG_ADMIN_URL, 5432)),
  mariadb: () => portOpen(...hostPort(MYSQL_ADMIN_URL, 3306)),
  redis: () => portOpen(...hostPort(REDIS_URL, 6379)),
  amavisd: async () => {
    const lab = readLabEnv();
    if (!lab?.AMAVIS_LAB_PG_SMTP || !lab.AMAVIS_LAB_MY_SMTP) return false;
    const [pgHost, pgPort] = lab.AMAVIS_LAB_PG_SMTP.split(':');
    const [myHost, myPort] = lab.AMAVIS_LAB_MY_SMTP.split(':');
    return (await portOpen(pgHost ?? '', Number(pgPort))) && (await portOpen(myHost ?? '', Number(myPort)));
  },
  imap: async () => {
    const url = readLabEnv()?.AMAVIS_LAB_IMAP_URL;
    if (!url) return false;
    const [host, port] = hostPort(url, url.startsWith('imaps:') ? 993 : 143);
    return portOpen(host.replace(/^\[(.*)\]$/, '$1'), port);
  },
};

export type Service = keyof typeof probes;

const hints: Record<Service, string> = {
  chromium: `Chromium at ${CHROMIUM} (apt-get install chromium)`,
  amavisDocs: `amavisd-new's documentation in ${AMAVIS_DOC_DIR} (apt-get install amavisd-new)`,
  postgresql: `PostgreSQL at ${PG_ADMIN_URL}`,
  mariadb: `MariaDB at ${MYSQL_ADMIN_URL}`,
  redis: `Redis at ${REDIS_URL}`,
  amavisd: 'the amavisd lab (run: bash tests/amavis-lab/setup.sh)',
  imap: "the amavis lab's Dovecot (AMAVIS_LAB_IMAP_URL; run: bash tests/amavis-lab/setup.sh)",
};

/**
 * describe() for a tier that needs real services. Top-level await keeps the probe before collection,
 * so a skipped tier is reported as skipped with its reason, never silently empty.
 */
export async function describeWith(services: Service[], name: string, body: () => void): Promise<void> {
  const missing: Service[] = [];
  for (const service of services) if (!(await probes[service]())) missing.push(service);
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  const reason = missing.map((s) => hints[s]).join(', ');
  if (IN_CI) {
    describe(name, () => {
      throw new Error(`CI=true but ${reason} is not reachable`);
    });
    return;
  }
  describe.skip(`${name} (skipped: ${reason} not reachable)`, body);
}
