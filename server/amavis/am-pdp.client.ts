// amavisd-new's AM.PDP protocol (README.protocol), the only place its wire format lives. A request is
// `name=value` lines ending in CR LF and an empty line; the reply has the same shape. Names and values
// are %-encoded byte strings. amavisd answers a release with one `setreply=<code> <enhanced> <text>` per
// recipient and keeps the connection open for further requests.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';

export type PdpEndpoint = { kind: 'unix'; path: string } | { kind: 'inet'; host: string; port: number };

export function describeEndpoint(e: PdpEndpoint): string {
  if (e.kind === 'unix') return `unix:${e.path}`;
  return `inet:${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

export interface PdpTimeouts {
  connectMs: number;
  /** From sending a request to the end of its reply; a release waits for the MTA to accept the mail. */
  readMs: number;
}

const DEFAULT_TIMEOUTS: PdpTimeouts = { connectMs: 3000, readMs: 30000 };

function resolveTimeouts(timeouts: Partial<PdpTimeouts> | undefined): PdpTimeouts {
  const pick = (key: keyof PdpTimeouts): number => {
    const value = timeouts?.[key];
    if (value === undefined) return DEFAULT_TIMEOUTS[key];
    if (!Number.isFinite(value) || value <= 0)
      throw new RangeError(`AM.PDP ${key} must be a positive number of ms`);
    return value;
  };
  return { connectMs: pick('connectMs'), readMs: pick('readMs') };
}

export interface PdpReply {
  code: number;
  enhanced: string;
  text: string;
}

export interface PdpResponse {
  attributes: Array<[string, string]>;
  replies: PdpReply[];
}

export type AmPdpErrorReason = 'connect' | 'timeout' | 'closed' | 'protocol';

export class AmPdpError extends Error {
  readonly reason: AmPdpErrorReason;
  readonly endpoint: string;

  constructor(reason: AmPdpErrorReason, endpoint: string, message: string) {
    super(message);
    this.name = 'AmPdpError';
    this.reason = reason;
    this.endpoint = endpoint;
  }
}

export interface ReleaseRequest {
  mailId: string;
  secretId: string;
  partitionTag: number;
  /** msgs.quar_type ('Q' for the SQL quarantine); blank lets amavisd choose. */
  quarType: string;
  /** Replaces the envelope recipients. */
  recipients: string[];
  /** Lands in the released mail's Resent-From. */
  requestedBy?: string;
  request?: 'release' | 'requeue';
}

export interface ReleaseOutcome {
  ok: boolean;
  replies: PdpReply[];
  error: string | null;
}

/** amavisd's own check (Amavis::In::AMPDP::preprocess_policy_query). */
const MAIL_ID = /^[A-Za-z0-9][A-Za-z0-9_+-]*={0,2}$/;
const MAX_LINE = 64 * 1024;
const MAX_REPLY = 1024 * 1024;
const CLOSE_WAIT_MS = 1000;

// --- encoding -------------------------------------------------------------------------------------------

function percentEncode(bytes: Buffer, keep: (byte: number) => boolean): string {
  let out = '';
  for (const byte of bytes) {
    out += keep(byte) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

const isNameByte = (b: number) =>
  (b >= 0x30 && b <= 0x39) ||
  (b >= 0x41 && b <= 0x5a) ||
  (b >= 0x61 && b <= 0x7a) ||
  b === 0x5f ||
  b === 0x2d;
const isValueByte = (b: number) => b >= 0x21 && b <= 0x7e && b !== 0x25;

export function encodeName(name: string): string {
  return percentEncode(Buffer.from(name, 'utf8'), isNameByte);
}

/** One field: no raw space, %, CR, LF, NUL or non-ASCII byte survives. */
export function encodeValue(value: string): string {
  return percentEncode(Buffer.from(value, 'utf8'), isValueByte);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** %xx → byte; the bytes read as UTF-8 when they are valid UTF-8, else as Latin-1 (amavisd passes raw octets). */
export function decodeField(text: string): string {
  const bytes = Buffer.from(
    text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    'latin1',
  );
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

export function encodeRequest(attributes: Array<[string, string]>): Buffer {
  let text = '';
  for (const [name, value] of attributes) text += `${encodeName(name)}=${encodeValue(value)}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

/** `name=value` or `name: value` (amavisd's reader accepts both); null for anything else. */
function parseLine(line: string): [string, string] | null {
  const match = /^([^=:\s]+)(?:=|:[ \t]*)(.*)$/s.exec(line);
  if (!match) return null;
  return [match[1] ?? '', match[2] ?? ''];
}

function parseSetreply(raw: string): PdpReply | null {
  const fields = raw.split(' ');
  const code = decodeField(fields[0] ?? '');
  if (!/^[1-5]\d\d$/.test(code)) return null;
  const second = decodeField(fields[1] ?? '');
  if (/^[245]\.\d{1,3}\.\d{1,3}$/.test(second)) {
    return { code: Number(code), enhanced: second, text: decodeField(fields.slice(2).join(' ')) };
  }
  return { code: Number(code), enhanced: `${code[0]}.0.0`, text: decodeField(fields.slice(1).join(' ')) };
}

function quote(line: string): string {
  const shown = line.length > 120 ? `${line.slice(0, 120)}…` : line;
  return JSON.stringify(shown);
}

// --- transport ------------------------------------------------------------------------------------------

const OS_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOENT: 'no such socket',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ENOTSOCK: 'not a socket',
  EPIPE: 'broken pipe',
  ETIMEDOUT: 'timed out',
  EAGAIN: 'the socket is busy (backlog full)',
};

function osError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code && OS_ERRORS[code]) return `${code} ${OS_ERRORS[code]}`;
  if (error instanceof AggregateError && error.errors[0] instanceof Error) return osError(error.errors[0]);
  return code && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
}

function connectHint(endpoint: PdpEndpoint, code: string | undefined): string {
  if (endpoint.kind === 'unix') {
    if (code === 'EACCES') {
      return " (the console's user needs access to the socket's directory and write permission on the socket: put it in amavisd's group, with $unix_socket_mode = 0770)";
    }
    if (code === 'ENOENT') return ' (is amavisd running, with $unix_socketname set to this path?)';
    if (code === 'ECONNREFUSED') {
      let isSocket = true;
      try {
        isSocket = fs.statSync(endpoint.path).isSocket();
      } catch {}
      return isSocket
        ? ' (nobody listens on the socket file: is amavisd running?)'
        : ' (the path is not a socket)';
    }
    return '';
  }
  if (code === 'ECONNREFUSED') {
    return ' (is amavisd running, with this port in $inet_socket_port and an AM.PDP policy bank in $interface_policy?)';
  }
  return '';
}

const SMTP_HINT =
  ": this port speaks SMTP, not AM.PDP (give it a policy bank with protocol => 'AM.PDP' in $interface_policy)";

interface Pending {
  resolve(response: PdpResponse): void;
  reject(error: AmPdpError): void;
  response: PdpResponse;
  bytes: number;
  timer: NodeJS.Timeout;
}

/**
 * One connection to amavisd's AM.PDP server. Requests run one after the other; a timeout, a dropped
 * connection or a reply that is not AM.PDP ends the session, and every later request rejects at once.
 * An open session occupies one amavisd child process: close it when done.
 */
export class AmPdpSession {
  readonly endpoint: string;
  #socket: net.Socket;
  #readMs: number;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: Pending | null = null;
  #failure: AmPdpError | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #sent = 0;

  private constructor(socket: net.Socket, endpoint: string, readMs: number) {
    this.#socket = socket;
    this.endpoint = endpoint;
    this.#readMs = readMs;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error: Error) =>
      this.#fail(
        new AmPdpError('closed', endpoint, `AM.PDP connection to ${endpoint} failed: ${osError(error)}`),
      ),
    );
    socket.on('close', () => {
      const waiting = this.#pending;
      this.#fail(
        new AmPdpError(
          'closed',
          endpoint,
          waiting
            ? waiting.bytes === 0
              ? `amavisd at ${endpoint} closed the connection without answering (a client not in the policy bank's inet_acl is dropped like this)`
              : `amavisd at ${endpoint} closed the connection in the middle of a reply (after ${waiting.bytes} bytes)`
            : this.#closed
              ? `the AM.PDP session to ${endpoint} is closed`
              : `amavisd at ${endpoint} closed the idle AM.PDP connection`,
        ),
      );
    });
  }

  static open(endpoint: PdpEndpoint, timeouts?: Partial<PdpTimeouts>): Promise<AmPdpSession> {
    const name = describeEndpoint(endpoint);
    return new Promise((resolve, reject) => {
      const { connectMs, readMs } = resolveTimeouts(timeouts);
      const socket =
        endpoint.kind === 'unix'
          ? net.connect({ path: endpoint.path })
          : net.connect({ host: endpoint.host, port: endpoint.port });
      let settled = false;
      const fail = (detail: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(new AmPdpError('connect', name, `cannot connect to amavisd AM.PDP at ${name}: ${detail}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${connectMs} ms`), connectMs);
      const onError = (error: Error) =>
        fail(`${osError(error)}${connectHint(endpoint, (error as NodeJS.ErrnoException).code)}`);
      socket.on('error', onError);
      socket.once('connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        resolve(new AmPdpSession(socket, name, readMs));
      });
    });
  }

  /** Sends one request and resolves with every decoded line of its reply. */
  request(attributes: Array<[string, string]>): Promise<PdpResponse> {
    const run = this.#queue.then(() => this.#send(attributes));
    this.#queue = run.catch(() => {});
    return run;
  }

  #send(attributes: Array<[string, string]>): Promise<PdpResponse> {
    const failure = this.#failure;
    if (failure) {
      return Promise.reject(
        this.#closed
          ? new AmPdpError('closed', this.endpoint, `the AM.PDP session to ${this.endpoint} is closed`)
          : new AmPdpError(
              failure.reason,
              this.endpoint,
              `the AM.PDP session to ${this.endpoint} is unusable after an earlier error: ${failure.message}`,
            ),
      );
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.#fail(
            new AmPdpError(
              'timeout',
              this.endpoint,
              `amavisd at ${this.endpoint} sent no complete AM.PDP reply within ${this.#readMs} ms`,
            ),
          ),
        this.#readMs,
      );
      this.#pending = { resolve, reject, response: { attributes: [], replies: [] }, bytes: 0, timer };
      this.#sent += 1;
      this.#socket.write(encodeRequest(attributes));
    });
  }

  #onData(chunk: Buffer): void {
    if (this.#failure) return;
    if (this.#pending) this.#pending.bytes += chunk.length;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const end = this.#buffer.indexOf(0x0a);
      if (end < 0) break;
      const line = this.#buffer.toString(
        'latin1',
        0,
        end > 0 && this.#buffer[end - 1] === 0x0d ? end - 1 : end,
      );
      this.#buffer = this.#buffer.subarray(end + 1);
      this.#onLine(line);
      if (this.#failure) return;
    }
    if (this.#buffer.length > MAX_LINE) {
      this.#protocolError(`a line longer than ${MAX_LINE} bytes`);
    } else if (!this.#pending && this.#buffer.length > 0) {
      this.#protocolError(`${this.#unasked()}: ${quote(this.#buffer.toString('latin1'))}`);
    } else if (this.#pending && this.#pending.bytes > MAX_REPLY) {
      this.#protocolError(`a reply longer than ${MAX_REPLY} bytes`);
    }
  }

  #onLine(line: string): void {
    const pending = this.#pending;
    const smtp = /^[2-5]\d\d[ -]/.test(line) ? SMTP_HINT : '';
    if (!pending) {
      this.#protocolError(`${this.#unasked()}: ${quote(line)}${smtp}`);
      return;
    }
    if (line === '') {
      clearTimeout(pending.timer);
      this.#pending = null;
      pending.resolve(pending.response);
      return;
    }
    const attribute = parseLine(line);
    if (!attribute) {
      this.#protocolError(`a line that is not an AM.PDP attribute: ${quote(line)}${smtp}`);
      return;
    }
    const name = decodeField(attribute[0]);
    pending.response.attributes.push([name, decodeField(attribute[1])]);
    if (name === 'setreply') {
      const reply = parseSetreply(attribute[1]);
      if (!reply) {
        this.#protocolError(`a malformed setreply: ${quote(line)}`);
        return;
      }
      pending.response.replies.push(reply);
    }
  }

  #unasked(): string {
    return this.#sent === 0 ? 'data before any request' : 'data after the end of a reply';
  }

  #protocolError(what: string): void {
    this.#fail(new AmPdpError('protocol', this.endpoint, `amavisd at ${this.endpoint} sent ${what}`));
  }

  #fail(error: AmPdpError): void {
    if (!this.#failure) this.#failure = error;
    const pending = this.#pending;
    this.#pending = null;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#socket.destroy();
  }

  /** Releases (or requeues) one quarantined message; amavisd's refusals are `ok: false`, not exceptions. */
  async release(req: ReleaseRequest): Promise<ReleaseOutcome> {
    const built = releaseAttributes(req);
    if (typeof built === 'string') return { ok: false, replies: [], error: built };
    const { replies } = await this.request(built);
    return releaseOutcome(replies, req);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#fail(new AmPdpError('closed', this.endpoint, `the AM.PDP session to ${this.endpoint} is closed`));
    }
    const socket = this.#socket;
    if (socket.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, CLOSE_WAIT_MS);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

// --- release --------------------------------------------------------------------------------------------

// Control characters would be decoded by amavisd and end up in its SMTP commands and headers.
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function angle(address: string): string {
  return /^<.*>$/s.test(address) ? address : `<${address}>`;
}

/** The attributes of a release request, or why it cannot be sent. */
export function releaseAttributes(req: ReleaseRequest): Array<[string, string]> | string {
  const request = req.request ?? 'release';
  if (request !== 'release' && request !== 'requeue') {
    return `invalid request ${JSON.stringify(request)}: expected release or requeue`;
  }
  if (!MAIL_ID.test(req.mailId)) {
    return `invalid mail_id ${JSON.stringify(req.mailId)}: amavisd accepts only ${MAIL_ID.source}`;
  }
  if (hasControl(req.secretId)) return 'the secret_id contains control characters';
  if (!Number.isSafeInteger(req.partitionTag)) {
    return `invalid partition_tag ${JSON.stringify(req.partitionTag)}: it must be an integer`;
  }
  const quarType = req.quarType.trim();
  if (quarType !== '' && !/^[A-Za-z]$/.test(quarType)) {
    return `invalid quar_type ${JSON.stringify(req.quarType)}: expected one letter (Q for the SQL quarantine)`;
  }
  if (req.recipients.length === 0) return 'no recipient to release the message to';
  for (const recipient of req.recipients) {
    if (recipient.trim() === '' || recipient === '<>') return 'an empty recipient address';
    if (hasControl(recipient)) return `recipient ${JSON.stringify(recipient)} contains control characters`;
  }
  const requestedBy = req.requestedBy?.trim() ?? '';
  if (hasControl(requestedBy))
    return `requested_by ${JSON.stringify(requestedBy)} contains control characters`;

  const attributes: Array<[string, string]> = [
    ['request', request],
    ['mail_id', req.mailId],
  ];
  if (req.secretId !== '') attributes.push(['secret_id', req.secretId]);
  attributes.push(['partition_tag', String(req.partitionTag)]);
  if (quarType !== '') attributes.push(['quar_type', quarType]);
  if (requestedBy !== '') attributes.push(['requested_by', angle(requestedBy)]);
  for (const recipient of req.recipients) attributes.push(['recipient', angle(recipient.trim())]);
  return attributes;
}

/** Perl's `die` appends " at /usr/share/perl5/Amavis/In/AMPDP.pm line 311, <GEN28> line 5."; users need none of it. */
function withoutPerlLocation(text: string): string {
  return text.replace(/ at \/\S+ line \d+(?:, <[^>]*> (?:line|chunk) \d+)?\.?$/, '');
}

function releaseOutcome(replies: PdpReply[], req: ReleaseRequest): ReleaseOutcome {
  if (replies.length === 0) {
    return {
      ok: false,
      replies,
      error: 'amavisd answered without a setreply, so nothing is known to be released',
    };
  }
  const failed = replies.flatMap((reply, i) =>
    reply.code >= 200 && reply.code < 300 ? [] : [[reply, i] as const],
  );
  if (failed.length === 0) return { ok: true, replies, error: null };
  const perRecipient = req.recipients.length > 1 && replies.length === req.recipients.length;
  const messages = failed.map(([reply, i]) => {
    let text = withoutPerlLocation(reply.text);
    // amavisd repeats the secret_id in "Secret_id <s> does not match mail_id <m>"; keep it out of logs
    if (req.secretId.length >= 4) text = text.split(req.secretId).join('…');
    return `${perRecipient ? `${req.recipients[i]}: ` : ''}${reply.code} ${reply.enhanced} ${text}`;
  });
  return { ok: false, replies, error: [...new Set(messages)].join('; ') };
}

// --- probe ----------------------------------------------------------------------------------------------

let probeIds: { mailId: string; secretId: string } | null = null;

/**
 * A mail_id with a matching secret_id that amavisd can never have issued: generate_mail_id only keeps
 * ids that end in an alphanumeric character, this one ends in - or _. amavisd accepts the pair, looks
 * the message up in its quarantine (so the probe exercises amavisd's database too) and fails.
 */
function unreleasableIds(): { mailId: string; secretId: string } {
  while (!probeIds) {
    const secret = randomBytes(9);
    const mailId = createHash('md5').update(secret).digest('base64url').slice(0, 12);
    if (/^[A-Za-z0-9].*[-_]$/.test(mailId)) probeIds = { mailId, secretId: secret.toString('base64url') };
  }
  return probeIds;
}

/** Reachability plus a release-style request that must fail: a healthy amavisd answers "450 4.5.0 Failure: ...". */
export async function probeAmPdp(
  endpoint: PdpEndpoint,
  timeouts?: Partial<PdpTimeouts>,
): Promise<{ ok: boolean; latencyMs: number; detail: string }> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const name = describeEndpoint(endpoint);
  let session: AmPdpSession | null = null;
  try {
    session = await AmPdpSession.open(endpoint, {
      readMs: timeouts?.readMs ?? 10000,
      connectMs: timeouts?.connectMs,
    });
    const { mailId, secretId } = unreleasableIds();
    const { replies } = await session.request([
      ['request', 'release'],
      ['mail_id', mailId],
      ['secret_id', secretId],
    ]);
    const latencyMs = elapsed();
    const reply = replies[0];
    if (!reply) {
      return {
        ok: false,
        latencyMs,
        detail: `amavisd at ${name} answered a release request without a setreply`,
      };
    }
    const answer = `${reply.code} ${reply.enhanced} ${withoutPerlLocation(reply.text)}`;
    if (reply.code >= 200 && reply.code < 300) {
      return {
        ok: false,
        latencyMs,
        detail: `amavisd at ${name} accepted a release of a message that cannot exist: ${answer}`,
      };
    }
    return { ok: true, latencyMs, detail: `amavisd at ${name} answered in ${latencyMs} ms: ${answer}` };
  } catch (error) {
    return {
      ok: false,
      latencyMs: elapsed(),
      detail: error instanceof Error ? error.message : String(error),
    };
  } finally {
    await session?.close();
  }
}
