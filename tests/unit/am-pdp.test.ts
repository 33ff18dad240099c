// The AM.PDP client against an in-process fake server that speaks the wire format the way amavisd
// does (and the ways it may): split segments, bare LF, `name: value`, dropped connections, silence.
// The real amavisd is in tests/amavisd/am-pdp-release.test.ts.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AmPdpError,
  AmPdpSession,
  decodeField,
  describeEndpoint,
  encodeName,
  encodeValue,
  type PdpEndpoint,
  probeAmPdp,
  type ReleaseRequest,
} from '../../server/amavis/am-pdp.client.ts';
import {
  endpointForHost,
  parsePdpEndpoint,
  pdpRoutingFromSettings,
} from '../../server/amavis/pdp-endpoints.ts';

// --- a fake AM.PDP server ------------------------------------------------------------------------------

interface FakeConnection {
  socket: net.Socket;
  /** Every byte the client sent, in order. */
  received(): Buffer;
  /** The next request's raw text (through its empty line), waiting for it if needed. */
  nextRequest(): Promise<string>;
}

interface Fake {
  endpoint: PdpEndpoint;
  connections: FakeConnection[];
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Tries AmPdpSession.open on a unix socket in a child process running as nobody; its error message. */
async function openAsNobody(socketPath: string): Promise<string> {
  const client = pathToFileURL(path.resolve('server/amavis/am-pdp.client.ts')).href;
  const script = `import { AmPdpSession } from ${JSON.stringify(client)};
    AmPdpSession.open({ kind: 'unix', path: ${JSON.stringify(socketPath)} })
      .then(() => console.log('opened'), (error) => console.log(error.message));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    uid: 65534,
    gid: 65534,
    cwd: '/',
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    out += chunk;
  });
  await new Promise((resolve) => child.once('close', resolve));
  return out.trim();
}

function tempSocketPath(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'am-pdp-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'amavisd.sock');
}

async function startFake(
  onConnection: (connection: FakeConnection) => void | Promise<void>,
  where: 'inet' | 'unix' = 'inet',
): Promise<Fake> {
  const connections: FakeConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    let all = Buffer.alloc(0);
    let unread = '';
    let waiter: (() => void) | null = null;
    socket.on('data', (chunk: Buffer) => {
      all = Buffer.concat([all, chunk]);
      unread += chunk.toString('latin1');
      waiter?.();
    });
    const takeRequest = (): string | null => {
      if (unread.startsWith('\r\n')) {
        unread = unread.slice(2);
        return '\r\n';
      }
      const end = unread.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const request = unread.slice(0, end + 4);
      unread = unread.slice(end + 4);
      return request;
    };
    const connection: FakeConnection = {
      socket,
      received: () => all,
      nextRequest: async () => {
        for (;;) {
          const request = takeRequest();
          if (request !== null) return request;
          await new Promise<void>((resolve) => {
            waiter = resolve;
          });
          waiter = null;
        }
      },
    };
    connections.push(connection);
    void Promise.resolve(onConnection(connection)).catch(() => socket.destroy());
  });
  let endpoint: PdpEndpoint;
  if (where === 'unix') {
    const socketPath = tempSocketPath();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    endpoint = { kind: 'unix', path: socketPath };
  } else {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = { kind: 'inet', host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
  }
  const fake: Fake = {
    endpoint,
    connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  cleanups.push(fake.close);
  return fake;
}

/** Answers every request on every connection with `reply(request)`. */
function answering(reply: (request: string, index: number) => string | Buffer) {
  return async (connection: FakeConnection) => {
    for (let i = 0; ; i++) {
      const request = await connection.nextRequest();
      connection.socket.write(reply(request, i));
    }
  };
}

async function openSession(fake: Fake, timeouts?: { connectMs?: number; readMs?: number }) {
  const session = await AmPdpSession.open(fake.endpoint, timeouts);
  cleanups.push(() => session.close());
  return session;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function rejection(promise: Promise<unknown>): Promise<AmPdpError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AmPdpError);
  return error as AmPdpError;
}

/** The Perl reference decoder: s/%([0-9a-fA-F]{2})/pack("C",hex($1))/eg. */
function perlDecode(text: string): Buffer {
  return Buffer.from(
    text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    'latin1',
  );
}

/** The attributes of a raw request, decoded the way amavisd's reader does. */
function parseRequest(raw: string): Array<[string, string]> {
  return raw
    .split('\r\n')
    .filter((line) => line !== '')
    .map((line) => {
      const match = /^([^=\0\n]*?)(=|:[ \t]*)([^\n]*?)$/s.exec(line);
      if (!match) throw new Error(`bad line ${line}`);
      return [perlDecode(match[1] ?? '').toString('utf8'), perlDecode(match[3] ?? '').toString('utf8')];
    });
}

const RELEASE: ReleaseRequest = {
  mailId: 'DvUOgQDIgs-v',
  secretId: 'An_bVCKfxR19',
  partitionTag: 0,
  quarType: 'Q',
  recipients: ['user1@example.test'],
  requestedBy: 'admin@example.test',
};

const OK_REPLY =
  'setreply=250 2.0.0 from%20MTA(smtp:[127.0.0.1]:10025):%20250%202.0.0%20Ok:%20queued\r\n\r\n';

// --- encoding ------------------------------------------------------------------------------------------

describe('AM.PDP encoding', () => {
  it('encodes names as README.protocol says: only [0-9a-zA-Z_-] stay raw', () => {
    expect(encodeName('mail_id')).toBe('mail_id');
    expect(encodeName('x-y')).toBe('x-y');
    expect(encodeName('a=b:c d%é')).toBe('a%3db%3ac%20d%25%c3%a9');
  });

  it('encodes values: everything outside \\x21-\\x24 \\x26-\\x7e becomes %xx of the UTF-8 bytes', () => {
    expect(encodeValue('<user1@example.test>')).toBe('<user1@example.test>');
    expect(encodeValue('a b%c\r\nd\0e\tf')).toBe('a%20b%25c%0d%0ad%00e%09f');
    expect(encodeValue('"john doe"@exämple.test')).toBe('"john%20doe"@ex%c3%a4mple.test');
    expect(encodeValue('😀\x7f')).toBe('%f0%9f%98%80%7f');
    expect(encodeValue('')).toBe('');
  });

  it('decodes %xx in either case, as UTF-8 when valid and Latin-1 otherwise; stray % stays', () => {
    expect(decodeField('Ok:%20queued%2Fas%2fX')).toBe('Ok: queued/as/X');
    expect(decodeField('caf%c3%a9')).toBe('café');
    expect(decodeField('caf%e9')).toBe('café');
    expect(decodeField('%0d%0a%00')).toBe('\r\n\0');
    expect(decodeField('100%zz %4')).toBe('100%zz %4');
  });

  it("round-trips any string through amavisd's decoder, with no restricted character left raw", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const encoded = encodeValue(value);
        expect(encoded).toMatch(/^(?:[\x21-\x24\x26-\x7e]|%[0-9a-f]{2})*$/);
        expect(perlDecode(encoded).equals(Buffer.from(value, 'utf8'))).toBe(true);
        expect(decodeField(encoded)).toBe(Buffer.from(value, 'utf8').toString('utf8'));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1 }), (name) => {
        const encoded = encodeName(name);
        expect(encoded).toMatch(/^[0-9A-Za-z_%-]+$/);
        expect(perlDecode(encoded).equals(Buffer.from(name, 'utf8'))).toBe(true);
      }),
    );
  });
});

// --- requests and replies -----------------------------------------------------------------------------

describe('AmPdpSession.request', () => {
  it('sends CRLF lines and an empty line, and decodes the reply in order', async () => {
    const fake = await startFake(
      answering(
        () => 'setreply=450 4.5.0 Failure:%20a%20b%25c%0d%0a%00%c3%a9\r\nreturn_value=tempfail\r\n\r\n',
      ),
    );
    const session = await openSession(fake);
    const response = await session.request([
      ['request', 'release'],
      ['name with=sign', 'va lue%\r\n\0é'],
    ]);
    expect(fake.connections[0]?.received().toString('latin1')).toBe(
      'request=release\r\nname%20with%3dsign=va%20lue%25%0d%0a%00%c3%a9\r\n\r\n',
    );
    expect(response).toEqual({
      attributes: [
        ['setreply', '450 4.5.0 Failure: a b%c\r\n\0é'],
        ['return_value', 'tempfail'],
      ],
      replies: [{ code: 450, enhanced: '4.5.0', text: 'Failure: a b%c\r\n\0é' }],
    });
  });

  it('reassembles a reply split into single bytes across TCP segments', async () => {
    const reply = Buffer.from(
      'setreply=250 2.0.0 from%20MTA(smtp:[127.0.0.1]:10025):%20250%202.0.0%20Ok%E9\r\nexit_code=0\r\n\r\n',
      'latin1',
    );
    const fake = await startFake(async (connection) => {
      await connection.nextRequest();
      for (const byte of reply) {
        connection.socket.write(Buffer.from([byte]));
        await sleep(1);
      }
    });
    const session = await openSession(fake);
    const response = await session.request([['request', 'release']]);
    expect(response.replies).toEqual([
      { code: 250, enhanced: '2.0.0', text: 'from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok\u00e9' },
    ]);
    expect(response.attributes.at(-1)).toEqual(['exit_code', '0']);
  });

  it('accepts bare LF line ends and `name: value` lines', async () => {
    const fake = await startFake(
      answering(() => 'setreply: 250 2.0.0 Ok\nreturn_value:\tcontinue\nfoo=\nx%3dy=1\n\n'),
    );
    const session = await openSession(fake);
    const response = await session.request([['request', 'release']]);
    expect(response.attributes).toEqual([
      ['setreply', '250 2.0.0 Ok'],
      ['return_value', 'continue'],
      ['foo', ''],
      ['x=y', '1'],
    ]);
    expect(response.replies).toEqual([{ code: 250, enhanced: '2.0.0', text: 'Ok' }]);
  });

  it('reads a setreply without an enhanced code, and one with an empty text', async () => {
    const fake = await startFake(
      answering(() => 'setreply=554 Rejected%20here\r\nsetreply=250 2.0.0\r\n\r\n'),
    );
    const session = await openSession(fake);
    expect((await session.request([['request', 'x']])).replies).toEqual([
      { code: 554, enhanced: '5.0.0', text: 'Rejected here' },
      { code: 250, enhanced: '2.0.0', text: '' },
    ]);
  });

  it('carries several requests on one connection; overlapping calls wait their turn', async () => {
    const fake = await startFake(
      answering((request, i) => {
        const id = parseRequest(request).find(([name]) => name === 'mail_id')?.[1];
        return `setreply=250 2.0.0 reply%20${i}%20for%20${id}\r\n\r\n`;
      }),
    );
    const session = await openSession(fake);
    const first = await session.request([
      ['request', 'release'],
      ['mail_id', 'a'],
    ]);
    const [second, third] = await Promise.all([
      session.request([
        ['request', 'release'],
        ['mail_id', 'b'],
      ]),
      session.request([
        ['request', 'release'],
        ['mail_id', 'c'],
      ]),
    ]);
    expect([first, second, third].map((r) => r.replies[0]?.text)).toEqual([
      'reply 0 for a',
      'reply 1 for b',
      'reply 2 for c',
    ]);
    expect(fake.connections).toHaveLength(1);
  });

  it('works over a unix socket', async () => {
    const fake = await startFake(
      answering(() => OK_REPLY),
      'unix',
    );
    expect(describeEndpoint(fake.endpoint)).toMatch(/^unix:\/.*amavisd\.sock$/);
    const session = await openSession(fake);
    expect(session.endpoint).toBe(describeEndpoint(fake.endpoint));
    expect((await session.release(RELEASE)).ok).toBe(true);
    expect((await session.release(RELEASE)).ok).toBe(true);
  });

  it('times out when amavisd never finishes its reply, and the session stays unusable', async () => {
    const fake = await startFake(async (connection) => {
      await connection.nextRequest();
      connection.socket.write('setreply=250 2.0.0 Ok\r\n');
    });
    const session = await openSession(fake, { readMs: 200 });
    const started = Date.now();
    const error = await rejection(session.request([['request', 'release']]));
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.name).toBe('AmPdpError');
    expect(error.reason).toBe('timeout');
    expect(error.endpoint).toBe(describeEndpoint(fake.endpoint));
    expect(error.message).toBe(
      `amavisd at ${describeEndpoint(fake.endpoint)} sent no complete AM.PDP reply within 200 ms`,
    );
    const before = fake.connections[0]?.received().length;
    const again = Date.now();
    const later = await rejection(session.request([['request', 'release']]));
    expect(Date.now() - again).toBeLessThan(100);
    expect(later.reason).toBe('timeout');
    expect(later.message).toContain('unusable after an earlier error');
    expect(fake.connections[0]?.received().length).toBe(before);
    await expect(session.release(RELEASE)).rejects.toBeInstanceOf(AmPdpError);
  });

  it('reports a connection closed in the middle of a reply', async () => {
    const fake = await startFake(async (connection) => {
      await connection.nextRequest();
      connection.socket.end('setreply=250 2.0.0 O');
    });
    const session = await openSession(fake);
    const error = await rejection(session.request([['request', 'release']]));
    expect(error.reason).toBe('closed');
    expect(error.message).toBe(
      `amavisd at ${describeEndpoint(fake.endpoint)} closed the connection in the middle of a reply (after 20 bytes)`,
    );
    expect((await rejection(session.request([['request', 'release']]))).reason).toBe('closed');
  });

  it('reports a connection closed before any answer (what an inet_acl refusal looks like)', async () => {
    const fake = await startFake(async (connection) => {
      await connection.nextRequest();
      connection.socket.destroy();
    });
    const session = await openSession(fake);
    const error = await rejection(session.request([['request', 'release']]));
    expect(error.reason).toBe('closed');
    expect(error.message).toContain('closed the connection without answering');
    expect(error.message).toContain(describeEndpoint(fake.endpoint));
  });

  it('notices an idle connection closed by amavisd and fails the next request at once', async () => {
    const fake = await startFake((connection) => {
      connection.socket.end();
    });
    const session = await openSession(fake);
    await sleep(50);
    const error = await rejection(session.request([['request', 'release']]));
    expect(error.reason).toBe('closed');
    expect(error.message).toContain('closed the idle AM.PDP connection');
  });

  it('rejects a garbage line as a protocol error, quoting it', async () => {
    const fake = await startFake(
      answering(() => 'setreply=250 2.0.0 Ok\r\nthis is not\x01 an attribute\r\n\r\n'),
    );
    const session = await openSession(fake);
    const error = await rejection(session.request([['request', 'release']]));
    expect(error.reason).toBe('protocol');
    expect(error.message).toBe(
      `amavisd at ${describeEndpoint(fake.endpoint)} sent a line that is not an AM.PDP attribute: "this is not\\u0001 an attribute"`,
    );
  });

  it('rejects a malformed setreply', async () => {
    const fake = await startFake(answering(() => 'setreply=ok fine\r\n\r\n'));
    const session = await openSession(fake);
    const error = await rejection(session.request([['request', 'release']]));
    expect(error.reason).toBe('protocol');
    expect(error.message).toContain('a malformed setreply: "setreply=ok fine"');
  });

  it('recognises an SMTP port (a policy bank without protocol AM.PDP) by its greeting', async () => {
    const fake = await startFake(async (connection) => {
      connection.socket.write('220 [127.0.0.1] ESMTP amavisd-new service ready\r\n');
      await connection.nextRequest();
      connection.socket.write('500 5.5.2 Error: bad syntax\r\n');
    });
    const session = await openSession(fake);
    await sleep(50);
    const error = await rejection(session.request([['request', 'release']]));
    expect(error.reason).toBe('protocol');
    expect(error.message).toContain(
      'data before any request: "220 [127.0.0.1] ESMTP amavisd-new service ready"',
    );
    expect(error.message).toContain('this port speaks SMTP, not AM.PDP');
  });

  it('rejects data that follows the end of a reply, on the next request', async () => {
    const fake = await startFake(
      answering(() => 'setreply=250 2.0.0 Ok\r\n\r\nsetreply=250 2.0.0 Again\r\n\r\n'),
    );
    const session = await openSession(fake);
    expect((await session.request([['request', 'release']])).replies).toHaveLength(1);
    const error = await rejection(session.request([['request', 'release']]));
    expect(error.reason).toBe('protocol');
    expect(error.message).toContain('data after the end of a reply: "setreply=250 2.0.0 Again"');
  });

  it('refuses a line that never ends instead of buffering without bound', async () => {
    const fake = await startFake(async (connection) => {
      await connection.nextRequest();
      connection.socket.write(`setreply=250 2.0.0 ${'x'.repeat(70 * 1024)}`);
    });
    const session = await openSession(fake);
    const error = await rejection(session.request([['request', 'release']]));
    expect(error.reason).toBe('protocol');
    expect(error.message).toContain('a line longer than 65536 bytes');
  });

  it('close() is idempotent, fails a waiting request, and later requests reject as closed', async () => {
    const fake = await startFake(async (connection) => {
      await connection.nextRequest();
    });
    const session = await openSession(fake);
    const waiting = rejection(session.request([['request', 'release']]));
    await sleep(20);
    await session.close();
    await session.close();
    expect((await waiting).reason).toBe('closed');
    const later = await rejection(session.request([['request', 'release']]));
    expect(later.reason).toBe('closed');
    expect(later.message).toBe(`the AM.PDP session to ${describeEndpoint(fake.endpoint)} is closed`);
  });
});

// --- connecting ----------------------------------------------------------------------------------------

/** A listener that never accepts: its backlog fills and further SYNs go unanswered, so connect() hangs. */
async function unansweredPort(): Promise<number> {
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(
    `const net = require('node:net');
     const { parentPort, workerData } = require('node:worker_threads');
     const server = net.createServer();
     server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       Atomics.wait(new Int32Array(workerData), 0, 0);
     });`,
    { eval: true, workerData: stop },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  const fillers: net.Socket[] = [];
  cleanups.push(async () => {
    for (const socket of fillers) socket.destroy();
    Atomics.store(new Int32Array(stop), 0, 1);
    Atomics.notify(new Int32Array(stop), 0);
    await worker.terminate();
  });
  for (let i = 0; i < 16; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) return port;
  }
  throw new Error('the backlog never filled up');
}

describe('AmPdpSession.open', () => {
  it('names the endpoint and ECONNREFUSED when nothing listens on the port', async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await rejection(AmPdpSession.open({ kind: 'inet', host: '127.0.0.1', port }));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error.reason).toBe('connect');
    expect(error.endpoint).toBe(`inet:127.0.0.1:${port}`);
    expect(error.message).toMatch(
      new RegExp(
        `^cannot connect to amavisd AM.PDP at inet:127\\.0\\.0\\.1:${port}: ECONNREFUSED connection refused \\(`,
      ),
    );
    expect(error.message).not.toContain('    at ');
  });

  it('names the socket and ENOENT when the socket file does not exist', async () => {
    const missing = path.join(path.dirname(tempSocketPath()), 'nope.sock');
    const error = await rejection(AmPdpSession.open({ kind: 'unix', path: missing }));
    expect(error.reason).toBe('connect');
    expect(error.endpoint).toBe(`unix:${missing}`);
    expect(error.message).toContain(
      `cannot connect to amavisd AM.PDP at unix:${missing}: ENOENT no such socket`,
    );
  });

  it('says ECONNREFUSED for a stale socket file nobody listens on', async () => {
    const stale = tempSocketPath();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(stale, resolve));
    // closing a unix server removes its file; a crashed amavisd leaves it behind
    fs.linkSync(stale, `${stale}.keep`);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.renameSync(`${stale}.keep`, stale);
    const error = await rejection(AmPdpSession.open({ kind: 'unix', path: stale }));
    expect(error.reason).toBe('connect');
    expect(error.message).toContain('ECONNREFUSED connection refused');
  });

  it('says when the socket path is not a socket', async () => {
    const file = path.join(path.dirname(tempSocketPath()), 'plain-file');
    fs.writeFileSync(file, '');
    const error = await rejection(AmPdpSession.open({ kind: 'unix', path: file }));
    expect(error.reason).toBe('connect');
    expect(error.message).toBe(
      `cannot connect to amavisd AM.PDP at unix:${file}: ECONNREFUSED connection refused (the path is not a socket)`,
    );
  });

  it('says EACCES when the socket is not writable for this user', async () => {
    const fake = await startFake(
      answering(() => OK_REPLY),
      'unix',
    );
    if (fake.endpoint.kind !== 'unix') throw new Error('unix expected');
    fs.chmodSync(path.dirname(fake.endpoint.path), 0o755);
    fs.chmodSync(fake.endpoint.path, 0o000);
    // root opens any socket: as root (CI), the attempt runs in a child process as nobody
    const message =
      process.getuid?.() === 0
        ? await openAsNobody(fake.endpoint.path)
        : (await rejection(AmPdpSession.open(fake.endpoint))).message;
    expect(message).toContain('EACCES permission denied');
  });

  it('gives up connecting after connectMs', async () => {
    const port = await unansweredPort();
    const started = Date.now();
    const error = await rejection(
      AmPdpSession.open({ kind: 'inet', host: '127.0.0.1', port }, { connectMs: 250 }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(230);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(error.reason).toBe('connect');
    expect(error.message).toBe(
      `cannot connect to amavisd AM.PDP at inet:127.0.0.1:${port}: no answer within 250 ms`,
    );
  });

  it('rejects nonsense timeouts', async () => {
    await expect(
      AmPdpSession.open({ kind: 'inet', host: '127.0.0.1', port: 1 }, { readMs: 0 }),
    ).rejects.toThrow('AM.PDP readMs must be a positive number of ms');
  });
});

// --- release --------------------------------------------------------------------------------------------

describe('AmPdpSession.release', () => {
  it('sends request, mail_id, secret_id, partition_tag, quar_type, requested_by, recipients in that order', async () => {
    const fake = await startFake(answering(() => OK_REPLY));
    const session = await openSession(fake);
    const outcome = await session.release({
      ...RELEASE,
      partitionTag: 47,
      recipients: ['<boss@example.test>', '"john doe"@example.test', 'grüße@example.test'],
      requestedBy: ' admin@example.test ',
    });
    const raw = fake.connections[0]?.received().toString('latin1');
    expect(raw).toBe(
      [
        'request=release',
        'mail_id=DvUOgQDIgs-v',
        'secret_id=An_bVCKfxR19',
        'partition_tag=47',
        'quar_type=Q',
        'requested_by=<admin@example.test>',
        'recipient=<boss@example.test>',
        'recipient=<"john%20doe"@example.test>',
        'recipient=<gr%c3%bc%c3%9fe@example.test>',
        '',
        '',
      ].join('\r\n'),
    );
    expect(outcome).toEqual({
      ok: true,
      replies: [
        { code: 250, enhanced: '2.0.0', text: 'from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued' },
      ],
      error: null,
    });
  });

  it('sends request=requeue, and leaves out an empty secret_id, a blank quar_type and requested_by', async () => {
    const fake = await startFake(answering(() => OK_REPLY));
    const session = await openSession(fake);
    await session.release({
      mailId: 'abc',
      secretId: '',
      partitionTag: 0,
      quarType: ' ',
      recipients: ['a@example.test'],
      request: 'requeue',
    });
    expect(parseRequest(fake.connections[0]?.received().toString('latin1') ?? '')).toEqual([
      ['request', 'requeue'],
      ['mail_id', 'abc'],
      ['partition_tag', '0'],
      ['recipient', '<a@example.test>'],
    ]);
  });

  it('treats any 2xx as success, without looking for the word Ok', async () => {
    const fake = await startFake(answering(() => 'setreply=251 2.1.5 Delivered%20elsewhere\r\n\r\n'));
    const session = await openSession(fake);
    expect(await session.release(RELEASE)).toMatchObject({ ok: true, error: null });
  });

  it("reports amavisd's refusal as ok:false with its text, without Perl's source location or the secret", async () => {
    const fake = await startFake(
      answering(
        () =>
          'setreply=450 4.5.0 Failure:%20Secret_id%20An_bVCKfxR19%20does%20not%20match%20mail_id%20DvUOgQDIgs-v%20at%20/usr/share/perl5/Amavis/In/AMPDP.pm%20line%20311,%20<GEN28>%20line%205.\r\n' +
          'return_value=tempfail\r\nexit_code=75\r\n\r\n',
      ),
    );
    const session = await openSession(fake);
    const outcome = await session.release(RELEASE);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toBe('450 4.5.0 Failure: Secret_id … does not match mail_id DvUOgQDIgs-v');
    expect(outcome.replies[0]?.text).toContain('Secret_id An_bVCKfxR19 does not match');
  });

  it('reports a 5xx as a failure', async () => {
    const fake = await startFake(answering(() => 'setreply=554 5.7.1 Rejected%20by%20MTA\r\n\r\n'));
    const session = await openSession(fake);
    expect(await session.release(RELEASE)).toMatchObject({ ok: false, error: '554 5.7.1 Rejected by MTA' });
  });

  it('fails when one of several recipients fails, naming it', async () => {
    const fake = await startFake(
      answering(
        () =>
          'setreply=250 2.0.0 from%20MTA:%20250%20Ok\r\n' +
          'setreply=450 4.5.0 ERROR:%20mailbox%20full\r\n' +
          'setreply=250 2.0.0 from%20MTA:%20250%20Ok\r\n\r\n',
      ),
    );
    const session = await openSession(fake);
    const outcome = await session.release({
      ...RELEASE,
      recipients: ['a@example.test', 'b@example.test', 'c@example.test'],
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.replies.map((r) => r.code)).toEqual([250, 450, 250]);
    expect(outcome.error).toBe('b@example.test: 450 4.5.0 ERROR: mailbox full');
  });

  it('fails when amavisd answers without any setreply', async () => {
    const fake = await startFake(answering(() => 'return_value=continue\r\n\r\n'));
    const session = await openSession(fake);
    expect(await session.release(RELEASE)).toEqual({
      ok: false,
      replies: [],
      error: 'amavisd answered without a setreply, so nothing is known to be released',
    });
  });

  it('refuses what amavisd would refuse or mangle, without network I/O, and the session stays usable', async () => {
    const fake = await startFake(answering(() => OK_REPLY));
    const session = await openSession(fake);
    const cases: Array<[Partial<ReleaseRequest>, string]> = [
      [{ mailId: "b'CsYzT_eYhU7v'" }, `invalid mail_id "b'CsYzT_eYhU7v'": amavisd accepts only`],
      [{ mailId: '' }, 'invalid mail_id ""'],
      [{ mailId: '-abc' }, 'invalid mail_id "-abc"'],
      [{ mailId: 'abc def' }, 'invalid mail_id "abc def"'],
      [{ mailId: 'abc\n' }, 'invalid mail_id "abc\\n"'],
      [{ recipients: [] }, 'no recipient to release the message to'],
      [{ recipients: ['a@example.test', ' '] }, 'an empty recipient address'],
      [{ recipients: ['a@example.test\r\nRCPT TO:<x@evil.test>'] }, 'contains control characters'],
      [{ requestedBy: 'a\0b' }, 'requested_by "a\\u0000b" contains control characters'],
      [{ quarType: 'QQ' }, 'invalid quar_type "QQ"'],
      [{ partitionTag: 1.5 }, 'invalid partition_tag 1.5'],
      [{ request: 'report' as 'release' }, 'invalid request "report"'],
    ];
    for (const [change, error] of cases) {
      const outcome = await session.release({ ...RELEASE, ...change });
      expect(outcome.ok).toBe(false);
      expect(outcome.replies).toEqual([]);
      expect(outcome.error).toContain(error);
    }
    await sleep(20);
    expect(fake.connections[0]?.received().length).toBe(0);
    expect((await session.release({ ...RELEASE, mailId: 'Ab0_+-x==' })).ok).toBe(true);
  });
});

// --- probe ----------------------------------------------------------------------------------------------

describe('probeAmPdp', () => {
  it('sends a release for a mail_id amavisd can never have issued, with a matching secret_id', async () => {
    const fake = await startFake(
      answering(
        () =>
          "setreply=450 4.5.0 Failure:%20Can't%20open%20sql%20obj%20for%20reading:%20No%20such%20file%20or%20directory%20at%20/usr/share/perl5/Amavis/In/AMPDP.pm%20line%20380.\r\n\r\n",
      ),
    );
    const result = await probeAmPdp(fake.endpoint);
    expect(result.ok).toBe(true);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.detail).toMatch(
      /^amavisd at inet:127\.0\.0\.1:\d+ answered in \d+ ms: 450 4\.5\.0 Failure: Can't open sql obj for reading: No such file or directory$/,
    );
    const attributes = new Map(parseRequest(fake.connections[0]?.received().toString('latin1') ?? ''));
    expect([...attributes.keys()]).toEqual(['request', 'mail_id', 'secret_id']);
    expect(attributes.get('request')).toBe('release');
    const mailId = attributes.get('mail_id') ?? '';
    // amavisd's syntax check passes, but generate_mail_id never ends an id with - or _
    expect(mailId).toMatch(/^[A-Za-z0-9][A-Za-z0-9_+-]*={0,2}$/);
    expect(mailId).toMatch(/^.{11}[-_]$/);
    const secret = Buffer.from(attributes.get('secret_id') ?? '', 'base64url');
    expect(createHash('md5').update(secret).digest('base64url').slice(0, 12)).toBe(mailId);
    // the session is closed afterwards
    await sleep(20);
    expect(fake.connections[0]?.socket.readableEnded || fake.connections[0]?.socket.destroyed).toBe(true);
  });

  it('is not ok when the endpoint refuses, times out, or accepts the impossible', async () => {
    const port = await freePort();
    const refused = await probeAmPdp({ kind: 'inet', host: '127.0.0.1', port });
    expect(refused.ok).toBe(false);
    expect(refused.detail).toContain(`inet:127.0.0.1:${port}: ECONNREFUSED`);

    const silent = await startFake(async (connection) => {
      await connection.nextRequest();
    });
    const timedOut = await probeAmPdp(silent.endpoint, { readMs: 150 });
    expect(timedOut.ok).toBe(false);
    expect(timedOut.detail).toContain('sent no complete AM.PDP reply within 150 ms');

    const bare = await startFake(answering(() => 'return_value=continue\r\n\r\n'));
    expect((await probeAmPdp(bare.endpoint)).detail).toContain('without a setreply');

    const yes = await startFake(answering(() => OK_REPLY));
    const accepted = await probeAmPdp(yes.endpoint);
    expect(accepted.ok).toBe(false);
    expect(accepted.detail).toContain('accepted a release of a message that cannot exist');
  });
});

// --- endpoints ------------------------------------------------------------------------------------------

describe('AM.PDP endpoints', () => {
  it('parses unix and inet forms', () => {
    expect(parsePdpEndpoint('unix:/var/lib/amavis/amavisd.sock')).toEqual({
      kind: 'unix',
      path: '/var/lib/amavis/amavisd.sock',
    });
    expect(parsePdpEndpoint(' /var/lib/amavis/amavisd.sock ')).toEqual({
      kind: 'unix',
      path: '/var/lib/amavis/amavisd.sock',
    });
    expect(parsePdpEndpoint('inet:127.0.0.1:9998')).toEqual({ kind: 'inet', host: '127.0.0.1', port: 9998 });
    expect(parsePdpEndpoint('amavis.example.test:9998')).toEqual({
      kind: 'inet',
      host: 'amavis.example.test',
      port: 9998,
    });
    expect(parsePdpEndpoint('[::1]:9998')).toEqual({ kind: 'inet', host: '::1', port: 9998 });
    expect(parsePdpEndpoint('INET:[2001:db8::5]:10000')).toEqual({
      kind: 'inet',
      host: '2001:db8::5',
      port: 10000,
    });
  });

  it('describes endpoints so that the description parses back', () => {
    for (const text of ['unix:/var/lib/amavis/amavisd.sock', 'inet:127.0.0.1:9998', 'inet:[::1]:9998']) {
      expect(describeEndpoint(parsePdpEndpoint(text))).toBe(text);
    }
  });

  it('rejects what is not an endpoint, saying why', () => {
    const cases: Array<[string, string]> = [
      ['', 'AM.PDP endpoint is empty'],
      ['unix:', 'has no socket path'],
      ['unix:amavisd.sock', 'the socket path must be absolute'],
      ['127.0.0.1', 'has no port'],
      ['127.0.0.1:', 'port "" is not a number'],
      ['127.0.0.1:99999', 'port 99999 is not in 1-65535'],
      ['127.0.0.1:0', 'port 0 is not in 1-65535'],
      ['host:98a', 'port "98a" is not a number'],
      [':9998', 'has no host'],
      ['::1:9998', 'write an IPv6 address in brackets'],
      ['[127.0.0.1]:9998', 'only IPv6 addresses go in brackets'],
      ['tcp://127.0.0.1:9998', 'is a URL'],
      ['my host:9998', 'is not a host name or address'],
    ];
    for (const [text, message] of cases) expect(() => parsePdpEndpoint(text), text).toThrow(message);
  });

  const settings = {
    amPdpMode: 'unix' as 'unix' | 'inet',
    amPdpHost: 'localhost',
    amPdpPort: 9998,
    amPdpSocket: '/var/lib/amavis/amavisd.sock',
    amPdpEndpointsByHost: {} as Record<string, string>,
  };

  it('builds the default endpoint from the modoboa-style settings', () => {
    expect(pdpRoutingFromSettings(settings).default).toEqual({
      kind: 'unix',
      path: '/var/lib/amavis/amavisd.sock',
    });
    expect(pdpRoutingFromSettings({ ...settings, amPdpMode: 'inet' }).default).toEqual({
      kind: 'inet',
      host: 'localhost',
      port: 9998,
    });
    expect(pdpRoutingFromSettings({ ...settings, amPdpMode: 'inet', amPdpHost: '[::1]' }).default).toEqual({
      kind: 'inet',
      host: '::1',
      port: 9998,
    });
    expect(() => pdpRoutingFromSettings({ ...settings, amPdpSocket: 'amavisd.sock' })).toThrow(
      'amPdpSocket "amavisd.sock" must be an absolute socket path',
    );
    expect(() => pdpRoutingFromSettings({ ...settings, amPdpMode: 'inet', amPdpPort: 0 })).toThrow(
      'amPdpPort 0 is not in 1-65535',
    );
  });

  it('routes a message to the amavisd that quarantined it (msgs.host, case-insensitive)', () => {
    const routing = pdpRoutingFromSettings({
      ...settings,
      amPdpEndpointsByHost: {
        'MX1.example.test': 'inet:10.0.0.1:9998',
        'mx2.example.test': 'unix:/run/mx2.sock',
      },
    });
    expect(endpointForHost(routing, 'mx1.EXAMPLE.test')).toEqual({
      kind: 'inet',
      host: '10.0.0.1',
      port: 9998,
    });
    expect(endpointForHost(routing, 'mx2.example.test.')).toEqual({ kind: 'unix', path: '/run/mx2.sock' });
    expect(endpointForHost(routing, 'mx3.example.test')).toBe(routing.default);
    expect(endpointForHost(routing, null)).toBe(routing.default);
    expect(endpointForHost(routing, undefined)).toBe(routing.default);
    expect(endpointForHost(routing, '')).toBe(routing.default);
    expect(
      endpointForHost(
        { default: routing.default, byHost: new Map([['Mixed.Case', { kind: 'unix', path: '/m.sock' }]]) },
        'mixed.case',
      ),
    ).toEqual({ kind: 'unix', path: '/m.sock' });
  });

  it('names the host whose endpoint text is wrong, and refuses a host listed twice', () => {
    expect(() => pdpRoutingFromSettings({ ...settings, amPdpEndpointsByHost: { mx1: 'nonsense' } })).toThrow(
      'amPdpEndpointsByHost["mx1"]: AM.PDP endpoint "nonsense" has no port',
    );
    expect(() =>
      pdpRoutingFromSettings({ ...settings, amPdpEndpointsByHost: { mx1: '/a.sock', MX1: '/b.sock' } }),
    ).toThrow('amPdpEndpointsByHost lists host "mx1" twice');
  });
});
