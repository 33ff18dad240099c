// A GraphQL client for tests that behaves like a browser (keeps the session cookie) or a script
// (sends an API token), over real HTTP.
import type { GraphQLResponse } from './test-app.ts';

export interface Client {
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResponse<T>>;
  /** The session cookie's value, as the browser would keep it. */
  session(): string | null;
  setSession(value: string | null): void;
  setToken(value: string | null): void;
  /** Every Set-Cookie header received, for tests that inspect the attributes. */
  setCookies: string[];
  /** GETs a plain HTTP route (downloads) with the same credentials; returns the status. */
  fetchStatus(path: string): Promise<number>;
}

export function createClient(
  baseUrl: string,
  credentials: { token?: string; session?: string } = {},
): Client {
  let session = credentials.session ?? null;
  let token = credentials.token ?? null;
  const setCookies: string[] = [];
  const authHeaders = (): Record<string, string> => ({
    ...(session ? { cookie: `ac_session=${session}` } : {}),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  });
  return {
    setCookies,
    fetchStatus: async (path) => {
      const response = await fetch(`${baseUrl}${path}`, { headers: authHeaders() });
      await response.arrayBuffer();
      return response.status;
    },
    session: () => session,
    setSession: (value) => {
      session = value;
    },
    setToken: (value) => {
      token = value;
    },
    gql: async (query, variables) => {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json',
      };
      if (session) headers.cookie = `ac_session=${session}`;
      if (token) headers.authorization = `Bearer ${token}`;
      const response = await fetch(`${baseUrl}/graphql`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
      });
      for (const cookie of response.headers.getSetCookie()) {
        setCookies.push(cookie);
        const match = /^ac_session=([^;]*)/.exec(cookie);
        if (match) session = match[1] || null;
      }
      return (await response.json()) as never;
    },
  };
}

export function errorCode(response: GraphQLResponse<unknown>): string | undefined {
  return response.errors?.[0]?.extensions?.code as string | undefined;
}

/** A browser-like client that has logged in (throws when the login fails). */
export async function logInAs(baseUrl: string, email: string, password: string): Promise<Client> {
  const client = createClient(baseUrl);
  const response = await client.gql<{ logIn: { __typename: string } }>(
    'mutation($input: LogInInput!) { logIn(input: $input) { __typename } }',
    { input: { email, password } },
  );
  if (response.data?.logIn.__typename !== 'Viewer')
    throw new Error(`login of ${email} failed: ${JSON.stringify(response)}`);
  return client;
}
