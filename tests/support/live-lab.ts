// Making gaps in live event detection without restarting a shared database server: the detector's own
// connections are ended from the server side, as a database restart or a network cut would end them.
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import type { LiveEvents } from '../../server/events/live-events.ts';
import { waitFor } from './amavis-lab.ts';
import { MYSQL_ADMIN_URL, PG_ADMIN_URL } from './services.ts';

/** Waits until this replica holds the detector lease. */
export function waitForLeader(live: LiveEvents): Promise<true> {
  return waitFor('the detector lease', async () => (live.status().leader ? true : null));
}

/**
 * Ends the detector's scanning connection and (on PostgreSQL) its LISTEN connection from the server side.
 * Returns how many connections were ended.
 */
export async function killDetectorConnections(live: LiveEvents, dialect: 'pg' | 'mysql'): Promise<number> {
  const connections = await live.detectorConnections();
  if (!connections) throw new Error('this replica does not detect');
  if (dialect === 'pg') {
    const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
    try {
      const rows = await admin`select pg_terminate_backend(pid) as ended from pg_stat_activity
        where pid = ${connections.scanConnectionId}
           or application_name = ${connections.listenApplicationName ?? '(none)'}`;
      return rows.filter((r) => r.ended).length;
    } finally {
      await admin.end();
    }
  }
  const admin = await mysql.createConnection(MYSQL_ADMIN_URL);
  try {
    await admin.query(`KILL ${Number(connections.scanConnectionId)}`);
    return 1;
  } finally {
    await admin.end();
  }
}

/** Whether a LISTEN connection with this application_name is connected. */
export async function listenerConnected(applicationName: string): Promise<boolean> {
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin`select 1 from pg_stat_activity where application_name = ${applicationName}`;
    return rows.length > 0;
  } finally {
    await admin.end();
  }
}
