// Logging in and out, passwords, API tokens, and the self-service link. Every attempt is audited.
import { createHash } from 'node:crypto';
import { and, count, eq, isNull } from 'drizzle-orm';
import { accessChanged } from '../../access/access-cache.ts';
import { type Actor, ANONYMOUS, isSuperadmin } from '../../access/actor.ts';
import { ForbiddenError } from '../../access/forbidden-error.ts';
import { ImapUnavailableError, imapAuthenticate } from '../../access/imap-auth.ts';
import { burnPasswordCheck, checkNewPassword, hashPassword, verifyPassword } from '../../access/passwords.ts';
import { constantTimeEqual, newSecret, secretDigest, TOKEN_PREFIX } from '../../access/secrets.ts';
import { createSession, deleteAccountSessions, deleteSession } from '../../access/sessions.ts';
import type { Throttles } from '../../access/throttle.ts';
import { recordAudit } from '../../audit/audit-log.ts';
import type { AmavisStore, ConsoleStore } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';
import {
  InvalidCredentialsError,
  InvalidLinkError,
  ServiceUnavailableError,
  TooManyAttemptsError,
} from './auth.errors.ts';

export interface ClientInfo {
  ip?: string | null;
  userAgent?: string | null;
}

export interface AuthOptions {
  sessionTtlMs: number;
  imapUrl?: string | null;
  throttles: Throttles;
}

export interface NewSessionResult {
  secret: string;
  expiresAt: Date;
  accountId: number;
}

function loginName(email: string): string {
  return email.trim().toLowerCase();
}

export async function logIn(
  store: ConsoleStore,
  options: AuthOptions,
  input: { email: string; password: string },
  client: ClientInfo,
): Promise<NewSessionResult> {
  const email = loginName(input.email);
  const attempt = { identity: email, client: client.ip };
  const audit = (
    outcome: 'success' | 'denied' | 'failure',
    detail?: Record<string, unknown>,
    accountId?: number,
  ) =>
    recordAudit(store, {
      actor: ANONYMOUS,
      accountId,
      claimedActor: email.slice(0, 320),
      action: 'auth.login',
      outcome,
      target: email,
      // so the admins of the address's domain see their users' logins
      domain: email.split('@')[1] ?? null,
      detail,
      ip: client.ip,
    });

  const wait = await options.throttles.login.blockedFor(attempt);
  if (wait > 0) {
    await audit('denied', { reason: 'throttled' });
    throw new TooManyAttemptsError(wait);
  }
  const { db } = store.connection;
  const a = store.t.accountsTable;
  const [account] = await db.select().from(a).where(eq(a.email, email));

  let accountId: number | null = null;
  let reason = 'wrong password';
  if (account && account.authSource === 'local' && account.passwordHash) {
    if (await verifyPassword(account.passwordHash, input.password)) accountId = account.id;
  } else if (options.imapUrl && (!account || account.authSource === 'imap')) {
    let accepted = false;
    try {
      accepted = await imapAuthenticate(options.imapUrl, email, input.password);
    } catch (error) {
      if (error instanceof ImapUnavailableError) {
        await audit('failure', { reason: 'imap unavailable' });
        throw new ServiceUnavailableError(
          'the mail server that checks passwords (IMAP) did not answer; try again later',
        );
      }
      throw error;
    }
    if (accepted) accountId = account?.id ?? (await createImapAccount(store, email));
    reason = 'rejected by IMAP';
  } else {
    await burnPasswordCheck(input.password);
    reason = account ? 'no password set' : 'unknown account';
  }
  if (accountId !== null && account?.disabled) {
    accountId = null;
    reason = 'account disabled';
  }
  if (accountId === null) {
    await options.throttles.login.recordFailure(attempt);
    await audit('failure', { reason });
    throw new InvalidCredentialsError();
  }
  await options.throttles.login.reset(attempt);
  const session = await createSession(store, {
    kind: 'account',
    accountId,
    ttlMs: options.sessionTtlMs,
    ip: client.ip,
    userAgent: client.userAgent,
  });
  await db.update(a).set({ lastLoginAt: new Date() }).where(eq(a.id, accountId));
  await audit('success', undefined, accountId);
  return { secret: session.secret, expiresAt: session.expiresAt, accountId };
}

/** The first IMAP login of an address makes it a user owning that address. */
async function createImapAccount(store: ConsoleStore, email: string): Promise<number> {
  const { db } = store.connection;
  const { accountsTable, accountAddressesTable } = store.t;
  const id = await db.transaction(async (tx) => {
    await tx.insert(accountsTable).values({ email, role: 'user', authSource: 'imap', displayName: '' });
    const [created] = await tx
      .select({ id: accountsTable.id })
      .from(accountsTable)
      .where(eq(accountsTable.email, email));
    if (!created) throw new Error(`could not create the account ${email}`);
    await tx.insert(accountAddressesTable).values({ accountId: created.id, address: email, isPrimary: true });
    return created.id;
  });
  // a new address can be a look-alike of another account's (othersAddresses)
  await accessChanged(store);
  return id;
}

export async function logOut(store: ConsoleStore, actor: Actor, client: ClientInfo): Promise<void> {
  if (actor.kind === 'anonymous') return;
  if (actor.kind === 'account' && actor.via === 'token') {
    throw new InputError('an API token has no session to end; revoke the token instead');
  }
  await deleteSession(store, actor.sessionId ?? '');
  await recordAudit(store, { actor, action: 'auth.logout', outcome: 'success', ip: client.ip });
}

function requireAccount(actor: Actor): Extract<Actor, { kind: 'account' }> {
  if (actor.kind !== 'account') throw new ForbiddenError('log in first');
  return actor;
}

function requireWrite(actor: Actor): void {
  if (actor.kind === 'account' && actor.access !== 'full')
    throw new ForbiddenError('this API token is read-only');
}

export async function changePassword(
  store: ConsoleStore,
  actor: Actor,
  input: { currentPassword: string; newPassword: string },
  client: ClientInfo,
): Promise<void> {
  const account = requireAccount(actor);
  requireWrite(actor);
  const { db } = store.connection;
  const a = store.t.accountsTable;
  const [row] = await db.select().from(a).where(eq(a.id, account.accountId));
  if (!row?.passwordHash || row.authSource !== 'local') {
    throw new InputError('this account logs in through IMAP; change the password on the mail server');
  }
  if (!(await verifyPassword(row.passwordHash, input.currentPassword))) {
    await recordAudit(store, { actor, action: 'auth.password.change', outcome: 'failure', ip: client.ip });
    throw new InvalidCredentialsError();
  }
  checkNewPassword(input.newPassword);
  await db
    .update(a)
    .set({ passwordHash: await hashPassword(input.newPassword) })
    .where(eq(a.id, account.accountId));
  // Other browsers logged in with the old password are logged out; this one stays.
  await deleteAccountSessions(store, account.accountId, account.sessionId);
  await recordAudit(store, { actor, action: 'auth.password.change', outcome: 'success', ip: client.ip });
}

export interface ApiTokenRow {
  id: number;
  name: string;
  prefix: string;
  access: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Creates a token for the caller's own account; its secret is returned this once. */
export async function createApiToken(
  store: ConsoleStore,
  actor: Actor,
  input: { name: string; access: 'full' | 'read'; expiresAt?: Date | null },
  client: ClientInfo,
): Promise<{ secret: string; token: ApiTokenRow }> {
  const account = requireAccount(actor);
  requireWrite(actor);
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100) throw new InputError('name: between 1 and 100 characters');
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now())
    throw new InputError('expiresAt: must be in the future');
  const secret = `${TOKEN_PREFIX}${newSecret()}`;
  const { db } = store.connection;
  const t = store.t.apiTokensTable;
  const tokenHash = secretDigest(secret);
  await db.insert(t).values({
    accountId: account.accountId,
    name,
    tokenHash,
    prefix: secret.slice(0, 12),
    access: input.access,
    expiresAt: input.expiresAt ?? null,
  });
  const [token] = await db.select(tokenColumns(store)).from(t).where(eq(t.tokenHash, tokenHash));
  if (!token) throw new Error('the new API token was not stored');
  await recordAudit(store, {
    actor,
    action: 'auth.token.create',
    outcome: 'success',
    target: `token ${token.id} (${name}, ${input.access})`,
    ip: client.ip,
  });
  return { secret, token };
}

function tokenColumns(store: ConsoleStore) {
  const t = store.t.apiTokensTable;
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    access: t.access,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
  };
}

export async function listApiTokens(store: ConsoleStore, actor: Actor): Promise<ApiTokenRow[]> {
  const account = requireAccount(actor);
  const t = store.t.apiTokensTable;
  return store.connection.db
    .select(tokenColumns(store))
    .from(t)
    .where(eq(t.accountId, account.accountId))
    .orderBy(t.id);
}

/** Revokes one of the caller's tokens (superadmins: anyone's). */
export async function revokeApiToken(
  store: ConsoleStore,
  actor: Actor,
  tokenId: number,
  client: ClientInfo,
): Promise<ApiTokenRow> {
  const account = requireAccount(actor);
  requireWrite(actor);
  const { db } = store.connection;
  const t = store.t.apiTokensTable;
  const scope = isSuperadmin(actor)
    ? eq(t.id, tokenId)
    : and(eq(t.id, tokenId), eq(t.accountId, account.accountId));
  const [token] = await db.select(tokenColumns(store)).from(t).where(scope);
  if (!token) {
    await recordAudit(store, {
      actor,
      action: 'auth.token.revoke',
      outcome: 'denied',
      target: `token ${tokenId}`,
      ip: client.ip,
    });
    throw new InputError(`no API token ${tokenId} of yours`);
  }
  if (!token.revokedAt) {
    await db
      .update(t)
      .set({ revokedAt: new Date() })
      .where(and(eq(t.id, tokenId), isNull(t.revokedAt)));
    await accessChanged(store);
  }
  await recordAudit(store, {
    actor,
    action: 'auth.token.revoke',
    outcome: 'success',
    target: `token ${tokenId}`,
    ip: client.ip,
  });
  const [updated] = await db.select(tokenColumns(store)).from(t).where(eq(t.id, tokenId));
  return updated ?? token;
}

/** amavisd's derivation: mail_id = base64url(md5(base64url-decoded secret_id)), cut to its length. */
export function mailIdMatchesSecret(mailId: string, secretId: string): boolean {
  if (!/^[A-Za-z0-9_-]{4,32}$/.test(secretId)) return false;
  const derived = createHash('md5').update(Buffer.from(secretId, 'base64url')).digest('base64url');
  return constantTimeEqual(derived.slice(0, mailId.length), mailId);
}

/**
 * Opens a self-service session for one (message, recipient), from amavisd's notification link. The
 * secret must match both msgs.secret_id and the mail_id derivation; the recipient must be one of the
 * message's recipients. One message for every failure, and failures are throttled.
 */
export async function startSelfService(
  amavis: AmavisStore,
  store: ConsoleStore,
  options: AuthOptions & { enabled: boolean; ttlMs: number },
  input: { mailId: string; secretId: string; recipient: string },
  normaliseRecipient: (address: string) => string,
  client: ClientInfo,
): Promise<{ secret: string; expiresAt: Date }> {
  const attempt = { identity: `${input.mailId}`, client: client.ip };
  const audit = (outcome: 'success' | 'denied' | 'failure', reason?: string, domain?: string) =>
    recordAudit(store, {
      actor: { kind: 'anonymous' },
      claimedActor: `self-service ${input.recipient}`.slice(0, 320),
      action: 'selfService.start',
      outcome,
      target: `${input.mailId} for ${input.recipient}`.slice(0, 400),
      domain,
      detail: reason ? { reason } : undefined,
      ip: client.ip,
    });
  if (!options.enabled) {
    await audit('denied', 'self-service is disabled');
    throw new InvalidLinkError();
  }
  const wait = await options.throttles.selfService.blockedFor(attempt);
  if (wait > 0) {
    await audit('denied', 'throttled');
    throw new TooManyAttemptsError(wait);
  }
  let recipient: string;
  try {
    recipient = normaliseRecipient(input.recipient);
  } catch {
    recipient = '';
  }
  const fail = async (reason: string) => {
    await options.throttles.selfService.recordFailure(attempt);
    await audit('failure', reason);
    return new InvalidLinkError();
  };
  if (!recipient || !/^[A-Za-z0-9][A-Za-z0-9_+-]{2,30}$/.test(input.mailId))
    throw await fail('malformed link');
  const { db } = amavis.connection;
  const { msgsTable: m, msgrcptTable: r, maddrTable: ma } = amavis.t;
  const rows = await db
    .select({ partitionTag: m.partitionTag, secretId: m.secretId })
    .from(m)
    .innerJoin(r, and(eq(r.partitionTag, m.partitionTag), eq(r.mailId, m.mailId)))
    .innerJoin(ma, eq(ma.id, r.rid))
    .where(and(eq(m.mailId, input.mailId), eq(ma.email, Buffer.from(recipient, 'utf8'))));
  const match = rows.find(
    (row) =>
      constantTimeEqual(row.secretId ?? '', input.secretId) &&
      mailIdMatchesSecret(input.mailId, input.secretId),
  );
  if (!match) throw await fail(rows.length === 0 ? 'no such message and recipient' : 'wrong secret');
  await options.throttles.selfService.reset(attempt);
  const session = await createSession(store, {
    kind: 'selfService',
    selfService: { partitionTag: match.partitionTag, mailId: input.mailId, recipient },
    ttlMs: options.ttlMs,
    ip: client.ip,
    userAgent: client.userAgent,
  });
  await audit('success', undefined, recipient.split('@')[1]);
  return { secret: session.secret, expiresAt: session.expiresAt };
}

/** Creates the first superadmin when no account exists yet (ADMIN_EMAIL / ADMIN_PASSWORD, the CLI). */
export async function createSuperadmin(
  store: ConsoleStore,
  input: { email: string; password: string },
  options: { onlyIfNoAccounts: boolean },
): Promise<'created' | 'skipped'> {
  const email = loginName(input.email);
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new InputError(`"${input.email}" is not an email address`);
  checkNewPassword(input.password);
  const { db } = store.connection;
  const { accountsTable, accountAddressesTable } = store.t;
  const passwordHash = await hashPassword(input.password);
  const outcome = await db.transaction(async (tx) => {
    const [{ value: existing } = { value: 0 }] = await tx.select({ value: count() }).from(accountsTable);
    if (options.onlyIfNoAccounts && Number(existing) > 0) return 'skipped' as const;
    const [clash] = await tx
      .select({ id: accountsTable.id })
      .from(accountsTable)
      .where(eq(accountsTable.email, email));
    if (clash) throw new InputError(`an account ${email} already exists`);
    await tx.insert(accountsTable).values({ email, role: 'superadmin', passwordHash, authSource: 'local' });
    const [created] = await tx
      .select({ id: accountsTable.id })
      .from(accountsTable)
      .where(eq(accountsTable.email, email));
    if (created)
      await tx
        .insert(accountAddressesTable)
        .values({ accountId: created.id, address: email, isPrimary: true });
    return 'created' as const;
  });
  if (outcome === 'created') await accessChanged(store);
  return outcome;
}
