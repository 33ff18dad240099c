// The IMAP login adapter against the lab's real Dovecot (good, wrong and unusual credentials), against
// servers that fail in ways that are not the user's fault, and against scripted IMAP servers for the
// answers Dovecot does not give (PREAUTH, NO [UNAVAILABLE], BAD, a self-signed certificate).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ImapUnavailableError, ImapUrlError, imapAuthenticate } from '../../server/access/imap-auth.ts';
import { describeWith, readLabEnv } from '../support/services.ts';

interface LabUser {
  username: string;
  password: string;
}

/** Rejects with whatever imapAuthenticate threw (a failing expectation when it resolved). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

interface LocalServer {
  url: string;
  /** Commands received, one line each (the tag cut off). */
  commands: string[];
  /** Resolves when the client closed its connection. */
  closed: Promise<void>;
  close(): Promise<void>;
}

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/**
 * A TCP server on a random loopback port for one connection. `greeting` null: it accepts and never says
 * a word. Otherwise it greets and answers each command line with `answer(command, tag)`. With `tlsOptions`
 * it speaks TLS from the first byte (an imaps:// server).
 */
async function localServer(
  greeting: string | null,
  answer: (command: string, tag: string) => string = (_, tag) => `${tag} OK done`,
  tlsOptions?: tls.TlsOptions,
): Promise<LocalServer> {
  const commands: string[] = [];
  const sockets = new Set<net.Socket>();
  let onClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    onClosed = resolve;
  });
  const onSocket = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      onClosed();
    });
    if (greeting === null) return;
    socket.write(`${greeting}\r\n`);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const [tag = '', ...rest] = line.split(' ');
        const command = rest.join(' ');
        commands.push(command);
        socket.write(`${answer(command, tag)}\r\n`);
        if (/^LOGOUT\b/i.test(command)) socket.end();
      }
    });
  };
  const server = tlsOptions ? tls.createServer(tlsOptions, onSocket) : net.createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const local: LocalServer = {
    url: tlsOptions ? `imaps://127.0.0.1:${port}` : `imap://127.0.0.1:${port}?starttls=off`,
    commands,
    closed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  servers.push(local);
  return local;
}

/** An IMAP server without STARTTLS that answers LOGIN with `loginAnswer`; every other command gets OK. */
function scriptedImap(
  loginAnswer: (tag: string) => string,
  greeting = '* OK scripted IMAP ready',
  tlsOptions?: tls.TlsOptions,
) {
  return localServer(
    greeting,
    (command, tag) => {
      const verb = command.split(' ')[0]?.toUpperCase();
      if (verb === 'CAPABILITY') return `* CAPABILITY IMAP4rev1\r\n${tag} OK CAPABILITY done`;
      if (verb === 'LOGIN') return loginAnswer(tag);
      if (verb === 'NAMESPACE') return `* NAMESPACE (("" "/")) NIL NIL\r\n${tag} OK NAMESPACE done`;
      if (verb === 'LOGOUT') return `* BYE logging out\r\n${tag} OK LOGOUT done`;
      return `${tag} OK done`;
    },
    tlsOptions,
  );
}

/** A throwaway self-signed key and certificate from the openssl command (null when there is none). */
function selfSignedCertificate(): { key: string; cert: string } | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imap-auth-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1']
        .concat(['-subj', '/CN=imap.example.test', '-addext', 'subjectAltName=IP:127.0.0.1'])
        .concat(['-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]),
      { stdio: 'ignore' },
    );
    return {
      key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'),
      cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
    };
  } catch {
    return null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms),
    ),
  ]);
}

await describeWith(['imap'], 'IMAP login against Dovecot', () => {
  const lab = readLabEnv() ?? {};
  const url = lab.AMAVIS_LAB_IMAP_URL ?? '';
  const users = JSON.parse(lab.AMAVIS_LAB_IMAP_USERS ?? '[]') as LabUser[];
  const user = (username: string): LabUser => {
    const found = users.find((u) => u.username === username);
    if (!found) throw new Error(`${username} is not in AMAVIS_LAB_IMAP_USERS`);
    return found;
  };
  // looked up in beforeAll: a skipped describe still runs this body
  let user1: LabUser;
  let user2: LabUser;
  let user3: LabUser;
  beforeAll(() => {
    [user1, user2, user3] = ['user1', 'user2', 'user3'].map((u) => user(`${u}@example.test`)) as [
      LabUser,
      LabUser,
      LabUser,
    ];
  });

  it('accepts good credentials', async () => {
    expect(await imapAuthenticate(url, user1.username, user1.password)).toBe(true);
    expect(await imapAuthenticate(url, user2.username, user2.password)).toBe(true);
  });

  it('rejects a wrong password', async () => {
    expect(await imapAuthenticate(url, user1.username, `${user1.password}x`)).toBe(false);
    expect(await imapAuthenticate(url, user2.username, user1.password)).toBe(false);
  });

  it('rejects an unknown user', async () => {
    expect(await imapAuthenticate(url, 'nobody-here@example.test', user1.password)).toBe(false);
  });

  it('accepts a password with spaces and non-ASCII letters, and only that exact one', async () => {
    expect(user3.password).toMatch(/ /);
    expect(user3.password).toMatch(/[^\x20-\x7e]/);
    expect(await imapAuthenticate(url, user3.username, user3.password)).toBe(true);
    // the same letters decomposed (NFD) are other bytes: no silent normalisation anywhere on the way
    expect(await imapAuthenticate(url, user3.username, user3.password.normalize('NFD'))).toBe(false);
  });

  it('does not ask the server about credentials that cannot be valid', async () => {
    const unreachable = 'imap://127.0.0.1:1';
    expect(await imapAuthenticate(unreachable, user1.username, '')).toBe(false);
    expect(await imapAuthenticate(unreachable, '', user1.password)).toBe(false);
    expect(await imapAuthenticate(url, user1.username, `${user1.password}\0`)).toBe(false);
  });

  it('fails as unavailable when STARTTLS is required but the lab Dovecot offers none', async () => {
    const err = await failure(imapAuthenticate(`${url}?starttls=required`, user1.username, user1.password));
    expect(err).toBeInstanceOf(ImapUnavailableError);
    expect(err.message).toContain(new URL(url).host);
    expect(err.message).not.toContain(user1.password);
  });

  it('fails as unavailable when imaps:// meets a plaintext port (TLS handshake failure)', async () => {
    const err = await failure(
      imapAuthenticate(url.replace(/^imap:/, 'imaps:'), user1.username, user1.password),
    );
    expect(err).toBeInstanceOf(ImapUnavailableError);
    expect(err.message).toMatch(/TLS/);
    expect(err.message).not.toContain(user1.password);
  });

  it('fails as unavailable, without the password in the message, when nothing listens', async () => {
    const err = await failure(imapAuthenticate('imap://127.0.0.1:1', user1.username, user1.password));
    expect(err).toBeInstanceOf(ImapUnavailableError);
    expect(err.message).toContain('127.0.0.1:1');
    expect(err.message).not.toContain(user1.password);
    expect((err as ImapUnavailableError).code).toBe('ECONNREFUSED');
  });

  it('rejects a bad URL before connecting', async () => {
    const err = await failure(imapAuthenticate('pop3://127.0.0.1:110', user1.username, user1.password));
    expect(err).toBeInstanceOf(ImapUrlError);
    expect(err.message).toMatch(/scheme/);
  });

  it('gives up within the timeout on a server that never speaks', async () => {
    const silent = await localServer(null);
    const started = performance.now();
    const err = await failure(
      imapAuthenticate(silent.url.replace('?starttls=off', ''), user1.username, user1.password, {
        timeoutMs: 400,
      }),
    );
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(ImapUnavailableError);
    expect(err.message).toMatch(/timed out/);
    expect(err.message).not.toContain(user1.password);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(1500);
    // and it hung up
    await withTimeout(silent.closed, 1000, 'connection close');
  });
});

describe('IMAP login against scripted servers', () => {
  const password = 'scripted-secret-42';

  it('true for OK, after which it logs out and hangs up', async () => {
    const server = await scriptedImap((tag) => `${tag} OK LOGIN completed`);
    expect(await imapAuthenticate(server.url, 'alice', password)).toBe(true);
    await withTimeout(server.closed, 1000, 'connection close');
    expect(server.commands.map((c) => c.split(' ')[0])).toContain('LOGIN');
    expect(server.commands.at(-1)).toBe('LOGOUT');
  });

  it('false for NO [AUTHENTICATIONFAILED] and for a NO without a code, and hangs up', async () => {
    for (const answer of ['NO [AUTHENTICATIONFAILED] Authentication failed.', 'NO LOGIN failed.']) {
      const server = await scriptedImap((tag) => `${tag} ${answer}`);
      expect(await imapAuthenticate(server.url, 'alice', password)).toBe(false);
      await withTimeout(server.closed, 1000, 'connection close');
    }
  });

  it('unavailable for NO [UNAVAILABLE], without the password even when the server echoes it', async () => {
    const server = await scriptedImap((tag) => `${tag} NO [UNAVAILABLE] backend down (you sent ${password})`);
    const err = await failure(imapAuthenticate(server.url, 'alice', password));
    expect(err).toBeInstanceOf(ImapUnavailableError);
    expect((err as ImapUnavailableError).code).toBe('UNAVAILABLE');
    expect(err.message).toContain('backend down');
    expect(err.message).not.toContain(password);
  });

  it('unavailable for BAD (a protocol problem, not a wrong password)', async () => {
    const server = await scriptedImap((tag) => `${tag} BAD Error in IMAP command LOGIN`);
    const err = await failure(imapAuthenticate(server.url, 'alice', password));
    expect(err).toBeInstanceOf(ImapUnavailableError);
    expect(err.message).not.toContain(password);
  });

  it('unavailable for a PREAUTH greeting: the password was never checked', async () => {
    const server = await scriptedImap(
      (tag) => `${tag} OK LOGIN completed`,
      '* PREAUTH welcome, whoever you are',
    );
    const err = await failure(imapAuthenticate(server.url, 'alice', password));
    expect(err).toBeInstanceOf(ImapUnavailableError);
    expect((err as ImapUnavailableError).code).toBe('PREAUTH');
    expect(server.commands.some((c) => /^(LOGIN|AUTHENTICATE)\b/i.test(c))).toBe(false);
  });

  const certificate = selfSignedCertificate();

  it.skipIf(!certificate)('imaps:// refuses a self-signed certificate unless tls_verify=off', async () => {
    const server = await scriptedImap((tag) => `${tag} OK LOGIN completed`, undefined, certificate ?? {});
    const err = await failure(imapAuthenticate(server.url, 'alice', password));
    expect(err).toBeInstanceOf(ImapUnavailableError);
    expect(err.message).toMatch(/certificate not trusted/);
    expect((err as ImapUnavailableError).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(server.commands).toEqual([]);

    expect(await imapAuthenticate(`${server.url}?tls_verify=off`, 'alice', password)).toBe(true);
    expect(server.commands.map((c) => c.split(' ')[0])).toContain('LOGIN');
  });

  it('unavailable when the server hangs up right after the greeting', async () => {
    const server = await localServer('* BYE too many connections');
    const err = await failure(imapAuthenticate(server.url, 'alice', password));
    expect(err).toBeInstanceOf(ImapUnavailableError);
    expect(err.message).not.toContain(password);
  });
});
