// Where the console reaches amavisd's AM.PDP server: endpoint text ("unix:/path", "host:port", ...) and,
// for sites with several amavisd hosts sharing one database, the msgs.host → endpoint map: a message can
// only be released by the amavisd that quarantined it when quarantines are not shared.
import type { PdpEndpoint } from './am-pdp.client.ts';

const FORMS =
  '"unix:/path/to/amavisd.sock", "/path/to/amavisd.sock", "inet:host:port", "host:port" or "[::1]:port"';

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new Error(`AM.PDP endpoint "${whole}": port "${text}" is not a number`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new Error(`AM.PDP endpoint "${whole}": port ${port} is not in 1-65535`);
  return port;
}

function checkHost(host: string, whole: string): string {
  if (host === '') throw new Error(`AM.PDP endpoint "${whole}" has no host`);
  if (/[\s/@[\]]/.test(host))
    throw new Error(`AM.PDP endpoint "${whole}": "${host}" is not a host name or address`);
  return host;
}

function checkSocketPath(path: string, whole: string): string {
  if (path === '') throw new Error(`AM.PDP endpoint "${whole}" has no socket path`);
  if (!path.startsWith('/')) {
    throw new Error(`AM.PDP endpoint "${whole}": the socket path must be absolute (start with /)`);
  }
  if (path.includes('\0')) throw new Error(`AM.PDP endpoint "${whole}": the socket path contains a NUL byte`);
  return path;
}

function parseInet(rest: string, whole: string): PdpEndpoint {
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  if (bracketed) {
    const host = bracketed[1] ?? '';
    if (!host.includes(':'))
      throw new Error(`AM.PDP endpoint "${whole}": only IPv6 addresses go in brackets`);
    return { kind: 'inet', host, port: parsePort(bracketed[2] ?? '', whole) };
  }
  const colon = rest.lastIndexOf(':');
  if (colon < 0) throw new Error(`AM.PDP endpoint "${whole}" has no port; expected ${FORMS}`);
  const host = rest.slice(0, colon);
  if (host.includes(':')) {
    throw new Error(`AM.PDP endpoint "${whole}": write an IPv6 address in brackets, e.g. "[::1]:9998"`);
  }
  return { kind: 'inet', host: checkHost(host, whole), port: parsePort(rest.slice(colon + 1), whole) };
}

/** Parses endpoint text; throws an Error that quotes the text and says what is wrong. */
export function parsePdpEndpoint(text: string): PdpEndpoint {
  const whole = text.trim();
  if (whole === '') throw new Error(`AM.PDP endpoint is empty; expected ${FORMS}`);
  const lower = whole.toLowerCase();
  if (lower.startsWith('unix:')) return { kind: 'unix', path: checkSocketPath(whole.slice(5), whole) };
  if (whole.startsWith('/')) return { kind: 'unix', path: checkSocketPath(whole, whole) };
  if (lower.startsWith('inet:')) return parseInet(whole.slice(5), whole);
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(lower)) {
    throw new Error(`AM.PDP endpoint "${whole}" is a URL; expected ${FORMS}`);
  }
  return parseInet(whole, whole);
}

export interface PdpRouting {
  default: PdpEndpoint;
  /** Keyed by msgs.host, lower case. */
  byHost: ReadonlyMap<string, PdpEndpoint>;
}

function hostKey(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

/** The endpoint of the amavisd that wrote a msgs row (msgs.host is amavisd's $myhostname). */
export function endpointForHost(routing: PdpRouting, msgsHost: string | null | undefined): PdpEndpoint {
  if (!msgsHost || routing.byHost.size === 0) return routing.default;
  const key = hostKey(msgsHost);
  const exact = routing.byHost.get(key);
  if (exact) return exact;
  for (const [host, endpoint] of routing.byHost) if (hostKey(host) === key) return endpoint;
  return routing.default;
}

export function pdpRoutingFromSettings(s: {
  amPdpMode: 'unix' | 'inet';
  amPdpHost: string;
  amPdpPort: number;
  amPdpSocket: string;
  amPdpEndpointsByHost: Record<string, string>;
}): PdpRouting {
  let fallback: PdpEndpoint;
  if (s.amPdpMode === 'unix') {
    const path = s.amPdpSocket.trim();
    if (!path.startsWith('/'))
      throw new Error(`amPdpSocket "${s.amPdpSocket}" must be an absolute socket path`);
    fallback = { kind: 'unix', path };
  } else {
    const host = s.amPdpHost.trim().replace(/^\[(.*)\]$/, '$1');
    if (host === '' || /[\s/@[\]]/.test(host)) {
      throw new Error(`amPdpHost "${s.amPdpHost}" is not a host name or address`);
    }
    if (!Number.isInteger(s.amPdpPort) || s.amPdpPort < 1 || s.amPdpPort > 65535) {
      throw new Error(`amPdpPort ${s.amPdpPort} is not in 1-65535`);
    }
    fallback = { kind: 'inet', host, port: s.amPdpPort };
  }
  const byHost = new Map<string, PdpEndpoint>();
  for (const [host, text] of Object.entries(s.amPdpEndpointsByHost)) {
    const key = hostKey(host);
    if (key === '') throw new Error('amPdpEndpointsByHost has an empty host name');
    let endpoint: PdpEndpoint;
    try {
      endpoint = parsePdpEndpoint(text);
    } catch (error) {
      throw new Error(`amPdpEndpointsByHost["${host}"]: ${(error as Error).message}`);
    }
    if (byHost.has(key)) throw new Error(`amPdpEndpointsByHost lists host "${key}" twice`);
    byHost.set(key, endpoint);
  }
  return { default: fallback, byHost };
}
