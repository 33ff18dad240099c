// Concurrent load: 50 connections for --load-seconds (30 by default), each sending one request after the
// other, seven in ten a listing page (a superadmin's first page, a type filter, a domain admin's and a
// user's own quarantine, and next pages by cursor) and three in ten a message opened by ID. Reported:
// requests per second, latency percentiles, errors (HTTP or GraphQL), and the console's peak RSS.
import { sampleRss } from '../lib/server.ts';
import { summarise } from '../lib/stats.ts';
import type { BenchCase, BenchContext, CaseResult } from './types.ts';

const CONNECTIONS = 50;

const LIST = `query($after: String, $filter: QuarantineFilter) {
  quarantine(first: 50, after: $after, filter: $filter) {
    edges { node { id mailId recipient envelopeSender subject receivedAt size score
      content { kind } status { kind } } }
    pageInfo { hasNextPage endCursor } } }`;

const OPEN = `query($id: ID!) { message(id: $id) {
  id subject text problems attachments { filename size sha256 } } }`;

interface ListData {
  quarantine: { edges: { node: { id: string } }[]; pageInfo: { endCursor: string | null } };
}

interface Operation {
  account: string;
  filter: Record<string, unknown>;
}

function operations(context: BenchContext): Operation[] {
  const { superadmin, domainAdmin, user } = context.accounts;
  return [
    { account: superadmin, filter: {} },
    { account: superadmin, filter: { contentKinds: ['virus'] } },
    { account: domainAdmin, filter: {} },
    { account: user, filter: {} },
  ];
}

export const loadCase: BenchCase = {
  name: 'load-50',
  run: async (context): Promise<CaseResult> => {
    const seconds = context.options.loadSeconds;
    const ops = operations(context);
    // Messages to open, and cursors to page with, taken from real pages first.
    const admin = await context.client(context.accounts.superadmin);
    const firstPage = await admin.query<ListData>(LIST, { filter: {} });
    const messageIds = firstPage.quarantine.edges.map((e) => e.node.id);
    const cursors = new Map<Operation, string | null>(ops.map((op) => [op, null]));
    if (messageIds.length === 0) return { skipped: 'no quarantined messages to open' };

    const times: number[] = [];
    const errors: string[] = [];
    let lists = 0;
    let opens = 0;
    const deadline = performance.now() + seconds * 1000;
    const worker = async (w: number) => {
      for (let i = w; performance.now() < deadline; i += CONNECTIONS) {
        const t0 = performance.now();
        try {
          if (i % 10 < 7) {
            const op = ops[i % ops.length] as Operation;
            const client = await context.client(op.account);
            // every other listing of an operation goes one page further, back to the first at the end
            const after = i % 2 === 0 ? (cursors.get(op) ?? null) : null;
            const page = await client.query<ListData>(LIST, { after, filter: op.filter });
            cursors.set(op, page.quarantine.pageInfo.endCursor);
            lists++;
          } else {
            const id = messageIds[i % messageIds.length] as string;
            const opened = await admin.query<{ message: unknown }>(OPEN, { id });
            if (!opened.message) throw new Error(`message ${id} not found`);
            opens++;
          }
          times.push(performance.now() - t0);
        } catch (error) {
          errors.push(error instanceof Error ? error.message.slice(0, 200) : String(error));
        }
      }
    };
    const t0 = performance.now();
    const { peakMb, beforeMb } = await sampleRss(
      context.console.pid,
      () => Promise.all(Array.from({ length: CONNECTIONS }, (_, w) => worker(w))),
      50,
    );
    const elapsed = (performance.now() - t0) / 1000;
    return {
      connections: CONNECTIONS,
      seconds: Math.round(elapsed * 10) / 10,
      requests: times.length + errors.length,
      lists,
      opens,
      latency: summarise(times),
      requestsPerSecond: Math.round(((times.length + errors.length) / elapsed) * 10) / 10,
      errors: errors.length,
      firstErrors: [...new Set(errors)].slice(0, 3),
      rssBeforeMb: beforeMb,
      rssPeakMb: peakMb,
    };
  },
};
