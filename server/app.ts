// Builds the one HTTP server: GraphQL (HTTP, SSE and graphql-ws) at /graphql, /healthz, and the
// SvelteKit app for everything else. Tests create and stop it in-process.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type Plugin } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { closeAccessCache } from './access/access-cache.ts';
import { createThrottles } from './access/throttle.ts';
import type { Config } from './config.ts';
import type { Stores } from './db/stores.ts';
import { createLiveEvents, type LiveEvents } from './events/live-events.ts';
import { ACTION_ROUTE, serveActionRoute } from './features/digests/actions.routes.ts';
import { MESSAGE_ROUTE, serveMessageRoute } from './features/message/message.routes.ts';
import { getSettings } from './features/settings/settings.service.ts';
import { useCompiledQueries } from './graphql/compiled-queries.ts';
import { type Context, createContextFactory, type InitialContext } from './graphql/context.ts';
import { errorCauses, maskError } from './graphql/errors.ts';
import { useSharedSubscriptionEvents } from './graphql/shared-subscription-events.ts';
import { checkHealth, checkServices, type ServicesHealth } from './health.ts';
import type { Logger } from './log.ts';
import { createMailer } from './mail/mailer.ts';
import { schema } from './schema.ts';
import { StartupError } from './startup-error.ts';

export const GRAPHQL_PATH = '/graphql';
const SERVICES_TTL_MS = 10_000;

type Enveloped = ReturnType<ReturnType<typeof createYoga>['getEnveloped']>;
type EnvelopedRoot = Pick<Enveloped, 'execute' | 'subscribe'>;

type NodeHandler = (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void;

export interface App {
  server: http.Server;
  /** Runs one HTTP request through GraphQL in-process (tests, SSE). */
  fetch: (url: string, init?: RequestInit) => Response | Promise<Response>;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Live quarantine events: main.ts starts them; the first subscription does too. */
  live: LiveEvents;
  close(): Promise<void>;
}

export interface AppOptions {
  config: Config;
  stores: Stores;
  log: Logger;
}

async function loadWebHandler(log: Logger): Promise<NodeHandler> {
  const built = new URL('../web/build/handler.js', import.meta.url);
  if (fs.existsSync(built)) {
    const module = (await import(built.href)) as { handler: NodeHandler };
    return module.handler;
  }
  log.warn('web app not built (run "npm run build:web"); serving a notice instead');
  return (_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('The web app is not built. Run "npm run build:web", or use the GraphQL API at /graphql.\n');
  };
}

const JSON_TYPES = ['application/json', 'application/graphql-response+json'];

/**
 * Cross-site request forgery: a browser sends our SameSite=Lax cookie with top-level GETs and with
 * "simple" cross-site POSTs (form encodings). GraphQL therefore takes only POSTs with a JSON body,
 * which another site cannot send without a CORS preflight that we never grant.
 */
const jsonPostsOnly: Plugin = {
  onRequest({ request, url, endResponse, fetchAPI }) {
    if (url.pathname !== GRAPHQL_PATH) return;
    const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (request.method === 'POST' && JSON_TYPES.includes(type)) return;
    const error = request.method === 'POST' ? 'send the request as application/json' : 'use POST';
    endResponse(
      new fetchAPI.Response(
        JSON.stringify({ errors: [{ message: error, extensions: { code: 'BAD_REQUEST' } }] }),
        {
          status: request.method === 'POST' ? 415 : 405,
          headers: { 'content-type': 'application/json', allow: 'POST' },
        },
      ),
    );
  },
};

/** Adds the Set-Cookie headers that resolvers asked for (login, logout). */
const responseCookies: Plugin<InitialContext> = {
  onResponse({ response, serverContext }) {
    for (const cookie of (serverContext as InitialContext | undefined)?.responseCookies ?? []) {
      response.headers.append('set-cookie', cookie);
    }
  },
};

export async function createApp({ config, stores, log }: AppOptions): Promise<App> {
  const throttles = createThrottles();
  const mailer = createMailer(config.smtpUrl, log);
  const live = createLiveEvents({ config, stores, log });
  const contextFactory = createContextFactory({ config, stores, log, throttles, mailer, live });
  const yoga = createYoga<InitialContext, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // GraphiQL loads its assets from a CDN; the console serves nothing remote.
    graphiql: false,
    landingPage: false,
    maskedErrors: { maskError },
    context: contextFactory,
    plugins: [
      jsonPostsOnly,
      responseCookies,
      // live events: one execution per event for everyone who receives the same one
      useSharedSubscriptionEvents(),
      // repeated queries run compiled: a fraction of the executor's garbage on a page of entries
      useCompiledQueries(log),
      // Depth, cost, alias and token limits: a query can't ask for more than a page's worth of work.
      EnvelopArmorPlugin({
        maxDepth: { n: 12 },
        costLimit: { maxCost: 50_000 },
        maxAliases: { n: 20 },
        maxDirectives: { n: 20 },
        maxTokens: { n: 2000 },
      }),
    ],
    logging: {
      debug: (...args) => log.debug({ args }, 'graphql'),
      info: (...args) => log.info({ args }, 'graphql'),
      warn: (...args) => log.warn({ args }, 'graphql'),
      error: (...args) => {
        const causes = errorCauses(args);
        log.error(causes.length > 0 ? { args, causes } : { args }, 'graphql');
      },
    },
  });

  const web = await loadWebHandler(log);

  // /healthz?details=1 is unauthenticated and a SpamAssassin probe starts perl: one probe per
  // SERVICES_TTL_MS, whoever asks, so it cannot be used to load amavisd or the host.
  let services: { at: number; value: Promise<ServicesHealth> } | null = null;
  const servicesHealth = (): Promise<ServicesHealth> => {
    if (!services || Date.now() - services.at > SERVICES_TTL_MS) {
      services = { at: Date.now(), value: getSettings(stores.console).then(checkServices) };
      services.value.catch(() => {
        services = null;
      });
    }
    return services.value;
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/healthz') {
      const details = /[?&]details=1(&|$)/.test(req.url ?? '');
      void checkHealth(stores).then(async (health) => {
        if (details) health.services = await servicesHealth().catch(() => undefined);
        res.writeHead(health.status === 'ok' ? 200 : 503, {
          'content-type': 'application/json',
          'cache-control': 'no-store',
        });
        res.end(JSON.stringify(health));
      });
      return;
    }
    if (ACTION_ROUTE.test(path)) {
      void contextFactory({ req, plainHttp: true })
        .then((context) => serveActionRoute(req, res, context))
        .catch((error: unknown) => {
          log.error({ err: error, path: '/actions/…' }, 'action route failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('Unexpected error.\n');
        });
      return;
    }
    if (MESSAGE_ROUTE.test(path)) {
      void contextFactory({ req, plainHttp: true })
        .then((context) => serveMessageRoute(req, res, context))
        .catch((error: unknown) => {
          log.error({ err: error, path }, 'message route failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('Unexpected error.\n');
        });
      return;
    }
    if (path === GRAPHQL_PATH) {
      void yoga.handle(req, res, { responseCookies: [] });
      return;
    }
    web(req, res, () => {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not found\n');
    });
  });

  // noServer: upgrades are routed by hand, so the HTTP server's own errors (a port in use) stay ours.
  const wsServer = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== GRAPHQL_PATH) {
      socket.destroy();
      return;
    }
    wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit('connection', ws, req));
  });
  // Every WebSocket operation runs through Yoga's envelop pipeline, so its plugins apply as over HTTP.
  useServer(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          // a getter on graphql-ws's context, which the spread above does not copy
          connectionParams: ctx.connectionParams,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        const document = parse(payload.query);
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wsServer,
  );

  const listen = (port: number, host: string) =>
    new Promise<AddressInfo>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        server.off('listening', onListening);
        if (error.code === 'EADDRINUSE') {
          reject(new StartupError(`port ${port} on ${host} is already in use; set PORT to a free port`));
        } else if (error.code === 'EACCES') {
          reject(new StartupError(`no permission to listen on ${host}:${port}; set PORT above 1023`));
        } else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
          reject(new StartupError(`cannot listen on ${host}: no such local address; check HOST`));
        } else {
          reject(new StartupError(`cannot listen on ${host}:${port}: ${error.message}`));
        }
      };
      const onListening = () => {
        server.off('error', onError);
        resolve(server.address() as AddressInfo);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, host);
    });

  const close = async () => {
    for (const client of wsServer.clients) client.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
    await closed;
    clearTimeout(timer);
    mailer.close();
    closeAccessCache(stores.console);
    await live.close();
  };

  return {
    server,
    fetch: (url, init) => yoga.fetch(url, init ?? {}, { responseCookies: [] }),
    listen,
    live,
    close,
  };
}
