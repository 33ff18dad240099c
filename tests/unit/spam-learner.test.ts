// The learner's process handling, against tiny fake sa-learn / spamc scripts: argv, stdin bytes, exit codes,
// timeouts, huge output, missing binaries. The real tools are exercised in tests/amavisd/spam-learning.test.ts.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  checkBayesUsername,
  type LearnItem,
  learnMessages,
  probeSpamAssassin,
} from '../../server/mail/spam-learner.ts';

let dir: string;
let calls: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'spam-learner-'));
  calls = path.join(dir, 'calls.log');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await writeFile(calls, '');
});

/** A fake tool: logs its argv as one line of [arg] fields, keeps its stdin, then runs `body`. */
async function fake(name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  const script = [
    '#!/bin/sh',
    `for a in "$@"; do printf '[%s]' "$a"; done >> '${calls}'`,
    `echo >> '${calls}'`,
    body,
  ].join('\n');
  await writeFile(file, `${script}\n`, { mode: 0o755 });
  return file;
}

/** Waits up to 2 s for a process to disappear (a killed orphan stays a zombie until init reaps it). */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

async function loggedCalls(): Promise<string[]> {
  return (await readFile(calls, 'utf8')).split('\n').filter((line) => line !== '');
}

// answers like sa-learn 4.0.1: a marker in the message picks the outcome; `extra` runs before the answer
function saLearn(name = 'sa-learn', extra = ''): Promise<string> {
  const stdin = path.join(dir, 'stdin');
  return fake(
    name,
    `case "$*" in --version) echo 'SpamAssassin version 4.0.1'; echo '  running on Perl version 5.36.0'; exit 0;; esac
${extra}
case "$*" in --sync*) exit 0;; esac
cat > '${stdin}'
if grep -q ALREADY '${stdin}'; then echo 'Learned tokens from 0 message(s) (1 message(s) examined)'; exit 0; fi
if grep -q FAIL '${stdin}'; then
  echo 'Learned tokens from 0 message(s) (1 message(s) examined)'
  echo 'ERROR: the Bayes learn function returned an error, please re-run with -D for more information at /usr/bin/sa-learn line 499.' >&2
  exit 255
fi
echo 'Learned tokens from 1 message(s) (1 message(s) examined)'`,
  );
}

function item(username: string, text: string, kind: 'spam' | 'ham' = 'spam', key?: string): LearnItem {
  return { kind, username, message: Buffer.from(`Subject: t\n\n${text}\n`), ...(key ? { key } : {}) };
}

describe('checkBayesUsername', () => {
  it.each([
    'user1@example.test',
    'example.test',
    'amavis',
    'jürgen@exämple.test',
    'with space',
    'x'.repeat(200),
  ])('accepts %j', (name) => {
    expect(checkBayesUsername(name)).toBe(name);
  });

  it.each([
    ['', /empty/],
    ['x'.repeat(201), /201 characters long; SpamAssassin's SQL store allows 200/],
    ['a\nb', /control character \(U\+000A\)/],
    ['a\tb', /control character \(U\+0009\)/],
    ['a\u007fb', /control character \(U\+007F\)/],
    ['a\u0085b', /control character \(U\+0085\)/],
    ['a\0b', /control character \(U\+0000\)/],
    ['-u', /starts with "-"/],
    ['--spam', /starts with "-"/],
  ])('rejects %j', (name, message) => {
    expect(() => checkBayesUsername(name)).toThrow(message);
  });
});

describe('learnMessages, local (sa-learn)', () => {
  it('passes the raw bytes on stdin and the username as one --username= argument, then syncs once', async () => {
    const tool = await saLearn();
    const bytes = Buffer.concat([
      Buffer.from('Subject: caf\xe9\r\n\r\n', 'latin1'),
      Buffer.from([0, 255, 10]),
    ]);
    const results = await learnMessages({ mode: 'local', saLearnPath: tool }, [
      { kind: 'spam', username: 'alice@example.test', message: bytes, key: 'k1' },
    ]);
    expect(results).toEqual([
      {
        key: 'k1',
        username: 'alice@example.test',
        kind: 'spam',
        ok: true,
        alreadyLearned: false,
        error: null,
      },
    ]);
    expect(await readFile(path.join(dir, 'stdin'))).toEqual(bytes);
    expect(await loggedCalls()).toEqual([
      '[--spam][--no-sync][--max-size=0][--username=alice@example.test]',
      '[--sync][--username=alice@example.test]',
    ]);
  });

  it('reports already learned, syncs only usernames that learned something, once each', async () => {
    const tool = await saLearn();
    const results = await learnMessages({ mode: 'local', saLearnPath: tool }, [
      item('a@example.test', 'one'),
      item('b@example.test', 'ALREADY'),
      item('a@example.test', 'two', 'ham'),
      item('example.test', 'ALREADY', 'ham'),
    ]);
    expect(results.map((r) => [r.ok, r.alreadyLearned, r.error])).toEqual([
      [true, false, null],
      [true, true, null],
      [true, false, null],
      [true, true, null],
    ]);
    const log = await loggedCalls();
    expect(log.filter((line) => line.startsWith('[--sync]'))).toEqual([
      '[--sync][--username=a@example.test]',
    ]);
    expect(log[2]).toBe('[--ham][--no-sync][--max-size=0][--username=a@example.test]');
  });

  it("returns the tool's own message and exit code; one failure does not stop the others", async () => {
    const tool = await saLearn();
    const results = await learnMessages({ mode: 'local', saLearnPath: tool }, [
      item('a@example.test', 'FAIL', 'spam', 'bad'),
      item('a@example.test', 'fine', 'spam', 'good'),
    ]);
    expect(results[0]).toMatchObject({ key: 'bad', ok: false, alreadyLearned: false });
    expect(results[0]?.error).toContain('ERROR: the Bayes learn function returned an error');
    expect(results[0]?.error).toContain('Learned tokens from 0 message(s)');
    expect(results[0]?.error).toMatch(/\(sa-learn exit code 255\)$/);
    expect(results[1]).toMatchObject({ key: 'good', ok: true, error: null });
  });

  it('marks the learned items of a username as failed when its sync fails', async () => {
    const tool = await saLearn(
      'sa-learn-badsync',
      `case "$*" in --sync*) echo 'ERROR: sync failed: database is locked' >&2; exit 2;; esac`,
    );
    const results = await learnMessages({ mode: 'local', saLearnPath: tool }, [
      item('a@example.test', 'one'),
      item('b@example.test', 'ALREADY'),
    ]);
    expect(results[0]).toMatchObject({ ok: false, alreadyLearned: false });
    expect(results[0]?.error).toBe(
      'learned, but "sa-learn --sync" failed: ERROR: sync failed: database is locked (sa-learn exit code 2)',
    );
    expect(results[1]).toMatchObject({ ok: true, alreadyLearned: true, error: null });
  });

  it('treats exit 0 without a learned message as a failure', async () => {
    const tool = await fake(
      'sa-learn-examined-none',
      `cat >/dev/null; echo 'Learned tokens from 0 message(s) (0 message(s) examined)'`,
    );
    const [result] = await learnMessages({ mode: 'local', saLearnPath: tool }, [item('a@example.test', 'x')]);
    expect(result).toMatchObject({ ok: false, alreadyLearned: false });
    expect(result?.error).toMatch(
      /exited with code 0 but did not report a learned message: Learned tokens from 0/,
    );
  });

  it('rejects bad usernames and empty messages before anything is started', async () => {
    const tool = await saLearn();
    const results = await learnMessages({ mode: 'local', saLearnPath: tool }, [
      item('-D', 'x'),
      item('--username=root', 'x'),
      item('a\nb', 'x'),
      { kind: 'spam', username: 'a@example.test', message: Buffer.alloc(0) },
    ]);
    expect(results.map((r) => r.ok)).toEqual([false, false, false, false]);
    expect(results[0]?.error).toMatch(/starts with "-"/);
    expect(results[2]?.error).toMatch(/control character/);
    expect(results[3]?.error).toBe('the message is empty');
    expect(await loggedCalls()).toEqual([]);
  });

  it('says precisely when the binary is missing or not executable', async () => {
    const [missing] = await learnMessages({ mode: 'local', saLearnPath: '/nonexistent/sa-learn' }, [
      item('a@example.test', 'x'),
    ]);
    expect(missing).toMatchObject({ ok: false, error: 'sa-learn binary not found at /nonexistent/sa-learn' });

    const plain = path.join(dir, 'not-executable');
    await writeFile(plain, '#!/bin/sh\n', { mode: 0o644 });
    const [notExecutable] = await learnMessages({ mode: 'local', saLearnPath: plain }, [
      item('a@example.test', 'x'),
    ]);
    expect(notExecutable?.error).toBe(`sa-learn at ${plain} is not an executable file`);

    const [unknownName] = await learnMessages(
      { mode: 'local', saLearnPath: 'sa-learn-nowhere-to-be-found' },
      [item('a@example.test', 'x')],
    );
    expect(unknownName?.error).toBe(
      'sa-learn-nowhere-to-be-found binary not found in PATH or /usr/bin, /usr/local/bin, /usr/sbin',
    );
  });

  it('finds a bare tool name in PATH', async () => {
    const sub = path.join(dir, 'bin');
    await mkdir(sub, { recursive: true });
    await writeFile(path.join(sub, 'my-sa-learn'), `#!/bin/sh\necho "SpamAssassin version 0.0.7"\n`, {
      mode: 0o755,
    });
    const before = process.env.PATH;
    process.env.PATH = `${sub}${path.delimiter}${before ?? ''}`;
    try {
      const probe = await probeSpamAssassin({ mode: 'local', saLearnPath: 'my-sa-learn' });
      expect(probe).toMatchObject({ ok: true, detail: `sa-learn at ${sub}/my-sa-learn, SpamAssassin 0.0.7` });
    } finally {
      process.env.PATH = before;
    }
  });

  it('kills a tool that runs past the timeout, with whatever it started', async () => {
    const pidFile = path.join(dir, 'grandchild.pid');
    const tool = await fake(
      'sa-learn-hangs',
      `sleep 30 & echo $! > '${pidFile}'; echo 'still thinking' >&2; wait`,
    );
    const started = performance.now();
    const [result] = await learnMessages({ mode: 'local', saLearnPath: tool, timeoutMs: 300 }, [
      item('a@example.test', 'x'),
    ]);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ ok: false });
    expect(result?.error).toBe('sa-learn timed out after 300 ms and was killed: still thinking');
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    expect(await gone(grandchild)).toBe(true);
  });

  it('follows up with SIGKILL when the tool ignores SIGTERM', async () => {
    const tool = await fake('sa-learn-stubborn', `trap '' TERM; while :; do sleep 0.05; done`);
    const started = performance.now();
    const [result] = await learnMessages({ mode: 'local', saLearnPath: tool, timeoutMs: 200 }, [
      item('a@example.test', 'x'),
    ]);
    const elapsed = performance.now() - started;
    expect(result?.error).toBe('sa-learn timed out after 200 ms and was killed');
    expect(elapsed).toBeGreaterThan(2000);
    expect(elapsed).toBeLessThan(5000);
  });

  it('bounds huge output', async () => {
    const tool = await fake(
      'sa-learn-chatty',
      `cat >/dev/null; head -c 20000000 /dev/zero | tr '\\0' 'e' >&2; head -c 20000000 /dev/zero | tr '\\0' 'o'; exit 3`,
    );
    const [result] = await learnMessages({ mode: 'local', saLearnPath: tool }, [item('a@example.test', 'x')]);
    expect(result?.ok).toBe(false);
    expect(result?.error?.length).toBeLessThan(2100);
    expect(result?.error).toMatch(/^eeee/);
    expect(result?.error).toMatch(/e… \(sa-learn exit code 3\)$/);
    expect(result?.error).not.toMatch(/ooo/);
  });

  it('survives a tool that exits without reading a large message (EPIPE)', async () => {
    const tool = await fake(
      'sa-learn-deaf',
      `echo 'Learned tokens from 1 message(s) (1 message(s) examined)'`,
    );
    const message = Buffer.alloc(20 * 1024 * 1024, 'x');
    const results = await learnMessages({ mode: 'local', saLearnPath: tool }, [
      { kind: 'spam', username: 'a@example.test', message },
      { kind: 'ham', username: 'b@example.test', message },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
  });
});

describe('learnMessages, remote (spamc)', () => {
  const spamc = (body: string) =>
    fake(`spamc-${Math.random().toString(36).slice(2)}`, `cat >/dev/null\n${body}`);
  const remote = (spamcPath: string) => ({
    mode: 'remote' as const,
    host: '127.0.0.1',
    port: 783,
    spamcPath,
  });

  it('runs spamc -L with the address, size limit and username, and never syncs', async () => {
    const tool = await spamc(`echo 'Message successfully un/learned'`);
    const big = Buffer.alloc(600_000, 'b');
    const results = await learnMessages(remote(tool), [
      item('a@example.test', 'x', 'ham', 'small'),
      { kind: 'spam', username: 'example.test', message: big, key: 'big' },
    ]);
    expect(results.map((r) => [r.key, r.ok, r.alreadyLearned])).toEqual([
      ['small', true, false],
      ['big', true, false],
    ]);
    expect(await loggedCalls()).toEqual([
      '[-l][-d][127.0.0.1][-p][783][-s][512000][-L][ham][--username=a@example.test]',
      '[-l][-d][127.0.0.1][-p][783][-s][600000][-L][spam][--username=example.test]',
    ]);
  });

  it.each([
    ['exit 0, "Message was already un/learned"', `echo 'Message was already un/learned'`, true],
    ['exit 5 (older spamc)', 'exit 5', false],
    ['exit 6 (older spamc)', 'exit 6', true],
  ])('understands %s', async (_label, body, already) => {
    const [result] = await learnMessages(remote(await spamc(body)), [item('a@example.test', 'x')]);
    expect(result).toMatchObject({ ok: true, alreadyLearned: already, error: null });
  });

  it.each([
    [
      'connection refused',
      `echo 'spamc: connection attempt to spamd aborted after 3 retries' >&2; exit 69`,
      'spamc: connection attempt to spamd aborted after 3 retries (spamc exit code 69, EX_UNAVAILABLE)',
    ],
    [
      'a silent EX_IOERR (spamd without --allow-tell)',
      'exit 74',
      'spamc failed (exit code 74, EX_IOERR; spamd refuses learning unless it runs with --allow-tell) without a message',
    ],
    ['exit 0 with nothing said', 'exit 0', 'spamc exited with code 0 but did not report a learned message'],
    ['an unknown exit code', `echo boom; exit 1`, 'boom (spamc exit code 1)'],
  ])('fails on %s with a precise error', async (_label, body, error) => {
    const [result] = await learnMessages(remote(await spamc(body)), [item('a@example.test', 'x')]);
    expect(result).toMatchObject({ ok: false, alreadyLearned: false, error });
  });

  it('refuses an invalid spamd address for every item, without starting spamc', async () => {
    const tool = await spamc('exit 0');
    const results = await learnMessages({ mode: 'remote', host: '-x', port: 783, spamcPath: tool }, [
      item('a@example.test', 'x'),
      item('b@example.test', 'y'),
    ]);
    expect(results.map((r) => r.error)).toEqual(['invalid spamd host "-x"', 'invalid spamd host "-x"']);
    const [badPort] = await learnMessages({ mode: 'remote', host: 'localhost', port: 0, spamcPath: tool }, [
      item('a@example.test', 'x'),
    ]);
    expect(badPort?.error).toBe('invalid spamd port 0');
    expect(await loggedCalls()).toEqual([]);
  });

  it('returns nothing for nothing', async () => {
    expect(await learnMessages(remote('/nonexistent/spamc'), [])).toEqual([]);
  });
});

describe('probeSpamAssassin', () => {
  async function server(onConnection: (socket: net.Socket, request: () => string) => void) {
    const srv = net.createServer((socket) => {
      let request = '';
      socket.on('data', (chunk) => {
        request += chunk.toString('latin1');
      });
      socket.on('error', () => {});
      onConnection(socket, () => request);
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as net.AddressInfo).port;
    return { port, close: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
  }

  // the remote probe checks that spamc is installed; a stand-in keeps these tests independent of the machine
  const probeSpamc = () => fake('spamc-probe', 'exit 0');

  it('remote: says when spamc is missing, before trying spamd', async () => {
    expect(
      await probeSpamAssassin({
        mode: 'remote',
        host: '127.0.0.1',
        port: 9,
        spamcPath: '/nonexistent/spamc',
      }),
    ).toMatchObject({ ok: false, detail: 'spamc binary not found at /nonexistent/spamc' });
  });

  it('local: runs sa-learn --version', async () => {
    const tool = await saLearn();
    const probe = await probeSpamAssassin({ mode: 'local', saLearnPath: tool });
    expect(probe).toMatchObject({ ok: true, detail: `sa-learn at ${tool}, SpamAssassin 4.0.1` });
    expect(probe.latencyMs).toBeGreaterThan(0);
    expect(await loggedCalls()).toEqual(['[--version]']);
  });

  it('local: reports a missing or failing sa-learn', async () => {
    expect(await probeSpamAssassin({ mode: 'local', saLearnPath: '/nonexistent/sa-learn' })).toMatchObject({
      ok: false,
      detail: 'sa-learn binary not found at /nonexistent/sa-learn',
    });
    const broken = await fake(
      'sa-learn-broken',
      `echo "Can't locate Mail/SpamAssassin.pm in @INC" >&2; exit 2`,
    );
    expect(await probeSpamAssassin({ mode: 'local', saLearnPath: broken })).toMatchObject({
      ok: false,
      detail: "Can't locate Mail/SpamAssassin.pm in @INC (sa-learn exit code 2)",
    });
  });

  it('remote: sends PING SPAMC/1.5 and accepts PONG', async () => {
    let seen = '';
    const spamd = await server((socket, request) => {
      socket.on('data', () => {
        if (request().endsWith('\r\n\r\n')) {
          seen = request();
          socket.end('SPAMD/1.5 0 PONG\r\n');
        }
      });
    });
    try {
      const spamc = await probeSpamc();
      const probe = await probeSpamAssassin({
        mode: 'remote',
        host: '127.0.0.1',
        port: spamd.port,
        spamcPath: spamc,
      });
      expect(probe).toMatchObject({
        ok: true,
        detail: `spamd at 127.0.0.1:${spamd.port} answered SPAMD/1.5 0 PONG (spamc at ${spamc})`,
      });
      expect(await loggedCalls()).toEqual([]);
      expect(seen).toBe('PING SPAMC/1.5\r\n\r\n');
    } finally {
      await spamd.close();
    }
  });

  it('remote: tells refused, silent, mute and foreign servers apart', async () => {
    const closed = await server(() => {});
    const closedPort = closed.port;
    await closed.close();
    expect(
      await probeSpamAssassin({
        mode: 'remote',
        host: '127.0.0.1',
        port: closedPort,
        spamcPath: await probeSpamc(),
      }),
    ).toMatchObject({
      ok: false,
      detail: `connection to 127.0.0.1:${closedPort} refused (is spamd running and listening there?)`,
    });

    const silent = await server(() => {});
    const mute = await server((socket) => socket.end());
    const smtp = await server((socket) => socket.write('220 mx.example.test ESMTP\r\n'));
    try {
      expect(
        await probeSpamAssassin({
          mode: 'remote',
          host: '127.0.0.1',
          port: silent.port,
          timeoutMs: 300,
          spamcPath: await probeSpamc(),
        }),
      ).toMatchObject({ ok: false, detail: `no answer to PING from 127.0.0.1:${silent.port} within 300 ms` });
      expect(
        await probeSpamAssassin({
          mode: 'remote',
          host: '127.0.0.1',
          port: mute.port,
          spamcPath: await probeSpamc(),
        }),
      ).toMatchObject({
        ok: false,
        detail: `127.0.0.1:${mute.port} closed the connection without answering PING`,
      });
      expect(
        await probeSpamAssassin({
          mode: 'remote',
          host: '127.0.0.1',
          port: smtp.port,
          spamcPath: await probeSpamc(),
        }),
      ).toMatchObject({
        ok: false,
        detail: `127.0.0.1:${smtp.port} is not spamd: it answered "220 mx.example.test ESMTP" to PING`,
      });
    } finally {
      await Promise.all([silent.close(), mute.close(), smtp.close()]);
    }
  });
});
