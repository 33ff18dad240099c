// The dashboard's one query: statistics aggregated by the server (quarantineStats) for the caller's scope.
import { graphql } from '$lib/graphql/graphql';

export const QuarantineStatsQuery = graphql(`
  query QuarantineStats($from: DateTime!, $to: DateTime!, $offset: Int!) {
    quarantineStats(from: $from, to: $to, utcOffsetMinutes: $offset) {
      total
      released
      pendingEntries
      days { day total byKind { kind count } }
      byKind { kind count }
      topSenders { sender count }
      topRecipientDomains { domain count }
      scores { min max unscored count }
      requests { pending approved denied expired cancelled }
    }
  }
`);
