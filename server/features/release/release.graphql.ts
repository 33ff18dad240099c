import { decodeGlobalID } from '@pothos/plugin-relay';
import { CONTENT_KINDS, type ContentKind, describeContent } from '../../amavis/codes.ts';
import { MAX_PAGE_SIZE } from '../../db/paging.ts';
import { builder } from '../../graphql/builder.ts';
import { toConnection } from '../../graphql/connection.ts';
import type { Context } from '../../graphql/context.ts';
import { type EntryKey, parseEntryKey } from '../quarantine/quarantine.service.ts';
import {
  RELEASE_PERMISSIONS,
  type ReleasePermission,
  type ReleaseRules,
} from '../settings/settings.service.ts';
import {
  type ActionContext,
  type ActionOutcome,
  type ActionResult,
  approveReleaseRequests,
  deleteMessages,
  denyReleaseRequests,
  encodeRequestCursor,
  findReleaseRequests,
  listReleaseRequests,
  MAX_BATCH,
  type ReleaseRequestRow,
  type RequestStatus,
  releaseMessages,
} from './release.service.ts';
import {
  type DomainOverrides,
  getReleaseRules,
  type ReleaseRulesView,
  setDomainReleaseRules,
  setGlobalReleaseRules,
} from './release-rules.service.ts';

/** Refers to types other features declare, by name (see accounts.graphql.ts on RoleEnum). */
const QuarantinedMessage = 'QuarantinedMessage' as unknown as PothosSchemaTypes.ObjectRef<
  typeof builder.$inferSchemaTypes,
  EntryKey
>;
const ContentKindEnum = 'ContentKind' as unknown as PothosSchemaTypes.EnumRef<
  typeof builder.$inferSchemaTypes,
  ContentKind,
  ContentKind
>;

const WRITER = { $all: { loggedIn: true, write: true } } as const;

export async function actionContext(context: Context): Promise<ActionContext> {
  return {
    stores: context.stores,
    viewer: { actor: context.actor, settings: await context.settings() },
    mailer: context.mailer,
    client: context.client,
  };
}

/** Global IDs of QuarantinedMessage to entry keys; anything else becomes null (reported as not found). */
export function entryKeys(ids: readonly string[]): (EntryKey | null)[] {
  return ids.map((id) => {
    try {
      const { typename, id: key } = decodeGlobalID(id);
      return typename === 'QuarantinedMessage' ? parseEntryKey(key) : null;
    } catch {
      return null;
    }
  });
}

const ActionOutcomeEnum = builder.enumType('ActionOutcome', {
  description: 'What an action did to one (message, recipient) pair or one release request.',
  values: {
    released: { value: 'released', description: 'amavisd confirmed the release (2xx).' },
    requested: { value: 'requested', description: 'A release request now waits for an admin.' },
    alreadyReleased: { value: 'alreadyReleased', description: 'It was released before: nothing was done.' },
    alreadyRequested: {
      value: 'alreadyRequested',
      description: 'A release request was already pending: nothing was done.',
    },
    alreadyDecided: {
      value: 'alreadyDecided',
      description: 'The request was already denied, expired or cancelled: nothing was done.',
    },
    denied: { value: 'denied', description: 'The release request was denied.' },
    deleted: { value: 'deleted', description: 'Deleted for this recipient.' },
    learned: { value: 'learned', description: 'SpamAssassin learned from it.' },
    failed: {
      value: 'failed',
      description:
        'It was allowed but did not work (amavisd or SpamAssassin refused or was unreachable); see message.',
    },
    notFound: { value: 'notFound', description: 'No such message or request, or the caller may not see it.' },
    forbidden: {
      value: 'forbidden',
      description: 'The caller may see it but not do this to it; see message.',
    },
  } as const satisfies Record<ActionOutcome, unknown>,
});

const ActionResultRef = builder.objectRef<ActionResult>('ActionResult').implement({
  description: 'The outcome of an action for one item of the call, in the order the items were given.',
  fields: (t) => ({
    target: t.exposeString('target', {
      description: 'The item: "partition:mail_id:rseqnum" of a message, or "request N".',
    }),
    outcome: t.field({ type: ActionOutcomeEnum, description: 'What happened.', resolve: (r) => r.outcome }),
    message: t.exposeString('message', {
      nullable: true,
      description:
        "Why it failed or was refused, in amavisd's or SpamAssassin's own words where they gave any.",
    }),
    recipient: t.exposeString('recipient', {
      nullable: true,
      description: 'The recipient the item concerns; null when the item was not found.',
    }),
  }),
});

const SUCCESS: readonly ActionOutcome[] = [
  'released',
  'requested',
  'alreadyReleased',
  'alreadyRequested',
  'denied',
  'deleted',
  'learned',
];

export const ActionPayloadRef = builder.objectRef<{ results: ActionResult[] }>('ActionPayload').implement({
  description: 'The per-item results of a bulk action: one failure never stops the others.',
  fields: (t) => ({
    results: t.field({
      type: [ActionResultRef],
      description: 'One result per item, in the order given.',
      resolve: (p) => p.results,
    }),
    succeeded: t.int({
      description: 'How many items ended as asked (including no-ops such as alreadyReleased).',
      resolve: (p) => p.results.filter((r) => SUCCESS.includes(r.outcome)).length,
    }),
    failed: t.int({
      description: 'How many items failed, were refused or were not found.',
      resolve: (p) => p.results.filter((r) => !SUCCESS.includes(r.outcome)).length,
    }),
  }),
});

export const messageIds = (
  t: PothosSchemaTypes.InputFieldBuilder<typeof builder.$inferSchemaTypes, 'InputObject'>,
) =>
  t.idList({
    description: `Global IDs of QuarantinedMessage entries, 1 to ${MAX_BATCH}.`,
  });

const ReleaseMessagesInput = builder.inputType('ReleaseMessagesInput', {
  description: 'Messages to release, each for the recipient its ID names.',
  fields: (t) => ({
    ids: messageIds(t),
    to: t.stringList({
      required: false,
      description:
        'Admins only: deliver to these addresses (1 to 10) instead of the original recipient, whose ' +
        'status then stays as it is.',
    }),
  }),
});

builder.mutationField('releaseMessages', (t) =>
  t.field({
    type: ActionPayloadRef,
    description:
      'Releases quarantined messages through amavisd (AM.PDP). Admins release directly; users release ' +
      'directly, request a release or are refused per verdict (releaseRules, userCanRelease). A message ' +
      "counts as released only once amavisd confirms; its status then becomes 'R'.",
    authScopes: WRITER,
    args: { input: t.arg({ type: ReleaseMessagesInput, description: 'The messages.' }) },
    resolve: async (_root, { input }, context) => ({
      results: await releaseMessages(await actionContext(context), entryKeys(input.ids.map(String)), {
        ...(input.to ? { to: input.to } : {}),
      }),
    }),
  }),
);

const DeleteMessagesInput = builder.inputType('DeleteMessagesInput', {
  description: 'Messages to delete, each for the recipient its ID names.',
  fields: (t) => ({ ids: messageIds(t) }),
});

builder.mutationField('deleteMessages', (t) =>
  t.field({
    type: ActionPayloadRef,
    description:
      "Deletes messages for their recipient only (status 'D'); the cleanup job removes a message once " +
      'every recipient is done with it. Pending release requests for them are cancelled.',
    authScopes: WRITER,
    args: { input: t.arg({ type: DeleteMessagesInput, description: 'The messages.' }) },
    resolve: async (_root, { input }, context) => ({
      results: await deleteMessages(await actionContext(context), entryKeys(input.ids.map(String))),
    }),
  }),
);

// ---------------------------------------------------------------------------------------------------
// Release requests

const RequestStatusEnum = builder.enumType('ReleaseRequestStatus', {
  description: 'Where a release request stands.',
  values: {
    pending: { value: 'pending', description: 'Waiting for an admin.' },
    approving: { value: 'approving', description: 'An admin is releasing it right now.' },
    approved: { value: 'approved', description: 'Approved and released.' },
    denied: { value: 'denied', description: 'Denied by an admin; see reason.' },
    expired: { value: 'expired', description: 'The message left the quarantine before anyone decided.' },
    cancelled: { value: 'cancelled', description: 'The message was deleted before anyone decided.' },
  } as const satisfies Record<RequestStatus, unknown>,
});

function requestId(id: string): number {
  return /^[1-9][0-9]{0,9}$/.test(id) ? Number(id) : -1;
}

const ReleaseRequestRef = builder.loadableNode('ReleaseRequest', {
  description: 'A request to release one quarantined message to one recipient, and its outcome.',
  id: { description: 'Global ID of this request.', resolve: (row: ReleaseRequestRow) => String(row.id) },
  load: async (ids: string[], context) =>
    (await findReleaseRequests(
      context.stores.console,
      context.actor,
      ids.map(requestId),
    )) as ReleaseRequestRow[],
  fields: (t) => ({
    status: t.field({
      type: RequestStatusEnum,
      description: 'Where it stands.',
      resolve: (row) => row.status as RequestStatus,
    }),
    message: t.field({
      type: QuarantinedMessage,
      nullable: true,
      description: 'The quarantined message; null once it is gone or when the caller may not see it.',
      resolve: (row) => ({ partitionTag: row.partitionTag, mailId: row.mailId, rseqnum: row.rseqnum }),
    }),
    recipient: t.exposeString('recipient', { description: 'The recipient the release is for.' }),
    sender: t.exposeString('sender', { description: 'The envelope sender, as when it was requested.' }),
    subject: t.exposeString('subject', { description: 'The subject, as when it was requested.' }),
    contentKind: t.field({
      type: ContentKindEnum,
      description: "amavisd's verdict for the recipient.",
      resolve: (row) => describeContent(row.contentCode).kind,
    }),
    requestedBy: t.exposeString('requestedBy', { description: 'Who asked.' }),
    requestedAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was asked.' }),
    decidedBy: t.exposeString('decidedBy', {
      nullable: true,
      description: 'Who decided; null while pending.',
    }),
    decidedAt: t.expose('decidedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was decided; null while pending.',
    }),
    reason: t.exposeString('reason', {
      nullable: true,
      description: 'Why it was denied, or why the last approval attempt failed.',
    }),
  }),
});

builder.queryField('releaseRequests', (t) =>
  t.connection(
    {
      type: ReleaseRequestRef,
      description:
        'Release requests, newest first: superadmins see all, domain admins those for their domains and ' +
        `their own, users and self-service links their own. Pages hold up to ${MAX_PAGE_SIZE}.`,
      args: {
        statuses: t.arg({
          type: [RequestStatusEnum],
          required: false,
          description: 'Only requests in these states (all when omitted); [pending] is the admin queue.',
        }),
      },
      authScopes: { loggedIn: true },
      resolve: async (_root, args, context) =>
        toConnection(
          await listReleaseRequests(context.stores.console, context.actor, args.statuses ?? [], args),
          encodeRequestCursor,
        ),
    },
    { description: 'A page of release requests.' },
    { description: 'One release request and its cursor.' },
  ),
);

const requestIds = (
  t: PothosSchemaTypes.InputFieldBuilder<typeof builder.$inferSchemaTypes, 'InputObject'>,
) => t.idList({ description: `Global IDs of ReleaseRequest objects, 1 to ${MAX_BATCH}.` });

function requestNumbers(ids: readonly (string | number)[]): number[] {
  return ids.map((id) => {
    try {
      const decoded = decodeGlobalID(String(id));
      return decoded.typename === 'ReleaseRequest' ? requestId(decoded.id) : -1;
    } catch {
      return -1;
    }
  });
}

const ApproveInput = builder.inputType('ApproveReleaseRequestsInput', {
  description: 'Release requests to approve.',
  fields: (t) => ({ ids: requestIds(t) }),
});

builder.mutationField('approveReleaseRequests', (t) =>
  t.field({
    type: ActionPayloadRef,
    description:
      'Approves pending requests: releases each message through amavisd and mails the requester. ' +
      'Approving twice does nothing the second time; a failed release leaves the request pending.',
    authScopes: { $all: { admin: true, write: true } },
    args: { input: t.arg({ type: ApproveInput, description: 'The requests.' }) },
    resolve: async (_root, { input }, context) => ({
      results: await approveReleaseRequests(await actionContext(context), requestNumbers(input.ids)),
    }),
  }),
);

const DenyInput = builder.inputType('DenyReleaseRequestsInput', {
  description: 'Release requests to deny, with the reason the requesters are told.',
  fields: (t) => ({
    ids: requestIds(t),
    reason: t.string({ description: 'Why (1 to 1000 characters); mailed to each requester.' }),
  }),
});

builder.mutationField('denyReleaseRequests', (t) =>
  t.field({
    type: ActionPayloadRef,
    description:
      'Denies pending requests and mails the reason to each requester; the messages stay quarantined.',
    authScopes: { $all: { admin: true, write: true } },
    args: { input: t.arg({ type: DenyInput, description: 'The requests and the reason.' }) },
    resolve: async (_root, { input }, context) => ({
      results: await denyReleaseRequests(
        await actionContext(context),
        requestNumbers(input.ids),
        input.reason,
      ),
    }),
  }),
);

// ---------------------------------------------------------------------------------------------------
// Release rules

const ReleasePermissionEnum = builder.enumType('ReleasePermission', {
  description: 'What users may do with quarantined mail of one verdict (admins always release).',
  values: {
    release: { value: 'release', description: 'Release it themselves (when userCanRelease is on).' },
    request: { value: 'request', description: 'Ask an admin to release it.' },
    none: { value: 'none', description: 'Neither: only an admin can release it.' },
  } as const satisfies Record<ReleasePermission, unknown>,
});

interface KindPermission {
  kind: ContentKind;
  permission: ReleasePermission;
}

const KindPermissionRef = builder.objectRef<KindPermission>('ReleaseRule').implement({
  description: 'What users may do with one verdict.',
  fields: (t) => ({
    kind: t.field({ type: ContentKindEnum, description: 'The verdict.', resolve: (r) => r.kind }),
    permission: t.field({
      type: ReleasePermissionEnum,
      description: 'What users may do with it.',
      resolve: (r) => r.permission,
    }),
  }),
});

const asList = (rules: Partial<ReleaseRules>): KindPermission[] =>
  CONTENT_KINDS.flatMap((kind) => {
    const permission = rules[kind];
    return permission ? [{ kind, permission }] : [];
  });

const ReleaseRulesRef = builder.objectRef<ReleaseRulesView>('ReleaseRules').implement({
  description: "Release rules per verdict: the global ones, a domain's tightenings, and the result.",
  fields: (t) => ({
    domain: t.exposeString('domain', {
      nullable: true,
      description: 'The domain; null for the global rules.',
    }),
    global: t.field({
      type: [KindPermissionRef],
      description: 'The global rules (superadmins set them).',
      resolve: (v) => asList(v.global),
    }),
    overrides: t.field({
      type: [KindPermissionRef],
      description: "The domain's own rules, which may only be stricter than the global ones.",
      resolve: (v) => asList(v.overrides),
    }),
    effective: t.field({
      type: [KindPermissionRef],
      description: "What a user may do, after the domain's rules and userCanRelease.",
      resolve: (v) => asList(v.effective),
    }),
  }),
});

builder.queryField('releaseRules', (t) =>
  t.field({
    type: ReleaseRulesRef,
    description: 'The release rules, globally or for one domain the caller administers.',
    authScopes: { admin: true },
    args: {
      domain: t.arg.string({ required: false, description: 'A domain; the global rules when omitted.' }),
    },
    resolve: async (_root, { domain }, context) =>
      getReleaseRules(context.stores.console, context.actor, await context.settings(), domain ?? null),
  }),
);

const RuleInput = builder.inputType('ReleaseRuleInput', {
  description: 'One verdict and what users may do with it.',
  fields: (t) => ({
    kind: t.field({ type: ContentKindEnum, description: 'The verdict.' }),
    permission: t.field({
      type: ReleasePermissionEnum,
      required: false,
      description: 'What users may do; null (for a domain) follows the global rule again.',
    }),
  }),
});

const SetRulesInput = builder.inputType('SetReleaseRulesInput', {
  description: 'Changes to the release rules; verdicts not named stay as they are.',
  fields: (t) => ({
    domain: t.string({
      required: false,
      description: 'A domain the caller administers; the global rules (superadmins) when omitted.',
    }),
    rules: t.field({ type: [RuleInput], description: 'The verdicts to change.' }),
  }),
});

builder.mutationField('setReleaseRules', (t) =>
  t.field({
    type: ReleaseRulesRef,
    description:
      "Changes the release rules: superadmins the global ones, domain admins their domains' (stricter " +
      'only). Audited.',
    authScopes: { $all: { admin: true, write: true } },
    args: { input: t.arg({ type: SetRulesInput, description: 'The changes.' }) },
    resolve: async (_root, { input }, context) => {
      const settings = await context.settings();
      const changes = Object.fromEntries(input.rules.map((r) => [r.kind, r.permission ?? null]));
      if (input.domain) {
        return setDomainReleaseRules(
          context.stores.console,
          context.actor,
          settings,
          input.domain,
          changes,
          context.client,
        );
      }
      const global: DomainOverrides = {};
      for (const [kind, permission] of Object.entries(changes)) {
        if (permission && RELEASE_PERMISSIONS.includes(permission)) global[kind as ContentKind] = permission;
      }
      return setGlobalReleaseRules(context.stores.console, context.actor, settings, global, context.client);
    },
  }),
);
