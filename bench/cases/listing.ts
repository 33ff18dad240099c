// The listing cases of issue 4: the first page, a page 50 deep by cursor, a type filter, a domain admin's
// view of their domain, a user's own quarantine and a text search. Each measures, interleaved round by
// round: GraphQL over HTTP (graphql); the exact SQL the console issues for the page, captured from the
// service and replayed on the same plain connection as the hand-written SQL (consoleSql); the service
// itself, listQuarantine in this process on a connection opened like the console's, its JavaScript and
// drizzle included (service); the hand-written keyset SQL (raw); and `{ __typename }` over the same HTTP
// path, anonymous (floor) and with the case's session (floorSession). modoboa-amavis's query shape runs a
// few times on its own. The service's, the console SQL's, GraphQL's and the raw SQL's rows must be the
// same rows.
import { sql } from 'drizzle-orm';
import { decodeCursor } from '../../server/db/paging.ts';
import {
  listQuarantine,
  type QuarantineFilter,
} from '../../server/features/quarantine/quarantine.service.ts';
import { interleaved, ratio, summarise } from '../lib/stats.ts';
import { type Keyset, modoboaListing, rawListing, type View } from './listing-sql.ts';
import type { BenchCase, BenchContext, CapturedQuery, CaseResult } from './types.ts';

const PAGE = 50;

const PAGE_QUERY = `query($after: String, $filter: QuarantineFilter) {
  quarantine(first: ${PAGE}, after: $after, filter: $filter) {
    edges { cursor node { id mailId partitionTag recipientSequence recipient envelopeSender fromHeader subject
      receivedAt size score content { code kind label } status { code kind label } } }
    pageInfo { hasNextPage endCursor } } }`;

interface PageData {
  quarantine: {
    edges: { node: { mailId: string; partitionTag: number; recipientSequence: number } }[];
    pageInfo: { endCursor: string | null };
  };
}

interface ListingSpec {
  name: string;
  /** Which account reads the list. */
  account: (context: BenchContext) => string;
  view: (context: BenchContext) => View;
  filter: QuarantineFilter;
  /** The page: 1 is the first, 50 is reached by cursor through the 49 before it. */
  depth: number;
  /** Unfiltered pages must beat modoboa-amavis's shape 100-fold, the others 10-fold. */
  modoboaFactor: number;
}

export const TEXT_SEARCH = 'invoice';
export const TYPE_KIND = 'virus';
const TYPE_CODE = 'V';

const SPECS: ListingSpec[] = [
  {
    name: 'list-first-page',
    account: (c) => c.accounts.superadmin,
    view: () => ({ kind: 'all' }),
    filter: {},
    depth: 1,
    modoboaFactor: 100,
  },
  {
    name: 'list-deep-page',
    account: (c) => c.accounts.superadmin,
    view: () => ({ kind: 'all' }),
    filter: {},
    depth: 50,
    modoboaFactor: 100,
  },
  {
    name: 'list-type',
    account: (c) => c.accounts.superadmin,
    view: () => ({ kind: 'type', contentCode: TYPE_CODE }),
    filter: { contentKinds: [TYPE_KIND] },
    depth: 1,
    modoboaFactor: 10,
  },
  {
    // a domain admin's default view: their one domain
    name: 'list-domain',
    account: (c) => c.accounts.domainAdmin,
    view: (c) => ({ kind: 'domain', domain: c.domain, email: c.accounts.domainAdmin }),
    filter: {},
    depth: 1,
    modoboaFactor: 10,
  },
  {
    name: 'list-user',
    account: (c) => c.accounts.user,
    view: (c) => ({ kind: 'user', email: c.accounts.user }),
    filter: {},
    depth: 1,
    modoboaFactor: 10,
  },
  {
    name: 'list-search',
    account: (c) => c.accounts.superadmin,
    view: () => ({ kind: 'text', text: TEXT_SEARCH }),
    filter: { text: TEXT_SEARCH },
    depth: 1,
    modoboaFactor: 10,
  },
];

const keyOf = (partitionTag: unknown, mailId: unknown, rseqnum: unknown) =>
  `${Number(partitionTag)}:${Buffer.isBuffer(mailId) ? mailId.toString('latin1') : String(mailId)}:${Number(rseqnum)}`;

/** The console's own statements for a page, without its periodic check of the accelerator's state. */
function pageStatements(context: BenchContext): CapturedQuery[] {
  return context.captured.filter((q) => !/obj_description|table_comment/.test(q.sql));
}

async function explain(context: BenchContext, statements: CapturedQuery[]): Promise<string[]> {
  const statement = statements.filter((q) => !/^\s*(set|begin|commit)/i.test(q.sql)).at(-1);
  if (!statement) return [];
  const { connection } = context.store;
  const text =
    connection.dialect === 'pg'
      ? `explain (analyze, buffers) ${statement.sql}`
      : `analyze format=json ${statement.sql}`;
  if (connection.dialect === 'pg') {
    const rows = await context.raw.query(text, statement.params);
    return rows.map((row) => String(row['QUERY PLAN']));
  }
  const rows = await context.raw.query(text, statement.params);
  return [String(Object.values(rows[0] ?? {})[0] ?? '')];
}

function listingCase(spec: ListingSpec): BenchCase {
  return {
    name: spec.name,
    run: async (context): Promise<CaseResult> => {
      const { options, dialect, setup } = context;
      const email = spec.account(context);
      const client = await context.client(email);
      const viewer = await context.viewer(email);
      const view = spec.view(context);
      // the cursor of page `depth`, reached the way a client would
      let after: string | null = null;
      for (let page = 1; page < spec.depth; page++) {
        const listed = await listQuarantine(context.store, viewer, { first: PAGE, after }, spec.filter);
        after = listed.items.at(-1)?.cursor ?? null;
        if (!listed.hasNextPage) throw new Error(`${spec.name}: fewer than ${spec.depth} pages`);
      }
      let keyset: Keyset | null = null;
      if (after) {
        const [timeNum, partitionTag, mailId, rseqnum] = decodeCursor(after, [
          'int',
          'int',
          'string',
          'int',
        ] as const);
        keyset = { timeNum, partitionTag, mailId: Buffer.from(mailId, 'latin1'), rseqnum };
      }
      const raw = rawListing(dialect, setup, view, keyset, PAGE + 1);
      if (dialect === 'pg' && setup !== 'accelerated') {
        // the plain query, like the console's, without parallel workers (see quarantine.service.ts)
        await context.raw.query('set max_parallel_workers_per_gather = 0');
      }

      // the same rows three ways
      context.captured.length = 0;
      const listed = await listQuarantine(context.store, viewer, { first: PAGE, after }, spec.filter);
      const serviceKeys = listed.items.map((e) => keyOf(e.partitionTag, e.mailId, e.rseqnum));
      const consoleStatements = pageStatements(context);
      const replay = async () => {
        let rows: Record<string, unknown>[] = [];
        for (const statement of consoleStatements)
          rows = await context.raw.query(statement.sql, statement.params);
        return rows;
      };
      const consoleKeys = (await replay())
        .slice(0, PAGE)
        .map((row) => keyOf(row.partition_tag, row.mail_id, row.rseqnum));
      const rawKeys = (await context.raw.query(raw.text, raw.params))
        .slice(0, PAGE)
        .map((row) => keyOf(row.partition_tag, row.mail_id, row.rseqnum));
      const viaApi = await client.query<PageData>(PAGE_QUERY, { after, filter: spec.filter });
      const apiKeys = viaApi.quarantine.edges.map((e) =>
        keyOf(e.node.partitionTag, e.node.mailId, e.node.recipientSequence),
      );
      const same = (keys: string[]) => JSON.stringify(keys) === JSON.stringify(serviceKeys);
      const sameRows = serviceKeys.length > 0 && same(consoleKeys) && same(rawKeys) && same(apiKeys);
      const plan = options.explain ? await explain(context, consoleStatements) : undefined;
      const statements = consoleStatements.map((q) => q.sql.replace(/\s+/g, ' ').trim());

      const timings = await interleaved(
        {
          graphql: () => client.query(PAGE_QUERY, { after, filter: spec.filter }),
          consoleSql: replay,
          service: () => listQuarantine(context.store, viewer, { first: PAGE, after }, spec.filter),
          raw: () => context.raw.query(raw.text, raw.params),
          floor: () => context.anonymous.query('{ __typename }'),
          floorSession: () => client.query('{ __typename }'),
        },
        options.requests,
        options.warmup,
      );

      // modoboa-amavis: few runs, each the count (every row) then the page (OFFSET)
      const shape = modoboaListing(dialect, view, { offset: (spec.depth - 1) * PAGE, limit: PAGE });
      const totals: number[] = [];
      const counts: number[] = [];
      let timedOut = false;
      let rowsCounted = 0;
      const deadline = options.modoboaTimeoutMs;
      for (let run = 0; run < options.modoboaRuns && !timedOut; run++) {
        const count = await context.raw.timed(shape.count.text, shape.count.params, deadline);
        if (count.timedOut) {
          timedOut = true;
          totals.push(count.ms);
          counts.push(count.ms);
          break;
        }
        const page = await context.raw.timed(shape.page.text, shape.page.params, deadline);
        timedOut = page.timedOut;
        rowsCounted = count.rows;
        counts.push(count.ms);
        totals.push(count.ms + page.ms);
        // a slow reference needs no more runs to be known
        if (count.ms + page.ms > 20_000) break;
      }
      const modoboa = {
        runs: totals.length,
        p50: summarise(totals).p50,
        countP50: summarise(counts).p50,
        rowsCounted,
        timedOut,
      };

      const { graphql, consoleSql, service, raw: rawTiming, floor, floorSession } = timings;
      const consoleSqlRatio = ratio(consoleSql.p95, rawTiming.p95);
      const graphqlBound = Math.round((1.5 * rawTiming.p95 + floor.p95) * 1000) / 1000;
      const graphqlBoundSession = Math.round((1.5 * rawTiming.p95 + floorSession.p95) * 1000) / 1000;
      // the reference's count alone against our whole HTTP round trip: the conservative ratio
      const modoboaRatio = ratio(modoboa.countP50, graphql.p50);
      const meets = {
        consoleSql: consoleSqlRatio <= 1.2,
        graphql: graphql.p95 <= graphqlBound,
        graphqlWithSessionFloor: graphql.p95 <= graphqlBoundSession,
        modoboa: modoboaRatio >= spec.modoboaFactor,
        sameRows,
      };
      return {
        account: email,
        filter: spec.filter,
        depth: spec.depth,
        rows: serviceKeys.length,
        graphql,
        consoleSql,
        service,
        raw: rawTiming,
        floor,
        floorSession,
        modoboa,
        consoleSqlRatio,
        serviceRatio: ratio(service.p95, rawTiming.p95),
        graphqlBound,
        graphqlBoundSession,
        modoboaRatio,
        modoboaRatioTotal: ratio(modoboa.p50, graphql.p50),
        modoboaFactor: spec.modoboaFactor,
        // The floor of an operation made with a session is the trivial request made with that session:
        // resolving who is asking is part of every such request, not the console's overhead on a listing.
        // Both bounds are reported (checks.graphql is the anonymous floor's).
        meets: meets.consoleSql && meets.graphqlWithSessionFloor && meets.modoboa && meets.sameRows,
        checks: meets,
        statements,
        ...(plan ? { plan } : {}),
      };
    },
  };
}

export const listingCases: BenchCase[] = SPECS.map(listingCase);

/** For the run's header: how many entries the picked views hold. */
export async function viewSizes(context: BenchContext): Promise<Record<string, number>> {
  const { connection } = context.store;
  const count = async (query: ReturnType<typeof sql>) =>
    Number(Object.values((await connection.rows(query))[0] ?? {})[0]);
  if (context.setup !== 'accelerated') return {};
  const reversedDomain = context.domain.split('.').reverse().join('.');
  return {
    quarantinedEntries: await count(sql`select count(*) from amavis_console_listing`),
    domainEntries: await count(
      sql`select count(*) from amavis_console_listing where domain = ${reversedDomain}`,
    ),
    userEntries: await count(
      sql`select count(*) from amavis_console_listing where email = ${Buffer.from(context.accounts.user)}`,
    ),
  };
}
