import { encodeGlobalID } from '@pothos/plugin-relay';
import type { EventKind } from '../../events/quarantine-events.ts';
import { builder } from '../../graphql/builder.ts';
import type { Context } from '../../graphql/context.ts';
import { QuarantinedMessageRef } from '../quarantine/quarantine.graphql.ts';
import type { QuarantineCount } from '../quarantine/quarantine.service.ts';
import {
  type DeliveredEvent,
  MAX_REPLAY,
  parseSince,
  pendingRequestCounts,
  quarantineEvents,
} from './live.service.ts';

builder.subscriptionType({
  description:
    'Live updates, over graphql-ws (WebSocket) or server-sent events (POST with Accept: text/event-stream).',
});

const EventKindEnum = builder.enumType('QuarantineEventKind', {
  description: 'What happened to a quarantined entry.',
  values: {
    quarantined: { value: 'quarantined', description: 'amavisd quarantined it (new mail).' },
    viewed: { value: 'viewed', description: 'Its recipient opened it for the first time.' },
    released: { value: 'released', description: 'It was released to its recipient.' },
    requested: { value: 'requested', description: 'Its recipient asked for its release.' },
    approved: { value: 'approved', description: 'An admin approved the release request.' },
    denied: { value: 'denied', description: 'An admin denied the release request.' },
    expired: { value: 'expired', description: 'The release request expired.' },
    learned: { value: 'learned', description: 'It was used to train SpamAssassin.' },
    deleted: { value: 'deleted', description: 'It was deleted for its recipient.' },
  } as const satisfies Record<EventKind, unknown>,
});

const QuarantineEventRef = builder.objectRef<DeliveredEvent>('QuarantineEvent').implement({
  description: 'Something that happened to a quarantined entry the subscriber may see.',
  fields: (t) => ({
    cursor: t.string({
      description: 'Where this event stands in the event log: pass it as since to resume after it.',
      resolve: ({ event }) => String(event.id),
    }),
    kind: t.field({ type: EventKindEnum, description: 'What happened.', resolve: ({ event }) => event.kind }),
    at: t.field({
      type: 'DateTime',
      description: 'When the console logged it.',
      resolve: ({ event }) => new Date(event.at),
    }),
    entryId: t.id({
      description: 'The global ID of the entry (a QuarantinedMessage), also when entry is null.',
      resolve: ({ event }) =>
        encodeGlobalID('QuarantinedMessage', `${event.partitionTag}:${event.mailId}:${event.rseqnum}`),
    }),
    recipient: t.string({
      description: 'The recipient of the entry, lowercased.',
      resolve: ({ event }) => event.recipient,
    }),
    statusCode: t.string({
      nullable: true,
      description: 'The status code (msgrcpt.rs) the event set; null for newly quarantined entries.',
      resolve: ({ event }) => event.status,
    }),
    entry: t.field({
      type: QuarantinedMessageRef,
      nullable: true,
      description: 'The entry as it is now; null when the listing no longer shows it (deleted).',
      resolve: ({ entry }) => entry,
    }),
  }),
});

const PendingCountRef = builder.objectRef<QuarantineCount>('PendingRequestCount').implement({
  description: 'How many release requests the admin may act on are pending.',
  fields: (t) => ({
    value: t.exposeInt('value', {
      description: 'The number of pending requests; a lower bound when exact is false.',
    }),
    exact: t.exposeBoolean('exact', { description: 'False when counting stopped at the bound.' }),
  }),
});

const subscriber = (context: Context) => ({
  actor: context.actor,
  reresolveActor: context.reresolveActor,
});

builder.subscriptionField('quarantineEvents', (t) =>
  t.field({
    type: [QuarantineEventRef],
    description:
      'New quarantined entries and status changes (viewed, released, requested, approved, denied, learned, ' +
      'deleted, whoever made them) for exactly the entries the caller may list, in log order; events that ' +
      'happened together (a burst of mail, a bulk action) arrive together in one payload. Ends with an ' +
      'error when the session ends. After a reconnect, pass the cursor of the last event received as since ' +
      `to get what was missed, once (at most ${MAX_REPLAY} events).`,
    args: {
      since: t.arg.string({
        required: false,
        description: 'Resume after this event cursor; only new events when omitted.',
      }),
    },
    authScopes: { loggedIn: true },
    subscribe: (_root, args, context) =>
      quarantineEvents(context, subscriber(context), parseSince(args.since ?? null)),
    resolve: (delivered) => delivered,
  }),
);

builder.subscriptionField('pendingReleaseRequests', (t) =>
  t.field({
    type: PendingCountRef,
    description:
      'For admins: the number of pending release requests they may act on, now and whenever it changes.',
    authScopes: { admin: true },
    subscribe: (_root, _args, context) => pendingRequestCounts(context, subscriber(context)),
    resolve: (count) => count,
  }),
);
