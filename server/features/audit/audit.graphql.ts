import type { AuditOutcome } from '../../audit/audit-log.ts';
import { MAX_PAGE_SIZE } from '../../db/paging.ts';
import { builder } from '../../graphql/builder.ts';
import { toConnection } from '../../graphql/connection.ts';
import {
  type AuditLogEntry,
  encodeAuditCursor,
  findAuditEntries,
  listAuditEntries,
} from './audit.service.ts';

const AuditOutcomeEnum = builder.enumType('AuditOutcome', {
  description: 'How an audited attempt ended.',
  values: {
    success: { value: 'success', description: 'It was done.' },
    denied: {
      value: 'denied',
      description: 'The caller was not allowed to do it (or was throttled), so nothing was done.',
    },
    failure: {
      value: 'failure',
      description: 'It was allowed but did not succeed: wrong credentials, or a service it needs failed.',
    },
  } as const satisfies Record<AuditOutcome, unknown>,
});

const AuditEntryRef = builder.loadableNode('AuditEntry', {
  description:
    'One audited event: a login or failed login, a message view, release, request, deletion or learning, ' +
    'a policy, list, account or settings change.',
  id: {
    description: 'Global ID of this entry.',
    resolve: (entry: AuditLogEntry) => String(entry.id),
  },
  load: async (ids: string[], context) => {
    const numbers = ids.map((id) => (/^[1-9]\d{0,15}$/.test(id) ? Number(id) : null));
    const valid = numbers.filter((n) => n !== null);
    const found = await findAuditEntries(context.stores.console, context.actor, valid);
    const byId = new Map(found.filter((e) => e !== null).map((e) => [e.id, e]));
    return numbers.map((n) => (n === null ? null : (byId.get(n) ?? null))) as AuditLogEntry[];
  },
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime', description: 'When it happened.' }),
    actor: t.exposeString('actor', {
      description:
        'Who did it: an account\'s address (with "(token N)" through an API token), a self-service ' +
        'recipient, "anonymous", or the address a failed login claimed.',
    }),
    actorAccountId: t.exposeInt('actorAccountId', {
      nullable: true,
      description:
        'The number of the console account that did it; null for anonymous and self-service callers.',
    }),
    action: t.exposeString('action', {
      description:
        'What was attempted, as feature.verb, e.g. auth.login, quarantine.release, settings.update.',
    }),
    outcome: t.field({
      type: AuditOutcomeEnum,
      description: 'How it ended.',
      resolve: (entry) => entry.outcome,
    }),
    target: t.exposeString('target', {
      description:
        'What it was done to (a message, an address, an account, setting names); empty when nothing.',
    }),
    domain: t.exposeString('domain', {
      nullable: true,
      description: 'The mail domain concerned, whose admins see this entry; null when none.',
    }),
    detail: t.string({
      nullable: true,
      description: 'Further detail as JSON text (credentials are never stored); null when there is none.',
      resolve: (entry) =>
        entry.detail === null || entry.detail === undefined ? null : JSON.stringify(entry.detail),
    }),
    ip: t.exposeString('ip', {
      nullable: true,
      description: "The caller's IP address, when known.",
    }),
  }),
});

const AuditLogFilter = builder.inputType('AuditLogFilter', {
  description: 'Which audit entries to list; every given condition must hold.',
  fields: (t) => ({
    actions: t.stringList({
      required: false,
      description: 'Only these actions (exact names, e.g. auth.login); ignored when empty.',
    }),
    actionPrefix: t.string({
      required: false,
      description: 'Only actions starting with this text, e.g. "quarantine." for every quarantine action.',
    }),
    outcome: t.field({
      type: AuditOutcomeEnum,
      required: false,
      description: 'Only entries with this outcome.',
    }),
    actorAccountId: t.int({ required: false, description: 'Only what this console account did.' }),
    actorText: t.string({
      required: false,
      description: 'Only entries whose actor contains this text, ignoring case; % and _ match themselves.',
    }),
    domain: t.string({ required: false, description: 'Only entries concerning this mail domain.' }),
    from: t.field({ type: 'DateTime', required: false, description: 'Only entries at or after this time.' }),
    to: t.field({ type: 'DateTime', required: false, description: 'Only entries before this time.' }),
  }),
});

builder.queryField('auditLog', (t) =>
  t.connection(
    {
      type: AuditEntryRef,
      description:
        'The audit log, newest first: superadmins see every entry, domain admins the entries of their ' +
        'domains and their own, users their own. ' +
        `Pages hold up to ${MAX_PAGE_SIZE} entries (50 by default); pass endCursor as after to read on.`,
      args: {
        filter: t.arg({
          type: AuditLogFilter,
          required: false,
          description: 'Conditions on the entries; all entries the caller may see when omitted.',
        }),
      },
      authScopes: { account: true },
      resolve: async (_root, args, context) => {
        const page = await listAuditEntries(context.stores.console, context.actor, args.filter ?? {}, args);
        return toConnection(page, encodeAuditCursor);
      },
    },
    { description: 'A page of audit entries.' },
    { description: 'One audit entry and its cursor.' },
  ),
);
