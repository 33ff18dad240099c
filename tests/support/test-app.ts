// Starts the real app (real databases, real HTTP server on a free port) for a test file.
import { type App, createApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { openStores, type Stores } from '../../server/db/stores.ts';
import { createLogger } from '../../server/log.ts';

export interface GraphQLResponse<T> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export interface TestApp {
  url: string;
  app: App;
  stores: Stores;
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Receives every log line (JSON), e.g. to prove no secret is logged. */
  logSink?: (line: string) => void;
}

export async function startTestApp(
  env: Record<string, string>,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const config = loadConfig({
    LOG_LEVEL: options.logSink ? 'trace' : (process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...env,
  });
  const sink = options.logSink;
  const log = createLogger(config.logLevel, sink ? { write: (line: string) => sink(line) } : undefined);
  const stores = await openStores(config, log);
  const app = await createApp({ config, stores, log });
  const address = await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    app,
    stores,
    gql: async (query, variables) => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as never;
    },
    close: async () => {
      await app.close();
      await stores.close();
    },
  };
}
