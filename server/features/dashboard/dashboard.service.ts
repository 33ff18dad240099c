// Quarantine statistics for the dashboard: what the caller may see in a bounded date range, aggregated
// in the database. Scoping is the listing's: visibleTo(...) on the recipient, deleted entries left out,
// only messages amavisd finished and stored in the SQL quarantine. Every query starts from a range on
// msgs.time_num (indexed by amavisd), so the work grows with the range, never with the whole quarantine;
// the range is at most MAX_RANGE_DAYS long and every list is LIMITed or has a fixed number of groups.
import { and, count, desc, eq, gte, lt, type SQL, sql } from 'drizzle-orm';
import { type Actor, isSuperadmin } from '../../access/actor.ts';
import { reverseDomain } from '../../access/address-matching.ts';
import { decodeOctets } from '../../amavis/address.ts';
import { type ContentKind, describeContent } from '../../amavis/codes.ts';
import { normaliseChar1 } from '../../db/binary.ts';
import type { SqlDb } from '../../db/database.ts';
import type { AmavisStore, ConsoleStore } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';
import { messageScope, rowScope, tableSet } from '../quarantine/quarantine.service.ts';
import { visibleRequests } from '../release/release.service.ts';
import type { Settings } from '../settings/settings.service.ts';

export const DEFAULT_RANGE_DAYS = 30;
export const MAX_RANGE_DAYS = 366;
export const TOP_LIMIT = 10;
/** Score bucket edges: buckets are [edge_i, edge_i+1), plus one below the first and one from the last. */
export const SCORE_EDGES = [0, 2, 5, 8, 10, 15, 20, 30] as const;
const DAY_SECONDS = 86_400;
const MAX_OFFSET_MINUTES = 14 * 60;

export interface StatsViewer {
  actor: Actor;
  settings: Settings;
}

export interface StatsRange {
  from?: Date | null;
  to?: Date | null;
  /** Minutes east of UTC that days are counted in (the viewer's local offset); 0 when omitted. */
  utcOffsetMinutes?: number | null;
}

export interface KindCount {
  kind: ContentKind;
  count: number;
}

export interface DayStats {
  /** The local day (YYYY-MM-DD) in the requested offset. */
  day: string;
  /** When that local day starts. */
  start: Date;
  total: number;
  byKind: KindCount[];
}

export interface SenderCount {
  sender: string;
  count: number;
}

export interface DomainCount {
  domain: string;
  count: number;
}

export interface ScoreBucket {
  /** Inclusive lower bound; null for the lowest bucket and for unscored entries. */
  min: number | null;
  /** Exclusive upper bound; null for the highest bucket and for unscored entries. */
  max: number | null;
  unscored: boolean;
  count: number;
}

export interface RequestCounts {
  pending: number;
  approved: number;
  denied: number;
  expired: number;
  cancelled: number;
}

export interface QuarantineStats {
  from: Date;
  to: Date;
  utcOffsetMinutes: number;
  total: number;
  days: DayStats[];
  byKind: KindCount[];
  topSenders: SenderCount[];
  topRecipientDomains: DomainCount[];
  scores: ScoreBucket[];
  released: number;
  pendingEntries: number;
  requests: RequestCounts;
}

interface CheckedRange {
  from: Date;
  to: Date;
  fromSeconds: number;
  toSeconds: number;
  offsetSeconds: number;
}

function checkRange(range: StatsRange, now: Date): CheckedRange {
  const to = range.to ?? now;
  const from = range.from ?? new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_SECONDS * 1000);
  if (!Number.isFinite(to.getTime())) throw new InputError('to is not a valid date');
  if (!Number.isFinite(from.getTime())) throw new InputError('from is not a valid date');
  if (from.getTime() >= to.getTime()) throw new InputError('from must be before to');
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_SECONDS * 1000) {
    throw new InputError(`the range must be at most ${MAX_RANGE_DAYS} days`);
  }
  const offset = range.utcOffsetMinutes ?? 0;
  if (!Number.isInteger(offset) || Math.abs(offset) > MAX_OFFSET_MINUTES) {
    throw new InputError(
      `utcOffsetMinutes must be a whole number between -${MAX_OFFSET_MINUTES} and ${MAX_OFFSET_MINUTES}`,
    );
  }
  // time_num is whole seconds; the listing's receivedFrom/receivedBefore round the same way.
  return {
    from,
    to,
    fromSeconds: Math.ceil(from.getTime() / 1000),
    toSeconds: Math.ceil(to.getTime() / 1000),
    offsetSeconds: offset * 60,
  };
}

const tables = (store: AmavisStore) => tableSet(store, '');

type Tables = ReturnType<typeof tables>;

/**
 * The listing's scope for one range: visible recipient, not deleted, message done and in the SQL
 * quarantine (a scalar subquery on MariaDB, which otherwise flattens EXISTS into a semi-join that starts
 * from the quarantine table), received in [from, to).
 */
function scope(store: AmavisStore, viewer: StatsViewer, range: CheckedRange, { m, r, rcpt }: Tables) {
  return and(
    gte(m.timeNum, range.fromSeconds),
    lt(m.timeNum, range.toSeconds),
    rowScope(viewer, { m, r, rcpt }),
    messageScope(store, m),
  );
}

/** A CHAR(1) code exactly as stored: MariaDB's columns compare case-insensitively, 'S' and 's' differ. */
function exactCode(store: AmavisStore, column: Tables['r']['content'] | Tables['r']['rs']): SQL {
  return store.connection.dialect === 'pg' ? sql`${column}` : sql`cast(${column} as binary)`;
}

function codeOf(value: unknown): string {
  const text = Buffer.isBuffer(value) ? value.toString('latin1') : value == null ? null : String(value);
  return normaliseChar1(text) ?? ' ';
}

function dayKey(store: AmavisStore, m: Tables['m'], offsetSeconds: number): SQL {
  const shifted = sql`(${m.timeNum} + ${sql.raw(String(offsetSeconds))})`;
  return store.connection.dialect === 'pg'
    ? sql`floor(${shifted} / ${sql.raw(String(DAY_SECONDS))}.0)`
    : sql`floor(${shifted} / ${sql.raw(String(DAY_SECONDS))})`;
}

function addKind(list: KindCount[], kind: ContentKind, n: number): void {
  const existing = list.find((k) => k.kind === kind);
  if (existing) existing.count += n;
  else list.push({ kind, count: n });
}

function isoDay(dayNumber: number): string {
  return new Date(dayNumber * DAY_SECONDS * 1000).toISOString().slice(0, 10);
}

interface Group {
  day: number;
  content: string;
  status: string;
  bucket: number;
  n: number;
}

interface Aggregated {
  /** Entries by (day, content code, status code, score bucket): a few thousand groups at most. */
  groups: Group[];
  senders: { email: Buffer | null; n: number }[];
  domains: { domain: string; n: number }[];
}

const byCountThen =
  <T>(key: (row: T) => string) =>
  (a: T & { n: number }, b: T & { n: number }) =>
    b.n - a.n || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/**
 * The scoped entries of the range aggregated three ways. PostgreSQL reads them once (GROUPING SETS);
 * MariaDB has no grouping sets, so it reads them once per grouping.
 */
async function aggregate(store: AmavisStore, viewer: StatsViewer, range: CheckedRange): Promise<Aggregated> {
  const t = tables(store);
  const { m, r, rcpt, sender } = t;
  const dialect = store.connection.dialect;
  const withRecipient = and(eq(r.partitionTag, m.partitionTag), eq(r.mailId, m.mailId));
  const withAddress = eq(rcpt.id, r.rid);
  const where = scope(store, viewer, range, t);
  const n = count().mapWith(Number);
  const day = dayKey(store, m, range.offsetSeconds);
  const content = exactCode(store, r.content);
  const status = exactCode(store, r.rs);
  const bucket = sql`(case when ${r.bspamLevel} is null then 0 ${sql.join(
    SCORE_EDGES.map(
      (edge, i) => sql`when ${r.bspamLevel} < ${sql.raw(String(edge))} then ${sql.raw(String(i + 1))}`,
    ),
    sql` `,
  )} else ${sql.raw(String(SCORE_EDGES.length + 1))} end)`;
  const group = (row: { day: unknown; content: unknown; status: unknown; bucket: unknown; n: number }) => ({
    day: Number(row.day),
    content: codeOf(row.content),
    status: codeOf(row.status),
    bucket: Number(row.bucket),
    n: row.n,
  });
  const top = <T extends { n: number }>(rows: T[], key: (row: T) => string) =>
    rows.sort(byCountThen(key)).slice(0, TOP_LIMIT);
  const emailKey = (row: { email: Buffer | null }) => (row.email ?? Buffer.alloc(0)).toString('latin1');

  if (dialect === 'pg') {
    const query = (db: SqlDb) =>
      db
        .select({
          set: sql<number>`grouping(${sender.email}, ${rcpt.domain})`.mapWith(Number),
          day: sql`${day}`,
          content,
          status,
          bucket: sql`${bucket}`,
          email: sender.email,
          domain: rcpt.domain,
          n,
        })
        .from(m)
        .innerJoin(r, withRecipient)
        .innerJoin(rcpt, withAddress)
        .leftJoin(sender, eq(sender.id, m.sid))
        .where(where)
        .groupBy(
          sql`grouping sets ((${day}, ${content}, ${status}, ${bucket}), (${sender.email}), (${rcpt.domain}))`,
        );
    // JIT compilation cost more than half a second per statement at 1 M messages and saved nothing.
    const rows = store.connection.embedded
      ? await query(store.connection.db)
      : await store.connection.db.transaction(async (tx) => {
          await tx.execute(sql`set local jit = off`);
          return query(tx);
        });
    // grouping(): a bit set for each of (email, domain) left out of the row's grouping set
    return {
      groups: rows.filter((row) => row.set === 3).map(group),
      senders: top(
        rows.filter((row) => row.set === 1).map((row) => ({ email: row.email, n: row.n })),
        emailKey,
      ),
      domains: top(
        rows.filter((row) => row.set === 2).map((row) => ({ domain: row.domain ?? '', n: row.n })),
        (row) => row.domain,
      ),
    };
  }

  if (!isSuperadmin(viewer.actor)) {
    // MariaDB walks msgs_idx_time_num over every message of the range even when the viewer's recipients
    // are a small part of it (21 s for a domain admin's 30 days at 1 M messages); starting from the
    // recipients' addresses (maddr, then msgrcpt_idx_rid) took 1.2 s. STRAIGHT_JOIN fixes that order.
    const joins = sql`maddr rcpt straight_join msgrcpt r on r.rid = rcpt.id
      straight_join msgs m on m.partition_tag = r.partition_tag and m.mail_id = r.mail_id`;
    const rows = (query: SQL) => store.connection.rows<Record<string, unknown>>(query);
    const [groups, senders, domains] = await Promise.all([
      rows(sql`select straight_join ${day} as day, ${content} as content, ${status} as status,
        ${bucket} as bucket, count(*) as n from ${joins} where ${where} group by 1, 2, 3, 4`),
      rows(sql`select straight_join sender.email as email, count(*) as n from ${joins}
        left join maddr sender on sender.id = m.sid where ${where}
        group by sender.email order by n desc, sender.email limit ${sql.raw(String(TOP_LIMIT))}`),
      rows(sql`select straight_join rcpt.domain as domain, count(*) as n from ${joins} where ${where}
        group by rcpt.domain order by n desc, rcpt.domain limit ${sql.raw(String(TOP_LIMIT))}`),
    ]);
    return {
      groups: groups.map((row) => group({ ...row, n: Number(row.n) } as Parameters<typeof group>[0])),
      senders: senders.map((row) => ({ email: (row.email as Buffer | null) ?? null, n: Number(row.n) })),
      domains: domains.map((row) => ({ domain: String(row.domain ?? ''), n: Number(row.n) })),
    };
  }
  // a superadmin's view is every entry of the range: the walk over msgs_idx_time_num is the right one
  const db = store.connection.db;
  const [groups, senders, domains] = await Promise.all([
    db
      .select({ day: sql`${day}`, content, status, bucket: sql`${bucket}`, n })
      .from(m)
      .innerJoin(r, withRecipient)
      .innerJoin(rcpt, withAddress)
      .where(where)
      .groupBy(day, content, status, bucket),
    db
      .select({ email: sender.email, n })
      .from(m)
      .innerJoin(r, withRecipient)
      .innerJoin(rcpt, withAddress)
      .leftJoin(sender, eq(sender.id, m.sid))
      .where(where)
      .groupBy(sender.email)
      .orderBy(desc(n), sender.email)
      .limit(TOP_LIMIT),
    db
      .select({ domain: rcpt.domain, n })
      .from(m)
      .innerJoin(r, withRecipient)
      .innerJoin(rcpt, withAddress)
      .where(where)
      .groupBy(rcpt.domain)
      .orderBy(desc(n), rcpt.domain)
      .limit(TOP_LIMIT),
  ]);
  return { groups: groups.map(group), senders, domains };
}

export async function quarantineStats(
  amavis: AmavisStore,
  consoleStore: ConsoleStore,
  viewer: StatsViewer,
  range: StatsRange = {},
  now: Date = new Date(),
): Promise<QuarantineStats> {
  const checked = checkRange(range, now);
  const aggregated = aggregate(amavis, viewer, checked);

  const requests = consoleStore.t.releaseRequestsTable;
  const requestQuery = consoleStore.connection.db
    .select({ status: requests.status, n: count().mapWith(Number) })
    .from(requests)
    .where(
      and(
        visibleRequests(viewer.actor, requests),
        gte(requests.createdAt, checked.from),
        lt(requests.createdAt, checked.to),
      ),
    )
    .groupBy(requests.status);

  const [{ groups: byDayRows, senders: senderRows, domains: domainRows }, requestRows] = await Promise.all([
    aggregated,
    requestQuery,
  ]);

  const first = Math.floor((checked.fromSeconds + checked.offsetSeconds) / DAY_SECONDS);
  const last = Math.floor((checked.toSeconds - 1 + checked.offsetSeconds) / DAY_SECONDS);
  const days = new Map<number, DayStats>();
  for (let d = first; d <= last; d += 1) {
    days.set(d, {
      day: isoDay(d),
      start: new Date((d * DAY_SECONDS - checked.offsetSeconds) * 1000),
      total: 0,
      byKind: [],
    });
  }
  const byKind: KindCount[] = [];
  let total = 0;
  let released = 0;
  let pendingEntries = 0;
  for (const row of byDayRows) {
    const kind = describeContent(row.content).kind;
    const code = row.status;
    const stats = days.get(Number(row.day));
    if (stats) {
      stats.total += row.n;
      addKind(stats.byKind, kind, row.n);
    }
    addKind(byKind, kind, row.n);
    total += row.n;
    if (code === 'R') released += row.n;
    if (code === 'p') pendingEntries += row.n;
  }
  const byCount = (a: KindCount, b: KindCount) => b.count - a.count || a.kind.localeCompare(b.kind);
  for (const stats of days.values()) stats.byKind.sort(byCount);
  byKind.sort(byCount);

  const scoreCounts = new Map<number, number>();
  for (const row of byDayRows) scoreCounts.set(row.bucket, (scoreCounts.get(row.bucket) ?? 0) + row.n);
  const scores: ScoreBucket[] = [
    ...Array.from({ length: SCORE_EDGES.length + 1 }, (_, i) => ({
      min: i === 0 ? null : (SCORE_EDGES[i - 1] as number),
      max: i === SCORE_EDGES.length ? null : (SCORE_EDGES[i] as number),
      unscored: false,
      count: scoreCounts.get(i + 1) ?? 0,
    })),
    { min: null, max: null, unscored: true, count: scoreCounts.get(0) ?? 0 },
  ];

  const requestCounts: RequestCounts = { pending: 0, approved: 0, denied: 0, expired: 0, cancelled: 0 };
  for (const row of requestRows) {
    // an approval in progress is still waiting, as far as people are concerned
    const key = row.status === 'approving' ? 'pending' : row.status;
    if (key in requestCounts) requestCounts[key as keyof RequestCounts] += row.n;
  }

  return {
    from: checked.from,
    to: checked.to,
    utcOffsetMinutes: checked.offsetSeconds / 60,
    total,
    days: [...days.values()],
    byKind,
    topSenders: senderRows.map((row) => ({ sender: decodeOctets(row.email), count: row.n })),
    topRecipientDomains: domainRows.map((row) => ({ domain: reverseDomain(row.domain), count: row.n })),
    scores,
    released,
    pendingEntries,
    requests: requestCounts,
  };
}
