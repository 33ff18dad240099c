// Typed GraphQL documents: gql.tada reads the introspection generated from ../schema.graphql
// (`gql.tada generate output`, run by the build and check scripts), so svelte-check type-checks every query.
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; ID: string };
}>();

export type { FragmentOf, ResultOf, VariablesOf } from 'gql.tada';
export { readFragment } from 'gql.tada';
