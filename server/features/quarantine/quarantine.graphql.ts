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
  encodeEntryCursor,
  entryKeyString,
  findQuarantineEntries,
  listQuarantine,
  parseEntryKey,
  type QuarantineEntry,
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
  } satisfies Record<ContentKind, unknown>,
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
  } satisfies Record<StatusKind, unknown>,
});

const ContentCategoryRef = builder.objectRef<CodeDescription<ContentKind>>('ContentCategory').implement({
  description: "amavisd's verdict for one recipient (msgrcpt.content).",
  fields: (t) => ({
    code: t.exposeString('code', { description: 'The raw one-letter code amavisd wrote.' }),
    kind: t.field({ type: ContentKindEnum, description: 'What the code means.', resolve: (c) => c.kind }),
    label: t.exposeString('label', { description: 'A short English label for people.' }),
  }),
});

const MessageStatusRef = builder.objectRef<CodeDescription<StatusKind>>('MessageStatus').implement({
  description: 'The release status of a message for one recipient (msgrcpt.rs).',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'The raw one-letter code; a space for new messages.' }),
    kind: t.field({ type: StatusKindEnum, description: 'What the code means.', resolve: (s) => s.kind }),
    label: t.exposeString('label', { description: 'A short English label for people.' }),
  }),
});

const QuarantinedMessageRef = builder.loadableNode('QuarantinedMessage', {
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
  }),
});

builder.queryType({ description: 'The root of every read.' });

builder.queryField('quarantine', (t) =>
  t.connection(
    {
      type: QuarantinedMessageRef,
      description:
        `Quarantined messages, one per (message, recipient), newest first. Pages hold up to ${MAX_PAGE_SIZE} ` +
        'entries (50 by default); pass endCursor as after to read on.',
      args: {},
      authScopes: { loggedIn: true },
      resolve: async (_root, args, context) => {
        const viewer = { actor: context.actor, settings: await context.settings() };
        return toConnection(await listQuarantine(context.stores.amavis, viewer, args), encodeEntryCursor);
      },
    },
    { description: 'A page of quarantined messages.' },
    { description: 'One quarantined message and its cursor.' },
  ),
);
