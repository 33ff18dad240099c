// Reading the audit trail back: newest first, filtered, scoped to what the actor may see, with
// keyset pagination on (at, id). Writing it is server/audit/audit-log.ts.
//
// Reading the audit log is deliberately not itself audited: every page of every list would add a row,
// and the log would mostly record people reading the log.
import { and, asc, desc, eq, gt, gte, inArray, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../../access/actor.ts';
import { ForbiddenError } from '../../access/forbidden-error.ts';
import type { AuditOutcome } from '../../audit/audit-log.ts';
import { escapeLike, likeEscaped } from '../../db/like.ts';
import {
  decodeCursor,
  encodeCursor,
  type Page,
  type PageArgs,
  pageOf,
  pageRequest,
} from '../../db/paging.ts';
import type { ConsoleStore } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';

export const AUDIT_OUTCOMES = ['success', 'denied', 'failure'] as const satisfies readonly AuditOutcome[];

export interface AuditFilter {
  /** Only these actions (exact names); ignored when empty. */
  actions?: readonly string[] | null;
  /** Only actions starting with this text, e.g. "quarantine." or "auth.". */
  actionPrefix?: string | null;
  outcome?: AuditOutcome | null;
  actorAccountId?: number | null;
  /** A case-insensitive substring of the actor label; % and _ match themselves. */
  actorText?: string | null;
  domain?: string | null;
  /** Inclusive. */
  from?: Date | null;
  /** Exclusive. */
  to?: Date | null;
}

export interface AuditLogEntry {
  id: number;
  at: Date;
  actorAccountId: number | null;
  actor: string;
  action: string;
  outcome: AuditOutcome;
  target: string;
  domain: string | null;
  /** The stored detail, parsed (MariaDB hands JSON columns back as text). */
  detail: unknown;
  ip: string | null;
}

const MAX_ACTIONS = 100;

interface Cursor {
  at: number;
  id: number;
}

export function encodeAuditCursor(entry: { at: Date; id: number }): string {
  return encodeCursor([entry.at.getTime(), entry.id]);
}

function decodeAuditCursor(cursor: string): Cursor {
  const [at, id] = decodeCursor(cursor, ['int', 'int'] as const);
  if (id <= 0 || Number.isNaN(new Date(at).getTime())) {
    throw new InputError('invalid cursor: pass a cursor returned by this list');
  }
  return { at, id };
}

function text(value: string | null | undefined, name: string, max: number): string | null {
  const trimmed = value?.trim() ?? '';
  if (trimmed === '') return null;
  if (trimmed.length > max) throw new InputError(`${name} must be at most ${max} characters`);
  return trimmed;
}

/** Which rows the actor may read, as SQL. Throws for callers who may read none. */
function visibleTo(store: ConsoleStore, actor: Actor): SQL | undefined {
  const a = store.t.auditLogTable;
  if (actor.kind !== 'account') throw new ForbiddenError('only console accounts read the audit log');
  if (actor.role === 'superadmin') return undefined;
  const own = eq(a.actorAccountId, actor.accountId);
  if (actor.role === 'domainadmin' && actor.domains.length > 0) {
    return or(own, inArray(a.domain, actor.domains));
  }
  return own;
}

function filterSql(store: ConsoleStore, filter: AuditFilter): SQL[] {
  const a = store.t.auditLogTable;
  const where: SQL[] = [];
  const actions = (filter.actions ?? []).map((action) => action.trim()).filter(Boolean);
  if (actions.length > MAX_ACTIONS) throw new InputError(`at most ${MAX_ACTIONS} actions`);
  if (actions.length > 0) where.push(inArray(a.action, actions));
  const prefix = text(filter.actionPrefix, 'actionPrefix', 64);
  if (prefix) where.push(likeEscaped(a.action, `${escapeLike(prefix)}%`));
  if (filter.outcome) {
    if (!(AUDIT_OUTCOMES as readonly string[]).includes(filter.outcome)) {
      throw new InputError(`outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`);
    }
    where.push(eq(a.outcome, filter.outcome));
  }
  if (filter.actorAccountId !== null && filter.actorAccountId !== undefined) {
    where.push(eq(a.actorAccountId, filter.actorAccountId));
  }
  const actorText = text(filter.actorText, 'actorText', 320);
  if (actorText) {
    // lower() on both sides: MariaDB's comparison follows the column's collation, PostgreSQL's LIKE
    // is always case-sensitive.
    where.push(likeEscaped(sql`lower(${a.actor})`, `%${escapeLike(actorText.toLowerCase())}%`));
  }
  const domain = text(filter.domain, 'domain', 255);
  if (domain) where.push(eq(a.domain, domain.toLowerCase()));
  for (const [name, date] of [
    ['from', filter.from],
    ['to', filter.to],
  ] as const) {
    if (date && Number.isNaN(date.getTime())) throw new InputError(`${name} is not a valid time`);
  }
  if (filter.from && filter.to && filter.from > filter.to) throw new InputError('from must not be after to');
  if (filter.from) where.push(gte(a.at, filter.from));
  if (filter.to) where.push(lt(a.at, filter.to));
  return where;
}

function select(store: ConsoleStore, where: SQL | undefined) {
  const a = store.t.auditLogTable;
  return store.connection.db
    .select({
      id: a.id,
      at: a.at,
      actorAccountId: a.actorAccountId,
      actor: a.actor,
      action: a.action,
      outcome: a.outcome,
      target: a.target,
      domain: a.domain,
      detail: a.detail,
      ip: a.ip,
    })
    .from(a)
    .where(where);
}

type Row = Awaited<ReturnType<ReturnType<typeof select>['execute']>>[number];

function parseDetail(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? null;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function toEntry(row: Row): AuditLogEntry {
  return {
    ...row,
    id: Number(row.id),
    outcome: row.outcome as AuditOutcome,
    target: row.target ?? '',
    detail: parseDetail(row.detail),
  };
}

/**
 * Audit entries newest first, filtered and scoped in SQL: superadmins read everything, domain admins
 * their domains' entries and their own, users their own. Others get a ForbiddenError.
 */
export async function listAuditEntries(
  store: ConsoleStore,
  actor: Actor,
  filter: AuditFilter,
  args: PageArgs,
): Promise<Page<AuditLogEntry>> {
  const a = store.t.auditLogTable;
  const scope = visibleTo(store, actor);
  const request = pageRequest(args, decodeAuditCursor);
  const { cursor, backwards } = request;
  const where = filterSql(store, filter);
  if (scope) where.push(scope);
  if (cursor) {
    // Spelled out rather than as a row value, so both databases use the index on at as a range.
    // recordAudit stores millisecond times, so the cursor's millisecond is exact.
    const at = new Date(cursor.at);
    const keyset = backwards
      ? and(gte(a.at, at), or(gt(a.at, at), gt(a.id, cursor.id)))
      : and(lte(a.at, at), or(lt(a.at, at), lt(a.id, cursor.id)));
    if (keyset) where.push(keyset);
  }
  const order = backwards ? [asc(a.at), asc(a.id)] : [desc(a.at), desc(a.id)];
  const rows = await select(store, and(...where))
    .orderBy(...order)
    .limit(request.limit + 1);
  return pageOf(rows.map(toEntry), request);
}

/** Loads entries by id (for Relay's node field), in the order asked; null where missing or not visible. */
export async function findAuditEntries(
  store: ConsoleStore,
  actor: Actor,
  ids: readonly number[],
): Promise<(AuditLogEntry | null)[]> {
  if (ids.length === 0 || actor.kind !== 'account') return ids.map(() => null);
  const a = store.t.auditLogTable;
  const rows = await select(store, and(inArray(a.id, [...ids]), visibleTo(store, actor)));
  const byId = new Map(rows.map((row) => [Number(row.id), toEntry(row)]));
  return ids.map((id) => byId.get(id) ?? null);
}
