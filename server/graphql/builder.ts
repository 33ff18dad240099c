// The Pothos builder and its plugins. It defines no types: features add theirs, schema.ts builds.
import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import { isAdmin, isSuperadmin } from '../access/actor.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { Context } from './context.ts';

/**
 * Coarse gates on fields; row-level access (which messages, which domains) is decided in SQL by the
 * services, from the same actor.
 */
export interface AuthScopes {
  /** Anyone with credentials: an account (session or token) or a self-service link. */
  loggedIn: boolean;
  /** A console account, not a self-service link. */
  account: boolean;
  /** A superadmin or a domain admin. */
  admin: boolean;
  superadmin: boolean;
  /** May change things: not a read-only API token. */
  write: boolean;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string };
  };
}>({
  plugins: [RelayPlugin, ScopeAuthPlugin, ErrorsPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  scopeAuth: {
    authScopes: ({ actor }) => ({
      loggedIn: actor.kind !== 'anonymous',
      account: actor.kind === 'account',
      admin: isAdmin(actor),
      superadmin: isSuperadmin(actor),
      write: actor.kind === 'selfService' || (actor.kind === 'account' && actor.access === 'full'),
    }),
    authorizeOnSubscribe: true,
    unauthorizedError: (_parent, context, info) => {
      // A refused change is worth an audit entry even when no service saw it; refused reads are not
      // (anonymous probes would flood the trail).
      if (info.parentType.name === 'Mutation') {
        recordAudit(context.stores.console, {
          actor: context.actor,
          action: `graphql.${info.fieldName}`,
          outcome: 'denied',
          ip: context.client.ip,
        }).catch((error: unknown) => context.log.error({ err: error }, 'could not audit a refused mutation'));
      }
      return context.actor.kind === 'anonymous'
        ? new GraphQLError('log in first', { extensions: { code: 'UNAUTHENTICATED' } })
        : new GraphQLError('not allowed', { extensions: { code: 'FORBIDDEN' } });
    },
  },
  relay: {
    cursorType: 'String',
    clientMutationId: 'omit',
    // Relay's own types and arguments get descriptions too: a test demands one on every element.
    idFieldOptions: { description: 'A global ID, stable across requests.' },
    nodeQueryOptions: {
      description: 'Fetches any object by its global ID; null when it does not exist or is not visible.',
      args: { id: { description: 'The global ID of the object.' } },
    },
    nodesQueryOptions: {
      description: 'Fetches several objects by their global IDs, in the order asked.',
      args: { ids: { description: 'The global IDs of the objects.' } },
    },
    nodeTypeOptions: { description: 'An object with a global ID.' },
    pageInfoTypeOptions: { description: 'Where a page of a connection stands in the whole list.' },
    hasNextPageFieldOptions: { description: 'Whether more entries follow this page.' },
    hasPreviousPageFieldOptions: { description: 'Whether entries precede this page.' },
    startCursorFieldOptions: { description: 'The cursor of the first entry of this page.' },
    endCursorFieldOptions: { description: 'The cursor of the last entry of this page; pass it as after.' },
    cursorFieldOptions: { description: 'An opaque position in the list, for after or before.' },
    nodeFieldOptions: { description: 'The entry itself.' },
    edgesFieldOptions: { description: 'The entries of this page with their cursors.' },
    pageInfoFieldOptions: { description: 'Where this page stands in the whole list.' },
    firstArgOptions: { description: 'How many entries to return after the after cursor (forward paging).' },
    afterArgOptions: { description: 'Return entries after this cursor.' },
    lastArgOptions: { description: 'How many entries to return before the before cursor (backward paging).' },
    beforeArgOptions: { description: 'Return entries before this cursor.' },
  },
});
