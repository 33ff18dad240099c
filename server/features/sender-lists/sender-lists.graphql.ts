import { decodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../graphql/builder.ts';
import { InputError } from '../../input-error.ts';
import { parseEntryKey } from '../quarantine/quarantine.service.ts';
import {
  listSenderEntries,
  removeSenderEntry,
  type SenderAction,
  type SenderEntry,
  type SenderKind,
  type SenderSuggestion,
  type SenderSuggestions,
  setSenderEntry,
  suggestSenderEntries,
} from './sender-lists.service.ts';

const ACCOUNT = { account: true } as const;
const WRITER = { $all: { account: true, write: true } } as const;

const SenderActionEnum = builder.enumType('SenderAction', {
  description: 'What amavisd does with mail from a listed sender (wblist.wb).',
  values: {
    allow: {
      value: 'allow',
      description: 'Always allow (W): delivered even when SpamAssassin calls it spam.',
    },
    block: { value: 'block', description: 'Always block (B): treated as spam whatever its content.' },
    score: {
      value: 'score',
      description:
        "A soft score added to SpamAssassin's: negative helps the mail through, positive pushes it to spam.",
    },
  } as const satisfies Record<SenderAction, unknown>,
});

const SenderKindEnum = builder.enumType('SenderKind', {
  description: 'What a sender pattern covers (mailaddr.email).',
  values: {
    address: { value: 'address', description: 'One address (mailaddr priority 9).' },
    domain: {
      value: 'domain',
      description: '@example.com: every address of exactly this domain (priority 5).',
    },
    subdomains: {
      value: 'subdomains',
      description: '@.example.com: the domain and all its subdomains (priority 1–4, deeper is higher).',
    },
  } as const satisfies Record<SenderKind, unknown>,
});

const SenderListEntryRef = builder.objectRef<SenderEntry>('SenderListEntry').implement({
  description: 'An entry of a sender allow/block list, as amavisd reads it from wblist and mailaddr.',
  fields: (t) => ({
    owner: t.exposeString('owner', { description: "Whose list: an address, '@domain' or '@.' (everyone)." }),
    sender: t.exposeString('sender', { description: 'The sender pattern: an address, @domain or @.domain.' }),
    kind: t.field({ type: SenderKindEnum, description: 'What the pattern covers.', resolve: (e) => e.kind }),
    action: t.field({
      type: SenderActionEnum,
      description: 'Allow, block or a soft score.',
      resolve: (e) => e.action,
    }),
    score: t.exposeFloat('score', { nullable: true, description: 'The soft score, for action score.' }),
    priority: t.exposeInt('priority', {
      description: 'mailaddr.priority: which pattern amavisd tries first.',
    }),
    createdBy: t.exposeString('createdBy', {
      nullable: true,
      description: 'Who added it (null: outside the console).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', nullable: true, description: 'When it was added.' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it goes by itself; null: it stays.',
    }),
  }),
});

builder.queryField('senderList', (t) =>
  t.field({
    type: [SenderListEntryRef],
    description:
      "A sender list: an address's (its admins, its owner), a domain's (its admins) or everyone's '@.' (superadmins).",
    authScopes: ACCOUNT,
    args: { owner: t.arg.string({ description: "An address, '@domain' or '@.'." }) },
    resolve: (_root, { owner }, context) =>
      listSenderEntries(context.stores, context.actor, { owner }, context.client),
  }),
);

const SenderSuggestionRef = builder.objectRef<SenderSuggestion>('SenderSuggestion').implement({
  description: 'An entry "always allow/block this sender" could add, with its impact.',
  fields: (t) => ({
    owner: t.exposeString('owner', { description: "The list: the recipient's address or its '@domain'." }),
    sender: t.exposeString('sender', { description: "The sender's address or @domain." }),
    kind: t.field({ type: SenderKindEnum, description: 'What the pattern covers.', resolve: (s) => s.kind }),
    quarantinedFromSender: t.exposeInt('quarantinedFromSender', {
      description: 'How many quarantined messages from senders it covers the recipient has now.',
    }),
    allowed: t.exposeBoolean('allowed', { description: 'Whether the caller may add it.' }),
  }),
});

const SenderSuggestionsRef = builder.objectRef<SenderSuggestions>('SenderSuggestions').implement({
  description: 'What "always allow/block this sender" offers for one quarantined message.',
  fields: (t) => ({
    recipient: t.exposeString('recipient', { description: 'The recipient of the message.' }),
    envelopeSender: t.exposeString('envelopeSender', { description: 'Its envelope sender.' }),
    suggestions: t.field({
      type: [SenderSuggestionRef],
      description: 'Sender address first, then its domain; for the recipient, then (admins) its domain.',
      resolve: (s) => s.suggestions,
    }),
  }),
});

builder.queryField('senderSuggestions', (t) =>
  t.field({
    type: SenderSuggestionsRef,
    nullable: true,
    description: 'The sender entries a quarantined message suggests; null when the caller cannot see it.',
    authScopes: ACCOUNT,
    args: { messageId: t.arg.id({ description: 'The global ID of a QuarantinedMessage.' }) },
    resolve: (_root, { messageId }, context) => {
      let key = null;
      try {
        const decoded = decodeGlobalID(messageId);
        key = decoded.typename === 'QuarantinedMessage' ? parseEntryKey(decoded.id) : null;
      } catch {
        key = null;
      }
      if (!key) throw new InputError('messageId: not the ID of a quarantined message');
      return suggestSenderEntries(context.stores, context.actor, key);
    },
  }),
);

const SetSenderListEntryInput = builder.inputType('SetSenderListEntryInput', {
  description: 'An entry to add to a sender list (it replaces one for the same sender).',
  fields: (t) => ({
    owner: t.string({
      description: "Whose list: an address, '@domain' (an alias domain means its domain) or '@.'.",
    }),
    sender: t.string({ description: 'An address, @domain or @.domain (the domain and its subdomains).' }),
    action: t.field({ type: SenderActionEnum, description: 'Allow, block or a soft score.' }),
    score: t.float({ required: false, description: 'The soft score (-999…999, not 0), for action score.' }),
    expiresAt: t.field({
      type: 'DateTime',
      required: false,
      description: 'When the entry goes by itself (in the future, at most ten years ahead).',
    }),
  }),
});

const SetSenderListEntryPayload = builder.objectRef<SenderEntry>('SetSenderListEntryPayload').implement({
  description: 'The entry as stored.',
  fields: (t) => ({
    entry: t.field({ type: SenderListEntryRef, description: 'The entry.', resolve: (e) => e }),
  }),
});

builder.mutationField('setSenderListEntry', (t) =>
  t.field({
    type: SetSenderListEntryPayload,
    description: 'Adds or replaces a sender list entry (audited). amavisd uses it from the next message on.',
    authScopes: WRITER,
    args: { input: t.arg({ type: SetSenderListEntryInput, description: 'The entry.' }) },
    resolve: (_root, { input }, context) =>
      setSenderEntry(
        context.stores,
        context.actor,
        {
          owner: input.owner,
          sender: input.sender,
          action: input.action,
          score: input.score ?? null,
          expiresAt: input.expiresAt ?? null,
        },
        context.client,
      ),
  }),
);

const RemoveSenderListEntryInput = builder.inputType('RemoveSenderListEntryInput', {
  description: 'An entry to remove from a sender list.',
  fields: (t) => ({
    owner: t.string({ description: "Whose list: an address, '@domain' or '@.'." }),
    sender: t.string({ description: 'The sender pattern.' }),
  }),
});

const RemoveSenderListEntryPayload = builder
  .objectRef<{ removed: boolean }>('RemoveSenderListEntryPayload')
  .implement({
    description: 'Whether there was such an entry.',
    fields: (t) => ({
      removed: t.exposeBoolean('removed', { description: 'True when an entry was removed.' }),
    }),
  });

builder.mutationField('removeSenderListEntry', (t) =>
  t.field({
    type: RemoveSenderListEntryPayload,
    description: 'Removes a sender list entry (audited); amavisd treats the sender as before.',
    authScopes: WRITER,
    args: { input: t.arg({ type: RemoveSenderListEntryInput, description: 'The entry.' }) },
    resolve: async (_root, { input }, context) => ({
      removed: await removeSenderEntry(context.stores, context.actor, input, context.client),
    }),
  }),
);
