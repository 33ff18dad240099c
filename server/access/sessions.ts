import { and, eq, lt, ne } from 'drizzle-orm';
import type { ConsoleStore } from '../db/stores.ts';
import { accessChanged } from './access-cache.ts';
import { newSecret, secretDigest } from './secrets.ts';

export interface NewSession {
  kind: 'account' | 'selfService';
  accountId?: number;
  selfService?: { partitionTag: number; mailId: string; recipient: string };
  ttlMs: number;
  ip?: string | null;
  userAgent?: string | null;
}

/** Stores a session and returns the cookie's secret (only its digest is kept). */
export async function createSession(
  store: ConsoleStore,
  session: NewSession,
  now = new Date(),
): Promise<{ secret: string; id: string; expiresAt: Date }> {
  const secret = newSecret();
  const id = secretDigest(secret);
  const expiresAt = new Date(now.getTime() + session.ttlMs);
  const { db } = store.connection;
  const s = store.t.sessionsTable;
  // Expired sessions go when new ones come, so the table stays small without a job.
  await db.delete(s).where(lt(s.expiresAt, now));
  await db.insert(s).values({
    id,
    kind: session.kind,
    accountId: session.accountId ?? null,
    partitionTag: session.selfService?.partitionTag ?? null,
    mailId: session.selfService?.mailId ?? null,
    recipient: session.selfService?.recipient ?? null,
    createdAt: now,
    lastSeenAt: now,
    expiresAt,
    ip: session.ip?.slice(0, 64) ?? null,
    userAgent: session.userAgent?.slice(0, 255) ?? null,
  });
  return { secret, id, expiresAt };
}

export async function deleteSession(store: ConsoleStore, id: string): Promise<void> {
  await store.connection.db.delete(store.t.sessionsTable).where(eq(store.t.sessionsTable.id, id));
  await accessChanged(store);
}

/** Ends an account's sessions, all but `keep` (the caller's own, after a password change). */
export async function deleteAccountSessions(
  store: ConsoleStore,
  accountId: number,
  keep?: string,
): Promise<void> {
  const s = store.t.sessionsTable;
  await store.connection.db
    .delete(s)
    .where(keep ? and(eq(s.accountId, accountId), ne(s.id, keep)) : eq(s.accountId, accountId));
  await accessChanged(store);
}
