// One-click action tokens for digest mails: signed (HMAC-SHA256 with a key the console generates once and
// keeps in console_settings), expiring, single use, and scoped to one (message, recipient, action). The
// database keeps only the token's id and scope; the signature exists only in the link, so a leaked table
// yields no usable link, and a link whose scope was altered fails the signature.
import { createHmac, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, lt, or } from 'drizzle-orm';
import { constantTimeEqual } from '../../access/secrets.ts';
import { changedRows } from '../../db/database.ts';
import type { ConsoleStore } from '../../db/stores.ts';
import type { EntryKey } from '../quarantine/quarantine.service.ts';

export const TOKEN_ACTIONS = ['release', 'request', 'delete', 'allow-sender', 'block-sender'] as const;
export type TokenAction = (typeof TOKEN_ACTIONS)[number];

/** How long a digest's links work. */
export const TOKEN_TTL_MS = 7 * 24 * 3600_000;

/** A console_settings row that is not one of the settings (getSettings ignores unknown keys). */
const KEY_ROW = 'actionTokenKey';

const keys = new WeakMap<ConsoleStore, Promise<Buffer>>();

async function readKey(store: ConsoleStore): Promise<Buffer | null> {
  const t = store.t.settingsTable;
  const [row] = await store.connection.db.select().from(t).where(eq(t.key, KEY_ROW));
  if (!row) return null;
  const stored = typeof row.value === 'string' ? JSON.parse(row.value) : row.value;
  const text = (stored as { v?: unknown } | null)?.v;
  return typeof text === 'string' && text.length >= 43 ? Buffer.from(text, 'base64url') : null;
}

/** The signing key: created by whichever replica needs it first; the primary key makes that race safe. */
export function actionTokenKey(store: ConsoleStore): Promise<Buffer> {
  let key = keys.get(store);
  if (!key) {
    key = (async () => {
      const existing = await readKey(store);
      if (existing) return existing;
      try {
        await store.connection.db.insert(store.t.settingsTable).values({
          key: KEY_ROW,
          value: { v: randomBytes(32).toString('base64url') },
          updatedAt: new Date(),
        });
      } catch {
        // another replica inserted it first: read theirs
      }
      const created = await readKey(store);
      if (!created) throw new Error('could not create the action token key');
      return created;
    })();
    key.catch(() => keys.delete(store));
    keys.set(store, key);
  }
  return key;
}

export interface TokenScope extends EntryKey {
  accountId: number;
  recipient: string;
  action: TokenAction;
}

function signature(key: Buffer, id: string, scope: TokenScope, expiresAt: Date): string {
  const payload = [
    id,
    scope.accountId,
    scope.action,
    scope.partitionTag,
    scope.mailId,
    scope.rseqnum,
    scope.recipient,
    Math.floor(expiresAt.getTime() / 1000),
  ].join('\n');
  return createHmac('sha256', key).update(payload, 'utf8').digest('base64url');
}

/** Creates the tokens for a digest; returns the link secrets in the same order. */
export async function issueActionTokens(
  store: ConsoleStore,
  scopes: readonly TokenScope[],
  now = new Date(),
): Promise<string[]> {
  if (scopes.length === 0) return [];
  const key = await actionTokenKey(store);
  // whole seconds: what both databases store exactly
  const expiresAt = new Date(Math.floor((now.getTime() + TOKEN_TTL_MS) / 1000) * 1000);
  const rows = scopes.map((scope) => ({ id: randomBytes(16).toString('base64url'), scope }));
  for (let i = 0; i < rows.length; i += 200) {
    await store.connection.db.insert(store.t.actionTokensTable).values(
      rows.slice(i, i + 200).map(({ id, scope }) => ({
        id,
        accountId: scope.accountId,
        partitionTag: scope.partitionTag,
        mailId: scope.mailId,
        rseqnum: scope.rseqnum,
        recipient: scope.recipient.slice(0, 320),
        action: scope.action,
        createdAt: now,
        expiresAt,
      })),
    );
  }
  return rows.map(({ id, scope }) => `${id}.${signature(key, id, scope, expiresAt)}`);
}

export type ActionTokenRow = ConsoleStore['t']['actionTokensTable']['$inferSelect'];

export type TokenCheck =
  | { state: 'valid'; row: ActionTokenRow; scope: TokenScope }
  | { state: 'used'; row: ActionTokenRow }
  | { state: 'expired'; row: ActionTokenRow }
  /** Malformed, unknown, or a signature that does not match: all look the same to the visitor. */
  | { state: 'invalid' };

const TOKEN_FORMAT = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** Reads a token without changing anything (the confirmation page, and the check before acting). */
export async function checkActionToken(
  store: ConsoleStore,
  token: string,
  now = new Date(),
): Promise<TokenCheck> {
  const match = TOKEN_FORMAT.exec(token);
  if (!match) return { state: 'invalid' };
  const [, id = '', sig = ''] = match;
  const t = store.t.actionTokensTable;
  const [row] = await store.connection.db.select().from(t).where(eq(t.id, id));
  if (!row || row.accountId === null || !(TOKEN_ACTIONS as readonly string[]).includes(row.action)) {
    return { state: 'invalid' };
  }
  const scope: TokenScope = {
    accountId: row.accountId,
    action: row.action as TokenAction,
    partitionTag: row.partitionTag,
    mailId: row.mailId,
    rseqnum: row.rseqnum,
    recipient: row.recipient,
  };
  const key = await actionTokenKey(store);
  if (!constantTimeEqual(signature(key, id, scope, row.expiresAt), sig)) return { state: 'invalid' };
  if (row.usedAt) return { state: 'used', row };
  if (row.expiresAt.getTime() <= now.getTime()) return { state: 'expired', row };
  return { state: 'valid', row, scope };
}

/**
 * Marks a token used, atomically: of two concurrent POSTs exactly one gets true. The caller acts only
 * then, and gives the token back (releaseActionToken) when the action itself could not be done.
 */
export async function claimActionToken(
  store: ConsoleStore,
  id: string,
  ip: string | null,
  now = new Date(),
): Promise<boolean> {
  const t = store.t.actionTokensTable;
  const result = await store.connection.db
    .update(t)
    .set({ usedAt: now, usedIp: ip?.slice(0, 64) ?? null })
    .where(and(eq(t.id, id), isNull(t.usedAt), gt(t.expiresAt, now)));
  return changedRows(result) === 1;
}

/** Gives a claimed token back after a failure that was not the visitor's doing (amavisd unreachable). */
export async function releaseActionToken(store: ConsoleStore, id: string): Promise<void> {
  const t = store.t.actionTokensTable;
  await store.connection.db.update(t).set({ usedAt: null, usedIp: null }).where(eq(t.id, id));
}

/** Deletes tokens that expired (or were used) before `before`: the cleanup job's part. */
export async function pruneActionTokens(store: ConsoleStore, before: Date, dryRun = false): Promise<number> {
  const t = store.t.actionTokensTable;
  const condition = or(lt(t.expiresAt, before), lt(t.usedAt, before));
  if (dryRun) {
    const rows = await store.connection.db.select({ id: t.id }).from(t).where(condition);
    return rows.length;
  }
  return changedRows(await store.connection.db.delete(t).where(condition));
}
