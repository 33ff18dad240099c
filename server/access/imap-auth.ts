// Checks a user's mailbox credentials against an IMAP server, so that the people of a mail server can log
// in to the console with the password they already have. One connection per check: connect, (STARTTLS,)
// LOGIN / AUTHENTICATE PLAIN, LOGOUT, close. The protocol is imapflow's; this file only decides what its
// outcome means: true (credentials accepted), false (credentials rejected), or ImapUnavailableError
// (anything that is not the user's fault, so that a down mail server never reads as "wrong password").
//
// URLs (the whole configuration of a target):
//   imap://host[:143]                    cleartext connection; upgraded with STARTTLS when the server offers it
//   imap://host?starttls=required        STARTTLS or nothing: fails when the server does not offer it
//   imap://host?starttls=off             never STARTTLS: the password crosses the wire in cleartext,
//                                         acceptable only on loopback or a trusted network
//   imaps://host[:993]                   TLS from the first byte
//   ...&tls_verify=off                   accept any certificate (self-signed, wrong name, expired). RISK: then
//                                         TLS only hides the password from passive eavesdroppers; anyone who
//                                         can intercept the connection can pose as the server and read every
//                                         password users type. Prefer giving Node the CA (NODE_EXTRA_CA_CERTS).
//
// Without starttls=required, an active attacker can strip the STARTTLS offer and the password goes out
// in cleartext: use imaps:// or starttls=required whenever the IMAP server is not on the same host.
import { ImapFlow, type ImapFlowError } from 'imapflow';

export interface ImapTarget {
  url: string;
}

/** How the connection is protected: TLS from the start, STARTTLS (demanded, or used when offered), none. */
export type ImapTls = 'implicit' | 'starttls-required' | 'starttls-opportunistic' | 'none';

export interface ImapEndpoint {
  /** Host name or IP address as the socket needs it (IPv6 without brackets). */
  host: string;
  port: number;
  tls: ImapTls;
  /** false: any certificate is accepted (`tls_verify=off`). */
  tlsVerify: boolean;
  /** `host:port`, for logs and error messages. */
  display: string;
}

/** A malformed IMAP URL: a configuration mistake, worded to be shown as one line at startup. */
export class ImapUrlError extends Error {
  override name = 'ImapUrlError';
}

/**
 * The IMAP server could not give an answer about the credentials: unreachable, TLS failure, timeout,
 * protocol error, or a server-side failure it reported as such. Not the user's fault. The message names
 * the server as host:port and never contains the password.
 */
export class ImapUnavailableError extends Error {
  override name = 'ImapUnavailableError';
  /** imapflow's or Node's error code, or the server's response code, when there is one. */
  readonly code: string | undefined;

  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

export const DEFAULT_IMAP_TIMEOUT_MS = 10_000;

const PARAMETERS = ['starttls', 'tls_verify'] as const;

/** Shows a URL in an error message: user info replaced, one line, quoted. */
function showUrl(raw: string): string {
  // everything up to the last '@' may be (part of) a password, even in a URL that does not parse
  const at = raw.lastIndexOf('@');
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw)?.[0] ?? '';
  const shown = at < 0 ? raw : `${scheme}***${raw.slice(at)}`;
  return JSON.stringify(shown.length > 200 ? `${shown.slice(0, 200)}…` : shown);
}

/** Parses and checks an IMAP URL (see the top of this file). Throws ImapUrlError for anything wrong. */
export function parseImapUrl(raw: string): ImapEndpoint {
  const fail = (problem: string): never => {
    throw new ImapUrlError(`IMAP URL ${showUrl(raw)} ${problem}`);
  };
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return fail('is not a valid URL (expected imap://host[:port] or imaps://host[:port])');
  }
  if (url.protocol !== 'imap:' && url.protocol !== 'imaps:') {
    fail(`has unknown scheme "${url.protocol}" (use imap:// or imaps://)`);
  }
  const secure = url.protocol === 'imaps:';
  if (url.username || url.password)
    fail('must not contain a user name or password (users log in with their own)');
  if (!url.hostname) fail('has no host');
  if (url.pathname !== '' && url.pathname !== '/') fail(`must not have a path (found "${url.pathname}")`);
  if (url.hash) fail('must not have a #fragment');
  const port = url.port ? Number(url.port) : secure ? 993 : 143;
  if (port < 1) fail('has port 0');

  const params = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (!(PARAMETERS as readonly string[]).includes(key)) {
      fail(`has unknown parameter "${key}" (known: ${PARAMETERS.join(', ')})`);
    }
    if (params.has(key)) fail(`has parameter "${key}" twice`);
    params.set(key, value);
  }
  const starttls = params.get('starttls');
  if (starttls !== undefined && starttls !== 'off' && starttls !== 'required') {
    fail(`has starttls=${starttls} (use starttls=off or starttls=required, or leave it out)`);
  }
  if (secure && starttls !== undefined)
    fail('sets starttls, which only applies to imap:// (imaps:// is TLS already)');
  const tlsVerifyParam = params.get('tls_verify');
  if (tlsVerifyParam !== undefined && tlsVerifyParam !== 'off' && tlsVerifyParam !== 'on') {
    fail(`has tls_verify=${tlsVerifyParam} (use tls_verify=off or tls_verify=on)`);
  }
  if (starttls === 'off' && tlsVerifyParam !== undefined) {
    fail('sets tls_verify, but starttls=off means there is no TLS to verify');
  }

  const tls: ImapTls = secure
    ? 'implicit'
    : starttls === 'off'
      ? 'none'
      : starttls === 'required'
        ? 'starttls-required'
        : 'starttls-opportunistic';
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    tls,
    tlsVerify: tlsVerifyParam !== 'off',
    display: `${url.hostname}:${port}`,
  };
}

// Answers to LOGIN that are NO but not about the credentials (RFC 5530): the server failed, or it will
// not take a password over this connection.
const SERVER_SIDE_CODES = new Set(['UNAVAILABLE', 'SERVERBUG', 'PRIVACYREQUIRED', 'LIMIT', 'INUSE']);
const TLS_CODE = /^(ERR_TLS|ERR_SSL|ERR_OSSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH)/;
const CERT_CODE = /^(CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH|ERR_TLS_CERT)/;
const TIMEOUT_CODES = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'ETIMEOUT']);
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'EPIPE',
  'NoConnection',
  'EConnectionClosed',
  'ClosedAfterConnectText',
  'ClosedAfterConnectTLS',
]);

/** Server-provided text for an error message: one line, bounded, and without the password. */
function safeText(text: unknown, password: string): string {
  let s = typeof text === 'string' ? text : '';
  if (password) s = s.replaceAll(password, '***');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips control characters from server text
  s = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/** true: the server rejected the credentials. Otherwise the ImapUnavailableError to throw. */
function classify(err: unknown, endpoint: ImapEndpoint, password: string): true | ImapUnavailableError {
  if (err instanceof ImapUnavailableError) return err;
  const e = (err ?? {}) as ImapFlowError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const responseCode =
    typeof e.serverResponseCode === 'string' ? e.serverResponseCode.toUpperCase() : undefined;
  const server = `IMAP server ${endpoint.display}`;
  const detail = safeText(
    e.responseText ?? (typeof e.response === 'string' ? e.response : '') ?? '',
    password,
  );
  const said = detail ? `: ${detail}` : '';

  if (e.authenticationFailed) {
    if (e.responseStatus === 'NO' && code !== 'ETHROTTLE') {
      if (!responseCode || !SERVER_SIDE_CODES.has(responseCode)) return true;
      return new ImapUnavailableError(
        `${server} could not check the login [${responseCode}]${said}`,
        responseCode,
      );
    }
    if (e.responseStatus === 'BAD') {
      return new ImapUnavailableError(
        `${server} rejected the login command as malformed (BAD)${said}`,
        'BAD',
      );
    }
    // imapflow's own AuthenticationFailure, before or after the exchange
    const message = safeText(e.message, password);
    if (message === 'Authentication failed') return true; // Exchange: logged in, but "not connected"
    if (message === 'Login is disabled') {
      return new ImapUnavailableError(
        `${server} refuses password logins on this connection (LOGINDISABLED); use imaps:// or STARTTLS`,
        'LOGINDISABLED',
      );
    }
    return new ImapUnavailableError(`${server}: ${message || 'login failed'}`, code);
  }
  if (code && TIMEOUT_CODES.has(code)) {
    return new ImapUnavailableError(`${server} timed out (${code})`, code);
  }
  const message = safeText(e.message, password) || 'unknown error';
  if (e.tlsFailed || (code && TLS_CODE.test(code))) {
    // OpenSSL's messages are long ("40ED…:error:0A00010B:SSL routines:…:wrong version number:…"); Node
    // puts the part that matters in `reason`
    const reason =
      code?.startsWith('ERR_SSL') && typeof e.reason === 'string' ? safeText(e.reason, password) : '';
    const hint = code && CERT_CODE.test(code) ? ' (certificate not trusted; see tls_verify)' : '';
    return new ImapUnavailableError(
      `${server}: TLS failed${hint}: ${reason || message}${code ? ` (${code})` : ''}`,
      code ?? 'TLS',
    );
  }
  if (code && UNREACHABLE_CODES.has(code)) {
    const reason = e.reason ? ` (${safeText(e.reason, password)})` : '';
    return new ImapUnavailableError(`${server} is unreachable: ${message}${reason}`, code);
  }
  return new ImapUnavailableError(`${server}: ${message}${said}`, code);
}

/**
 * Checks username and password with the IMAP server at `url`. Resolves true when the server accepted
 * the login and false when it rejected the credentials; throws ImapUnavailableError when it could not
 * tell (see the class), and ImapUrlError for a bad URL. The connection is logged out (after a successful
 * login) and closed either way. `timeoutMs` bounds the whole exchange (default 10 s).
 */
export async function imapAuthenticate(
  url: string,
  username: string,
  password: string,
  options?: { timeoutMs?: number },
): Promise<boolean> {
  const endpoint = parseImapUrl(url);
  const timeoutMs = options?.timeoutMs ?? DEFAULT_IMAP_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new RangeError('timeoutMs must be a positive number');
  // Nothing an IMAP server could accept: no round trip. (NUL cannot be sent in LOGIN or SASL PLAIN.)
  if (!username || !password || username.includes('\0') || password.includes('\0')) return false;

  const client = new ImapFlow({
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.tls === 'implicit',
    doSTARTTLS: endpoint.tls === 'starttls-required' ? true : endpoint.tls === 'none' ? false : undefined,
    tls: endpoint.tlsVerify ? undefined : { rejectUnauthorized: false },
    auth: { user: username, pass: password },
    // imapflow's logger writes protocol lines: never let it near a password
    logger: false,
    emitLogs: false,
    // authenticate, then LOGOUT before connect() resolves
    verifyOnly: true,
    disableAutoIdle: true,
    disableCompression: true,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    clientInfo: { name: 'amavis-console' },
  });
  // failures reach us through connect()'s rejection; an 'error' event without a listener would throw
  client.on('error', () => {});

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ImapUnavailableError(
            `IMAP server ${endpoint.display} timed out after ${timeoutMs} ms`,
            'ETIMEOUT',
          ),
        ),
      timeoutMs,
    );
  });
  const connecting = client.connect();
  connecting.catch(() => {}); // still settles (rejected by close()) after a timeout won the race
  try {
    await Promise.race([connecting, deadline]);
    // A PREAUTH greeting logs in without credentials (imapflow then skips the login): the server never
    // looked at this password, so it proves nothing. imapflow sets `greeting` only from an OK greeting.
    if (client.greeting === undefined) {
      throw new ImapUnavailableError(
        `IMAP server ${endpoint.display} greeted with PREAUTH: it does not check passwords`,
        'PREAUTH',
      );
    }
    return true;
  } catch (err) {
    const outcome = classify(err, endpoint, password);
    if (outcome === true) return false;
    throw outcome;
  } finally {
    clearTimeout(timer);
    client.close();
  }
}
