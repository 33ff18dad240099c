// What every resolver gets, built per operation over HTTP, SSE and WebSocket alike. The actor comes
// from the request's credentials through server/access/resolve-actor.ts.
import type http from 'node:http';
import { parseCookie, stringifySetCookie } from 'cookie';
import { accessCacheFor } from '../access/access-cache.ts';
import { type Actor, ANONYMOUS } from '../access/actor.ts';
import { credentialKey, resolveActor, resolveCredentials } from '../access/resolve-actor.ts';
import { SESSION_COOKIE } from '../access/secrets.ts';
import type { Throttles } from '../access/throttle.ts';
import type { Config } from '../config.ts';
import type { Stores } from '../db/stores.ts';
import type { LiveEvents } from '../events/live-events.ts';
import { getSettings, type Settings } from '../features/settings/settings.service.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail/mailer.ts';

export interface ClientContext {
  ip: string | null;
  userAgent: string | null;
  /** Whether the browser reached us over HTTPS (directly or, with TRUST_PROXY, through a proxy). */
  secure: boolean;
}

export interface Context {
  config: Config;
  stores: Stores;
  log: Logger;
  throttles: Throttles;
  mailer: Mailer;
  actor: Actor;
  client: ClientContext;
  /** The settings, read once per operation. */
  settings(): Promise<Settings>;
  /** Sets (or, with null, clears) the session cookie on the HTTP response; a no-op over WebSocket. */
  setSessionCookie(secret: string | null, expiresAt?: Date): void;
  /** Resolves the operation's credentials again: long-lived subscriptions re-check their rights. */
  reresolveActor(): Promise<Actor>;
  /** This replica's live quarantine events (server/events). */
  live: LiveEvents;
}

export interface ContextDeps {
  config: Config;
  stores: Stores;
  log: Logger;
  throttles: Throttles;
  mailer: Mailer;
  live: LiveEvents;
}

/** Yoga's initial context: `request` over HTTP; `req` and `connectionParams` over graphql-ws. */
export interface InitialContext {
  request?: Request;
  req?: http.IncomingMessage;
  connectionParams?: Record<string, unknown>;
  /** Set over HTTP by app.ts: where Set-Cookie headers for this response go. */
  responseCookies?: string[];
  /** Set by the plain HTTP routes outside GraphQL (downloads), which have `req` but no `request`. */
  plainHttp?: boolean;
}

function header(initial: InitialContext, name: string): string | null {
  if (initial.request) return initial.request.headers.get(name);
  const value = initial.req?.headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

function bearer(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1] ?? null;
}

/**
 * A WebSocket from another site would carry our cookie (browsers do not apply SameSite to the
 * handshake), so over WebSocket the cookie counts only when the Origin is this very host.
 */
function sameOrigin(initial: InitialContext): boolean {
  const origin = header(initial, 'origin');
  if (!origin) return true;
  try {
    return new URL(origin).host === header(initial, 'host');
  } catch {
    return false;
  }
}

export function createContextFactory(deps: ContextDeps) {
  const { config } = deps;
  return async (initial: InitialContext): Promise<Context> => {
    const forwarded = config.trustProxy
      ? header(initial, 'x-forwarded-for')?.split(',')[0]?.trim()
      : undefined;
    const ip = forwarded || initial.req?.socket.remoteAddress || null;
    const secure =
      (initial.request ? new URL(initial.request.url).protocol === 'https:' : false) ||
      (config.trustProxy && header(initial, 'x-forwarded-proto') === 'https');
    const overWebSocket = !initial.request && !initial.plainHttp;
    const token =
      bearer(header(initial, 'authorization')) ?? bearer(initial.connectionParams?.authorization) ?? null;
    const cookies = parseCookie(header(initial, 'cookie') ?? '');
    const session = overWebSocket && !sameOrigin(initial) ? null : (cookies[SESSION_COOKIE] ?? null);
    const store = deps.stores.console;
    const credentials = { token, session };
    const key = credentialKey(credentials);
    const cache = key ? accessCacheFor(store, config.accessCacheMs) : null;
    let settings: Promise<Settings> | undefined;
    const loadSettings = () => {
      settings ??= cache ? cache.settings(() => getSettings(store)) : getSettings(store);
      return settings;
    };
    // A signed-in caller's operation almost always reads the settings (scoping, rules): read them
    // alongside the credentials instead of after them. A failure surfaces where they are awaited.
    if (key) loadSettings().catch(() => {});
    let actor =
      cache && key
        ? await cache.actor(key, () => resolveCredentials(store, credentials))
        : await resolveActor(store, credentials);
    // Turning self-service off ends the self-service sessions already open.
    if (actor.kind === 'selfService' && !(await loadSettings()).selfService) actor = ANONYMOUS;
    return {
      ...deps,
      actor,
      // read afresh: live subscriptions keep their own short-lived copy (features/live)
      reresolveActor: async () => {
        const again = await resolveActor(store, credentials);
        if (again.kind === 'selfService' && !(await getSettings(store)).selfService) return ANONYMOUS;
        return again;
      },
      client: { ip, userAgent: header(initial, 'user-agent'), secure },
      settings: loadSettings,
      setSessionCookie: (secret, expiresAt) => {
        initial.responseCookies?.push(
          stringifySetCookie({
            name: SESSION_COOKIE,
            value: secret ?? '',
            httpOnly: true,
            sameSite: 'lax',
            secure,
            path: '/',
            ...(secret ? { expires: expiresAt } : { maxAge: 0 }),
          }),
        );
      },
    };
  };
}
