import { builder } from '../../graphql/builder.ts';
import {
  type DayStats,
  DEFAULT_RANGE_DAYS,
  type DomainCount,
  type KindCount,
  MAX_RANGE_DAYS,
  type QuarantineStats,
  quarantineStats,
  type RequestCounts,
  SCORE_EDGES,
  type ScoreBucket,
  type SenderCount,
  TOP_LIMIT,
} from './dashboard.service.ts';

const KindCountRef = builder.objectRef<KindCount>('ContentKindCount').implement({
  description: 'How many quarantine entries carry one verdict family.',
  fields: (t) => ({
    kind: t.exposeString('kind', {
      description:
        'The verdict family: a ContentKind value (spam, spammy, virus, banned, badHeader, badMime, ' +
        'oversized, mtaError, unchecked, clean, other or unknown).',
    }),
    count: t.exposeInt('count', { description: 'The number of entries (message, recipient) of this kind.' }),
  }),
});

const DayStatsRef = builder.objectRef<DayStats>('QuarantineDayStats').implement({
  description: 'The entries quarantined on one day of the range, by verdict family.',
  fields: (t) => ({
    day: t.exposeString('day', {
      description: 'The day (YYYY-MM-DD), counted in the requested UTC offset.',
    }),
    start: t.expose('start', { type: 'DateTime', description: 'When this day starts.' }),
    total: t.exposeInt('total', { description: 'Entries quarantined on this day.' }),
    byKind: t.expose('byKind', {
      type: [KindCountRef],
      description: 'The same entries by verdict family, largest first; families with none are left out.',
    }),
  }),
});

const SenderCountRef = builder.objectRef<SenderCount>('SenderCount').implement({
  description: 'One envelope sender and how many quarantine entries it caused.',
  fields: (t) => ({
    sender: t.exposeString('sender', {
      description: 'The envelope sender; an empty string for bounces (<>).',
    }),
    count: t.exposeInt('count', { description: 'The number of entries (message, recipient) from it.' }),
  }),
});

const DomainCountRef = builder.objectRef<DomainCount>('RecipientDomainCount').implement({
  description: 'One recipient domain and how many quarantine entries it received.',
  fields: (t) => ({
    domain: t.exposeString('domain', { description: 'The recipient domain as amavisd stored it.' }),
    count: t.exposeInt('count', { description: 'The number of entries for recipients in it.' }),
  }),
});

const ScoreBucketRef = builder.objectRef<ScoreBucket>('ScoreBucket').implement({
  description: `A range of spam scores (edges ${SCORE_EDGES.join(', ')}) and how many entries scored in it.`,
  fields: (t) => ({
    min: t.exposeFloat('min', {
      nullable: true,
      description: 'The lowest score in the bucket (inclusive); null for the lowest bucket and for unscored.',
    }),
    max: t.exposeFloat('max', {
      nullable: true,
      description:
        'The score the bucket stops below (exclusive); null for the highest bucket and for unscored.',
    }),
    unscored: t.exposeBoolean('unscored', {
      description: 'True for the bucket of entries SpamAssassin did not score (e.g. viruses).',
    }),
    count: t.exposeInt('count', { description: 'The number of entries in the bucket.' }),
  }),
});

const RequestCountsRef = builder.objectRef<RequestCounts>('ReleaseRequestCounts').implement({
  description:
    'Release requests made in the range that the caller may see (admins: their domains; users: their own), by outcome.',
  fields: (t) => ({
    pending: t.exposeInt('pending', { description: 'Still waiting for an admin (or being approved now).' }),
    approved: t.exposeInt('approved', { description: 'Approved and released.' }),
    denied: t.exposeInt('denied', { description: 'Denied by an admin.' }),
    expired: t.exposeInt('expired', { description: 'Expired before anyone decided.' }),
    cancelled: t.exposeInt('cancelled', { description: 'Cancelled, e.g. because the message was deleted.' }),
  }),
});

const QuarantineStatsRef = builder.objectRef<QuarantineStats>('QuarantineStats').implement({
  description:
    'Quarantine statistics over a date range, for exactly the entries the quarantine list would show the ' +
    'caller (same scope, deleted entries left out). Every count is of entries: one per (message, recipient).',
  fields: (t) => ({
    from: t.expose('from', { type: 'DateTime', description: 'The start of the range (inclusive).' }),
    to: t.expose('to', { type: 'DateTime', description: 'The end of the range (exclusive).' }),
    utcOffsetMinutes: t.exposeInt('utcOffsetMinutes', {
      description: 'The UTC offset, in minutes, that days are counted in.',
    }),
    total: t.exposeInt('total', { description: 'Entries received in the range.' }),
    days: t.expose('days', {
      type: [DayStatsRef],
      description: 'Every day the range touches, oldest first, including days with nothing.',
    }),
    byKind: t.expose('byKind', {
      type: [KindCountRef],
      description: 'Entries in the range by verdict family, largest first.',
    }),
    topSenders: t.expose('topSenders', {
      type: [SenderCountRef],
      description: `The ${TOP_LIMIT} envelope senders with the most entries in the range, most first.`,
    }),
    topRecipientDomains: t.expose('topRecipientDomains', {
      type: [DomainCountRef],
      description: `The ${TOP_LIMIT} recipient domains with the most entries in the range, most first.`,
    }),
    scores: t.expose('scores', {
      type: [ScoreBucketRef],
      description: 'Entries in the range by spam score, lowest bucket first, then the unscored ones.',
    }),
    released: t.exposeInt('released', {
      description: 'Entries in the range already released to their recipient (status R).',
    }),
    pendingEntries: t.exposeInt('pendingEntries', {
      description: 'Entries in the range whose release was requested and awaits an admin (status p).',
    }),
    requests: t.expose('requests', {
      type: RequestCountsRef,
      description: 'Release requests made in the range, by outcome.',
    }),
  }),
});

builder.queryField('quarantineStats', (t) =>
  t.field({
    type: QuarantineStatsRef,
    description:
      'Statistics of the quarantine the caller may see, for the dashboard: per day by verdict, top senders ' +
      'and recipient domains, scores, releases and release requests. Aggregated in the database over a ' +
      `range of at most ${MAX_RANGE_DAYS} days; the last ${DEFAULT_RANGE_DAYS} days when omitted.`,
    args: {
      from: t.arg({
        type: 'DateTime',
        required: false,
        description: `The start of the range (inclusive); ${DEFAULT_RANGE_DAYS} days before \`to\` when omitted.`,
      }),
      to: t.arg({
        type: 'DateTime',
        required: false,
        description: 'The end of the range (exclusive); now when omitted.',
      }),
      utcOffsetMinutes: t.arg.int({
        required: false,
        description:
          'Count days in this UTC offset, in minutes east of UTC (e.g. 60 for UTC+1, between -840 and 840); 0 when omitted.',
      }),
    },
    authScopes: { loggedIn: true },
    resolve: async (_root, args, context) =>
      quarantineStats(
        context.stores.amavis,
        context.stores.console,
        { actor: context.actor, settings: await context.settings() },
        { from: args.from, to: args.to, utcOffsetMinutes: args.utcOffsetMinutes },
      ),
  }),
);
