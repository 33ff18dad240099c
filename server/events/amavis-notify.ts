// PostgreSQL only: a trigger on amavisd's tables that NOTIFYs when a message may have become quarantined
// (msgs.content set, quarantine chunk 1 stored), so the detector scans at once instead of on its next
// poll. The notification carries nothing: PostgreSQL delivers it at commit and folds identical ones of a
// transaction into one, and the scan finds what changed (amavis-scanner.ts). Installed by an explicit
// command (`node server/cli.ts create-live-trigger`, `--drop` to remove), never by the console on its
// own: amavisd's tables are amavisd's. What amavisd pays: one pg_notify per transaction that sets
// content or stores a first chunk.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import type { Connection } from '../db/database.ts';

export const NOTIFY_CHANNEL = 'amavis_console_quarantine';
const FUNCTION_NAME = 'amavis_console_live_notify';
const TRIGGERS = [
  {
    name: 'amavis_console_live_msgs',
    table: 'msgs',
    when: 'AFTER UPDATE OF content ON msgs FOR EACH ROW WHEN (NEW.content IS NOT NULL)',
  },
  {
    name: 'amavis_console_live_quarantine',
    table: 'quarantine',
    when: 'AFTER INSERT ON quarantine FOR EACH ROW WHEN (NEW.chunk_ind = 1)',
  },
] as const;

export function liveTriggerCreateStatements(): string[] {
  return [
    `CREATE OR REPLACE FUNCTION ${FUNCTION_NAME}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${NOTIFY_CHANNEL}', '');
  RETURN NULL;
END
$$`,
    ...TRIGGERS.flatMap((t) => [
      `DROP TRIGGER IF EXISTS ${t.name} ON ${t.table}`,
      `CREATE TRIGGER ${t.name} ${t.when} EXECUTE FUNCTION ${FUNCTION_NAME}()`,
    ]),
  ];
}

export function liveTriggerDropStatements(): string[] {
  return [
    ...TRIGGERS.map((t) => `DROP TRIGGER IF EXISTS ${t.name} ON ${t.table}`),
    `DROP FUNCTION IF EXISTS ${FUNCTION_NAME}()`,
  ];
}

function requirePostgres(connection: Connection): void {
  if (connection.dialect !== 'pg') {
    throw new Error('the live trigger is for PostgreSQL; on MySQL/MariaDB the console polls');
  }
}

/** Installs (or re-installs) the trigger in one transaction. */
export async function createLiveTrigger(connection: Connection): Promise<void> {
  requirePostgres(connection);
  await connection.db.transaction(async (tx) => {
    for (const statement of liveTriggerCreateStatements()) await tx.execute(sql.raw(statement));
  });
}

export async function dropLiveTrigger(connection: Connection): Promise<void> {
  requirePostgres(connection);
  await connection.db.transaction(async (tx) => {
    for (const statement of liveTriggerDropStatements()) await tx.execute(sql.raw(statement));
  });
}

/** Whether both triggers are installed (and enabled) on the amavis tables this connection sees. */
export async function liveTriggerInstalled(connection: Connection): Promise<boolean> {
  if (connection.dialect !== 'pg') return false;
  const [row] = await connection.rows<{ n: unknown }>(sql`select count(*) as n from pg_trigger t
    join pg_class c on c.oid = t.tgrelid
    where t.tgname in (${sql.join(
      TRIGGERS.map((t) => sql`${t.name}`),
      sql`, `,
    )}) and t.tgenabled <> 'D' and pg_catalog.pg_table_is_visible(c.oid)`);
  return Number(row?.n) === TRIGGERS.length;
}

export interface NotifyListener {
  /** application_name of the listening connection (what an operator or a test sees in pg_stat_activity). */
  applicationName: string;
  close(): Promise<void>;
}

/**
 * LISTENs on a dedicated connection. `onWake('listen')` runs on the first connect and on every
 * reconnect (postgres.js reconnects with backoff): the caller scans then, to catch up on the gap.
 */
export async function listenForQuarantine(
  url: string,
  onWake: (why: 'notify' | 'listen') => void,
): Promise<NotifyListener> {
  const applicationName = `amavis-console-live-${randomBytes(4).toString('hex')}`;
  const client = postgres(url, {
    max: 1,
    connect_timeout: 5,
    onnotice: () => {},
    connection: { application_name: applicationName },
  });
  try {
    await client.listen(
      NOTIFY_CHANNEL,
      () => onWake('notify'),
      () => onWake('listen'),
    );
  } catch (error) {
    await client.end({ timeout: 1 }).catch(() => {});
    throw error;
  }
  return { applicationName, close: () => client.end({ timeout: 2 }) };
}
