import {
  type CodeDescription,
  type ContentKind,
  describeContent,
  describeStatus,
  type StatusKind,
} from '../../amavis/codes.ts';
import { MAX_PAGE_SIZE } from '../../db/paging.ts';
import { builder } from '../../graphql/builder.ts';
import { toConnection } from '../../graphql/connection.ts';
import {
  COUNT_LIMIT,
  countQuarantine,
  DEFAULT_SORT,
  entryKeyString,
  findQuarantineEntries,
  listQuarantine,
  MAX_SEARCH_LENGTH,
  parseEntryKey,
  type QuarantineCount,
  type QuarantineEntry,
  type QuarantineFilter,
  type SortDirection,
  type SortField,
} from './quarantine.service.ts';

const ContentKindEnum = builder.enumType('ContentKind', {
  description: "The family of amavisd's content category code.",
  values: {
    clean: {
      value: 'clean',
      description: 'C: clean mail (quarantined only by an archive or clean quarantine).',
    },
    spam: { value: 'spam', description: 'S: spam above the kill level.' },
    spammy: { value: 'spammy', description: "Y (or 's' before amavisd 2.7): spam above the tag2 level." },
    virus: { value: 'virus', description: 'V: a virus was found.' },
    badHeader: { value: 'badHeader', description: 'H: a malformed header.' },
    badMime: { value: 'badMime', description: 'M: malformed MIME structure.' },
    banned: { value: 'banned', description: 'B: a banned file name or type.' },
    oversized: { value: 'oversized', description: 'O: larger than the size limit.' },
    mtaError: { value: 'mtaError', description: 'T: the MTA reported an error.' },
    unchecked: { value: 'unchecked', description: 'U: could not be checked (e.g. an encrypted archive).' },
    other: { value: 'other', description: "?: amavisd's catch-all category." },
    unknown: { value: 'unknown', description: 'A code this console does not know; see the code field.' },
  } as const satisfies Record<ContentKind, unknown>,
});

const StatusKindEnum = builder.enumType('StatusKind', {
  description: 'Where a quarantined message stands for one recipient (msgrcpt.rs).',
  values: {
    new: { value: 'new', description: 'Not looked at yet (amavisd writes a space).' },
    viewed: { value: 'viewed', description: 'V: the recipient has opened it.' },
    released: { value: 'released', description: 'R: released to the recipient.' },
    pending: { value: 'pending', description: 'p: a release was requested and awaits an admin.' },
    learnedSpam: { value: 'learnedSpam', description: 'S: used to train SpamAssassin as spam.' },
    learnedHam: { value: 'learnedHam', description: 'H: used to train SpamAssassin as not spam.' },
    deleted: { value: 'deleted', description: 'D: deleted for this recipient; the cleanup job removes it.' },
    unknown: { value: 'unknown', description: 'A code this console does not know; see the code field.' },
  } as const satisfies Record<StatusKind, unknown>,
});

const ContentCategoryRef = builder.objectRef<CodeDescription<ContentKind>>('ContentCategory').implement({
  description: "amavisd's verdict for one recipient (msgrcpt.content).",
  fields: (t) => ({
    code: t.exposeString('code', { description: 'The raw one-letter code amavisd wrote.' }),
    kind: t.expose('kind', { type: ContentKindEnum, description: 'What the code means.' }),
    label: t.exposeString('label', { description: 'A short English label for people.' }),
  }),
});

const MessageStatusRef = builder.objectRef<CodeDescription<StatusKind>>('MessageStatus').implement({
  description: 'The release status of a message for one recipient (msgrcpt.rs).',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'The raw one-letter code; a space for new messages.' }),
    kind: t.expose('kind', { type: StatusKindEnum, description: 'What the code means.' }),
    label: t.exposeString('label', { description: 'A short English label for people.' }),
  }),
});

export const QuarantinedMessageRef = builder.loadableNode('QuarantinedMessage', {
  description:
    'A quarantined message as one recipient got it. A message with three recipients is three of these, ' +
    'because every action (view, release, delete) is per recipient.',
  id: {
    description: 'Global ID of this (message, recipient) pair.',
    resolve: (entry: QuarantineEntry) => entryKeyString(entry),
  },
  load: async (ids: string[], context) => {
    const keys = ids.map(parseEntryKey);
    const valid = keys.filter((key) => key !== null);
    const viewer = { actor: context.actor, settings: await context.settings() };
    const found = await findQuarantineEntries(context.stores.amavis, viewer, valid);
    const byKey = new Map(found.filter((e) => e !== null).map((e) => [entryKeyString(e), e]));
    return keys.map((key) => (key ? (byKey.get(entryKeyString(key)) ?? null) : null)) as QuarantineEntry[];
  },
  fields: (t) => ({
    mailId: t.exposeString('mailId', { description: "amavisd's long-term mail id (msgs.mail_id)." }),
    partitionTag: t.exposeInt('partitionTag', { description: "amavisd's partition tag ($partition_tag)." }),
    recipientSequence: t.exposeInt('rseqnum', {
      description: 'The position of this recipient in the message (msgrcpt.rseqnum).',
    }),
    recipient: t.exposeString('recipient', { description: 'The envelope recipient address.' }),
    envelopeSender: t.exposeString('envelopeSender', {
      description: 'The envelope sender (MAIL FROM); an empty string for bounces (<>).',
    }),
    fromHeader: t.exposeString('fromHeader', {
      description: 'The From header as amavisd decoded it; may differ from the envelope sender.',
    }),
    subject: t.exposeString('subject', { description: 'The Subject header as amavisd decoded it.' }),
    receivedAt: t.expose('receivedAt', {
      type: 'DateTime',
      description: 'When amavisd received the message.',
    }),
    size: t.exposeInt('size', { description: 'Size of the message in bytes.' }),
    score: t.exposeFloat('score', {
      nullable: true,
      description: "SpamAssassin's score for this recipient, boosts included; null when not checked.",
    }),
    content: t.field({
      type: ContentCategoryRef,
      description: "amavisd's verdict for this recipient.",
      resolve: (entry) => describeContent(entry.contentCode),
    }),
    status: t.field({
      type: MessageStatusRef,
      description: 'The release status for this recipient.',
      resolve: (entry) => describeStatus(entry.statusCode),
    }),
    releaseRequested: t.boolean({
      description: 'Whether the recipient asked for its release and an admin has not acted yet (status p).',
      resolve: (entry) => entry.statusCode === 'p',
    }),
  }),
});

const QuarantineSortFieldEnum = builder.enumType('QuarantineSortField', {
  description: 'What the quarantine list is ordered by.',
  values: {
    date: { value: 'date', description: 'When amavisd received the message (msgs.time_num).' },
    score: {
      value: 'score',
      description: "The recipient's spam score; entries without a score rank below every score.",
    },
    sender: {
      value: 'sender',
      description: 'The From header, ignoring case, in Unicode code point order.',
    },
    recipient: {
      value: 'recipient',
      description: 'The recipient address, byte for byte as amavisd stored it.',
    },
    subject: { value: 'subject', description: 'The Subject, ignoring case, in Unicode code point order.' },
  } as const satisfies Record<SortField, unknown>,
});

const SortDirectionEnum = builder.enumType('SortDirection', {
  description: 'Ascending or descending order.',
  values: {
    asc: { value: 'asc', description: 'Smallest, oldest or alphabetically first entries first.' },
    desc: { value: 'desc', description: 'Largest, newest or alphabetically last entries first.' },
  } as const satisfies Record<SortDirection, unknown>,
});

const QuarantineSortInput = builder.inputType('QuarantineSort', {
  description:
    'The order of the quarantine list. Entries with equal keys are ordered by (partition tag, mail id, ' +
    'recipient sequence) in the same direction, so paging never skips or repeats an entry.',
  fields: (t) => ({
    field: t.field({ type: QuarantineSortFieldEnum, description: 'The sort key.' }),
    direction: t.field({
      type: SortDirectionEnum,
      required: false,
      description: 'The direction; descending when omitted.',
    }),
  }),
});

const QuarantineFilterInput = builder.inputType('QuarantineFilter', {
  description: 'Conditions on quarantine entries; all given conditions must hold.',
  fields: (t) => ({
    contentKinds: t.field({
      type: [ContentKindEnum],
      required: false,
      description:
        'Only these verdicts (any of them); unknown matches codes this console does not know. Ignored when empty.',
    }),
    statuses: t.field({
      type: [StatusKindEnum],
      required: false,
      description:
        'Only these release statuses (any of them). Deleted entries are never listed. Ignored when empty.',
    }),
    receivedFrom: t.field({
      type: 'DateTime',
      required: false,
      description: 'Only messages received at or after this time.',
    }),
    receivedBefore: t.field({
      type: 'DateTime',
      required: false,
      description: 'Only messages received before this time.',
    }),
    minScore: t.float({
      required: false,
      description: 'Only entries scoring at least this much; entries without a score never match.',
    }),
    maxScore: t.float({
      required: false,
      description: 'Only entries scoring at most this much; entries without a score never match.',
    }),
    recipientDomain: t.string({
      required: false,
      description: 'Only recipients in exactly this domain (not its subdomains); IDN names in either form.',
    }),
    text: t.string({
      required: false,
      description:
        'Only entries whose envelope sender, recipient, From header or Subject contains this text, ignoring ' +
        `case; % and _ match themselves. At most ${MAX_SEARCH_LENGTH} characters.`,
    }),
    pendingRequests: t.boolean({
      required: false,
      description: 'When true, only entries whose release was requested and awaits an admin.',
    }),
  }),
});

const QuarantineCountRef = builder.objectRef<QuarantineCount>('QuarantineCount').implement({
  description: 'How many entries a list holds, counted up to a bound.',
  fields: (t) => ({
    value: t.exposeInt('value', {
      description: 'The number of entries; a lower bound when exact is false.',
    }),
    exact: t.exposeBoolean('exact', {
      description: 'False when counting stopped at the bound: the list holds more than value entries.',
    }),
  }),
});

builder.queryType({ description: 'The root of every read.' });

builder.queryField('quarantine', (t) =>
  t.connection(
    {
      type: QuarantinedMessageRef,
      description:
        'Quarantined messages the caller may see, one per (message, recipient), newest first unless sorted ' +
        `otherwise. Pages hold up to ${MAX_PAGE_SIZE} entries (50 by default); pass endCursor as after to ` +
        'read on, with the same filter and sort.',
      args: {
        filter: t.arg({
          type: QuarantineFilterInput,
          required: false,
          description: 'Conditions on the entries; every entry the caller may see when omitted.',
        }),
        sort: t.arg({
          type: QuarantineSortInput,
          required: false,
          description: 'The order; newest first when omitted.',
        }),
      },
      authScopes: { loggedIn: true },
      resolve: async (_root, args, context) => {
        const viewer = { actor: context.actor, settings: await context.settings() };
        const filter: QuarantineFilter = args.filter ?? {};
        const sort = args.sort
          ? { field: args.sort.field, direction: args.sort.direction ?? DEFAULT_SORT.direction }
          : DEFAULT_SORT;
        const page = await listQuarantine(context.stores.amavis, viewer, args, filter, sort);
        return {
          ...toConnection(page, (entry) => entry.cursor),
          count: (upTo: number) => countQuarantine(context.stores.amavis, viewer, filter, upTo),
        };
      },
    },
    {
      description: 'A page of quarantined messages.',
      fields: (t) => ({
        totalCount: t.field({
          type: QuarantineCountRef,
          description:
            'How many entries match the filter, counted only when asked for and only up to upTo; ' +
            'exact is false when there are more.',
          args: {
            upTo: t.arg.int({
              required: false,
              description: `Count at most this many entries (${COUNT_LIMIT} when omitted, at most ${COUNT_LIMIT}).`,
            }),
          },
          resolve: (connection, args) => connection.count(args.upTo ?? COUNT_LIMIT),
        }),
      }),
    },
    { description: 'One quarantined message and its cursor.' },
  ),
);
