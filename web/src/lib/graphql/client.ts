// The one urql client. No document cache: quarantine data changes under us (amavisd, other admins), so
// every screen asks the server. Queries go as POST with a JSON body: the server refuses GraphQL over GET
// (its CSRF defence), and urql would otherwise put short queries in the URL.
import {
  type AnyVariables,
  Client,
  type CombinedError,
  fetchExchange,
  mapExchange,
  subscriptionExchange,
} from '@urql/core';
import type { TadaDocumentNode } from 'gql.tada';
import { createClient as createWsClient } from 'graphql-ws';

let onUnauthenticated: () => void = () => {};

/** Called when the server says the caller is not logged in (an expired or revoked session). */
export function handleUnauthenticated(callback: () => void): void {
  onUnauthenticated = callback;
}

// Subscriptions (live quarantine events) go over graphql-ws on the same port; the browser sends the
// session cookie with the WebSocket upgrade. lazy: the socket opens with the first subscription only.
const ws = createWsClient({
  url: () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
  lazy: true,
  retryAttempts: 5,
});

export const client = new Client({
  url: '/graphql',
  preferGetMethod: false,
  requestPolicy: 'network-only',
  fetchOptions: { credentials: 'same-origin' },
  exchanges: [
    mapExchange({
      onError(error) {
        if (error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) onUnauthenticated();
      },
    }),
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        const input = { ...request, query: request.query ?? '' };
        return {
          subscribe(sink) {
            return { unsubscribe: ws.subscribe(input, sink) };
          },
        };
      },
    }),
  ],
});

/** A failed request, with the server's message for people. */
export class RequestError extends Error {
  readonly code: string | undefined;
  constructor(error: CombinedError) {
    const first = error.graphQLErrors[0];
    super(first?.message ?? error.networkError?.message ?? error.message);
    this.code = first?.extensions?.code as string | undefined;
  }
}

export async function query<Data, Variables extends AnyVariables>(
  document: TadaDocumentNode<Data, Variables>,
  variables: Variables,
): Promise<Data> {
  const result = await client.query(document, variables).toPromise();
  if (result.error) throw new RequestError(result.error);
  if (!result.data) throw new Error('no data');
  return result.data;
}

export async function mutate<Data, Variables extends AnyVariables>(
  document: TadaDocumentNode<Data, Variables>,
  variables: Variables,
): Promise<Data> {
  const result = await client.mutation(document, variables).toPromise();
  if (result.error) throw new RequestError(result.error);
  if (!result.data) throw new Error('no data');
  return result.data;
}
