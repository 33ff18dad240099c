// The real thing: the learner trains the lab's SpamAssassin with sa-learn on this host and with spamc against
// the lab's spamd (--allow-tell), and the SQL Bayes store (PostgreSQL, SpamAssassin's bayes_pg.sql) shows the
// counts move for exactly the username that was trained. Usernames are unique per run, so no reset is needed.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type LearnerConfig,
  type LearnItem,
  learnMessages,
  probeSpamAssassin,
} from '../../server/mail/spam-learner.ts';
import { describeWith, readLabEnv } from '../support/services.ts';

const FIXTURES = new URL('../fixtures/mail/', import.meta.url);
const fixture = (name: string) => fs.readFileSync(new URL(name, FIXTURES));
const GTUBE = fixture('amavis-gtube.eml');
const SPAM_CLASSIC = fixture('spamassassin-classic-status.eml');
const HAM_FORWARD = fixture('embedded-message.eml');
const HAM_8BIT = fixture('raw-8bit-utf8-headers.eml');

/** SpamAssassin's "already learned" key hashes To, Date and the body: another Date is another message. */
function redated(message: Buffer, seconds: number): Buffer {
  const date = new Date(Date.UTC(2026, 10, 25, 6, 0, seconds)).toUTCString().replace('GMT', '+0000');
  const text = message.toString('latin1');
  const replaced = /^Date:.*$/m.test(text)
    ? text.replace(/^Date:.*$/m, `Date: ${date}`)
    : `Date: ${date}\n${text}`;
  return Buffer.from(replaced, 'latin1');
}

/** An ordinary, long newsletter-like ham message: bigger than sa-learn's and spamc's default size limits. */
function bigHam(tag: string): Buffer {
  const words = Array.from({ length: 3000 }, (_, i) => `w${(i * 7919) % 100_003}x`);
  const lines = Array.from({ length: 7000 }, (_, i) =>
    Array.from({ length: 10 }, (_, j) => words[(i * 13 + j * 31) % words.length]).join(' '),
  );
  return Buffer.from(
    `From: News <news@sender.test>\nTo: user1@example.test\nSubject: monthly report ${tag}\n` +
      `Date: Wed, 25 Nov 2026 07:00:00 +0000\nMessage-ID: <big-${tag}@sender.test>\n\n${lines.join('\n')}\n`,
  );
}

await describeWith(['amavisd', 'postgresql'], "SpamAssassin learning with the lab's SQL Bayes store", () => {
  const lab = readLabEnv() ?? {};
  const [spamdHost = '', spamdPort = ''] = (lab.AMAVIS_LAB_SPAMD ?? '').split(':');
  const local: LearnerConfig = { mode: 'local' };
  const remote: LearnerConfig = { mode: 'remote', host: spamdHost, port: Number(spamdPort) };
  const run = randomBytes(4).toString('hex');
  let seq = 0;
  const username = (what: string) => `${what}-${run}-${++seq}@example.test`;
  let store: postgres.Sql;
  let tmp: string;

  beforeAll(async () => {
    const url = lab.AMAVIS_LAB_BAYES_PG_URL;
    if (!url) throw new Error('lab.json has no AMAVIS_LAB_BAYES_PG_URL: run bash tests/amavis-lab/setup.sh');
    store = postgres(url, { max: 1, onnotice: () => {} });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'spam-learning-'));
  });
  afterAll(async () => {
    await store?.end();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** bayes_vars of a username: SpamAssassin's nspam / nham, or null when it has no Bayes data at all. */
  async function counts(user: string): Promise<{ spam: number; ham: number } | null> {
    const rows = await store<{ spam_count: number; ham_count: number }[]>`
      SELECT spam_count, ham_count FROM bayes_vars WHERE username = ${user}`;
    return rows[0] ? { spam: rows[0].spam_count, ham: rows[0].ham_count } : null;
  }

  const learn = (config: LearnerConfig, items: LearnItem[]) => learnMessages(config, items);

  it('local: sa-learn trains only the given username, reports a relearn, and moves a message between classes', async () => {
    const alice = username('alice');
    const bob = username('bob');
    const [first] = await learn(local, [{ kind: 'spam', username: alice, message: GTUBE, key: 'g1' }]);
    expect(first).toEqual({
      key: 'g1',
      username: alice,
      kind: 'spam',
      ok: true,
      alreadyLearned: false,
      error: null,
    });
    expect(await counts(alice)).toEqual({ spam: 1, ham: 0 });
    expect(await counts(bob)).toBeNull();

    // sa-learn answers "Learned tokens from 0 message(s) (1 message(s) examined)", exit 0
    const [again] = await learn(local, [{ kind: 'spam', username: alice, message: GTUBE }]);
    expect(again).toMatchObject({ ok: true, alreadyLearned: true, error: null });
    expect(await counts(alice)).toEqual({ spam: 1, ham: 0 });

    // the same message as ham: SpamAssassin forgets it as spam and learns it as ham
    const [moved] = await learn(local, [{ kind: 'ham', username: alice, message: GTUBE }]);
    expect(moved).toMatchObject({ ok: true, alreadyLearned: false });
    expect(await counts(alice)).toEqual({ spam: 0, ham: 1 });
    expect(await counts(bob)).toBeNull();
  });

  it('local: a batch learns every message and syncs once per username that learned something', async () => {
    const calls = path.join(tmp, 'sa-learn-calls.log');
    const recording = path.join(tmp, 'sa-learn-recording');
    await writeFile(recording, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${calls}'\nexec sa-learn "$@"\n`, {
      mode: 0o755,
    });
    const carol = username('carol');
    const domain = `domain-${run}.example.test`;
    const dave = username('dave');
    await learn(local, [{ kind: 'ham', username: dave, message: HAM_8BIT }]);
    await writeFile(calls, '');

    const results = await learn({ mode: 'local', saLearnPath: recording }, [
      { kind: 'ham', username: carol, message: HAM_FORWARD },
      { kind: 'ham', username: carol, message: HAM_8BIT },
      { kind: 'spam', username: domain, message: SPAM_CLASSIC },
      { kind: 'ham', username: dave, message: HAM_8BIT },
      { kind: 'ham', username: carol, message: redated(HAM_8BIT, 1) },
    ]);
    expect(results.map((r) => [r.username, r.ok, r.alreadyLearned, r.error])).toEqual([
      [carol, true, false, null],
      [carol, true, false, null],
      [domain, true, false, null],
      [dave, true, true, null],
      [carol, true, false, null],
    ]);
    expect(await counts(carol)).toEqual({ spam: 0, ham: 3 });
    expect(await counts(domain)).toEqual({ spam: 1, ham: 0 });
    expect(await counts(dave)).toEqual({ spam: 0, ham: 1 });
    const log = (await readFile(calls, 'utf8')).trim().split('\n');
    expect(log.filter((line) => line.startsWith('--sync'))).toEqual([
      `--sync --username=${carol}`,
      `--sync --username=${domain}`,
    ]);
    expect(log).toHaveLength(7);
  });

  it('local and remote: messages over the tools’ default size limits are learned', async () => {
    const message = bigHam(run);
    expect(message.length).toBeGreaterThan(512_000);
    const viaSaLearn = username('big-local');
    const viaSpamc = username('big-remote');
    expect(await learn(local, [{ kind: 'ham', username: viaSaLearn, message }])).toMatchObject([
      { ok: true, alreadyLearned: false },
    ]);
    expect(await learn(remote, [{ kind: 'ham', username: viaSpamc, message }])).toMatchObject([
      { ok: true, alreadyLearned: false },
    ]);
    expect(await counts(viaSaLearn)).toEqual({ spam: 0, ham: 1 });
    expect(await counts(viaSpamc)).toEqual({ spam: 0, ham: 1 });
  });

  it('remote: spamc -L trains the username in the same SQL store; a relearn is reported as such', async () => {
    const erin = username('erin');
    const results = await learn(remote, [
      { kind: 'spam', username: erin, message: GTUBE, key: 'a' },
      { kind: 'spam', username: erin, message: GTUBE, key: 'b' },
      { kind: 'ham', username: erin, message: HAM_FORWARD, key: 'c' },
    ]);
    // spamc 4.0 exits 0 with "Message successfully un/learned" / "Message was already un/learned"
    expect(results.map((r) => [r.key, r.ok, r.alreadyLearned, r.error])).toEqual([
      ['a', true, false, null],
      ['b', true, true, null],
      ['c', true, false, null],
    ]);
    expect(await counts(erin)).toEqual({ spam: 1, ham: 1 });

    // one store: what spamd learned, sa-learn knows
    const [local1] = await learn(local, [{ kind: 'ham', username: erin, message: HAM_FORWARD }]);
    expect(local1).toMatchObject({ ok: true, alreadyLearned: true });
    const [local2] = await learn(local, [{ kind: 'spam', username: erin, message: SPAM_CLASSIC }]);
    expect(local2).toMatchObject({ ok: true, alreadyLearned: false });
    const [remote2] = await learn(remote, [{ kind: 'spam', username: erin, message: SPAM_CLASSIC }]);
    expect(remote2).toMatchObject({ ok: true, alreadyLearned: true });
    expect(await counts(erin)).toEqual({ spam: 2, ham: 1 });
  });

  it('fails precisely: missing binary, spamd not listening, usernames that must not reach the tools', async () => {
    const frank = username('frank');
    const [missing] = await learn({ mode: 'local', saLearnPath: '/nonexistent/bin/sa-learn' }, [
      { kind: 'spam', username: frank, message: GTUBE },
    ]);
    expect(missing).toMatchObject({
      ok: false,
      error: 'sa-learn binary not found at /nonexistent/bin/sa-learn',
    });

    const port = await closedPort();
    const [refused] = await learn({ mode: 'remote', host: '127.0.0.1', port }, [
      { kind: 'spam', username: frank, message: GTUBE },
    ]);
    expect(refused?.ok).toBe(false);
    expect(refused?.error).toContain('Connection refused');
    expect(refused?.error).toMatch(/\(spamc exit code 69, EX_UNAVAILABLE\)$/);

    const dash = `--username=root-${run}`;
    const long = `${'x'.repeat(190)}-${run}@example.test`;
    const rejected = await learn(local, [
      { kind: 'spam', username: dash, message: GTUBE },
      { kind: 'spam', username: long, message: GTUBE },
      { kind: 'spam', username: frank, message: GTUBE },
    ]);
    expect(rejected.map((r) => r.ok)).toEqual([false, false, true]);
    expect(rejected[0]?.error).toMatch(/starts with "-"/);
    expect(rejected[1]?.error).toMatch(/SpamAssassin's SQL store allows 200/);
    expect(await counts(dash)).toBeNull();
    expect(await counts(frank)).toEqual({ spam: 1, ham: 0 });
    expect(await store`SELECT 1 FROM bayes_vars WHERE username LIKE ${`%root-${run}%`}`).toHaveLength(0);
  });

  it('why usernames stop at 200 characters: spamd reports a failed learn as "already learned"', async () => {
    const tooLong = `${'y'.repeat(201)}`;
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(
        'spamc',
        ['-l', '-d', spamdHost, '-p', spamdPort, '-L', 'spam', `--username=${tooLong}`],
        (error, stdout) => resolve({ code: error ? (error.code as number) : 0, stdout }),
      );
      child.stdin?.end(GTUBE);
    });
    expect(result).toEqual({ code: 0, stdout: 'Message was already un/learned\n' });
    expect(await counts(tooLong)).toBeNull();
  });

  it('probeSpamAssassin: sa-learn runs, spamd answers PING, a closed port is named', async () => {
    const localProbe = await probeSpamAssassin(local);
    expect(localProbe).toMatchObject({ ok: true });
    expect(localProbe.detail).toMatch(/^sa-learn at \/\S+\/sa-learn, SpamAssassin 4\.\d/);

    const remoteProbe = await probeSpamAssassin(remote);
    expect(remoteProbe).toEqual({
      ok: true,
      latencyMs: expect.any(Number),
      detail: expect.stringMatching(
        new RegExp(
          `^spamd at ${lab.AMAVIS_LAB_SPAMD?.replaceAll('.', '\\.')} answered SPAMD/1\\.5 0 PONG \\(spamc at /\\S+/spamc\\)$`,
        ),
      ),
    });
    expect(remoteProbe.latencyMs).toBeLessThan(1000);

    const port = await closedPort();
    expect(await probeSpamAssassin({ mode: 'remote', host: '127.0.0.1', port })).toMatchObject({
      ok: false,
      detail: `connection to 127.0.0.1:${port} refused (is spamd running and listening there?)`,
    });
    const smtp = lab.AMAVIS_LAB_PG_SMTP ?? '';
    const notSpamd = await probeSpamAssassin({
      mode: 'remote',
      host: smtp.split(':')[0] ?? '',
      port: Number(smtp.split(':')[1]),
    });
    expect(notSpamd.ok).toBe(false);
    expect(notSpamd.detail).toMatch(
      new RegExp(`^${smtp.replaceAll('.', '\\.')} is not spamd: it answered "220 `),
    );
  });
});

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
