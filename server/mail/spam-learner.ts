// Trains SpamAssassin's Bayes filter with quarantined mail: `sa-learn` on this host, or `spamc -L` against a
// spamd that runs with --allow-tell. The bayes username decides which database is trained (per user, per
// domain, global: in an SQL Bayes store just different usernames); amavisd only uses it at scan time when the
// recipient's policy.sa_username names it. Tools run through spawn with argv arrays (never a shell), the
// message goes in raw on stdin, and every failure comes back as a result, never as an exception.
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

export type LearnKind = 'spam' | 'ham';
export type LearnerConfig =
  | { mode: 'local'; saLearnPath?: string; timeoutMs?: number }
  | { mode: 'remote'; host: string; port: number; spamcPath?: string; timeoutMs?: number };
export interface LearnItem {
  kind: LearnKind;
  username: string;
  message: Buffer;
  key?: string;
}
export interface LearnResult {
  key?: string;
  username: string;
  kind: LearnKind;
  ok: boolean;
  alreadyLearned: boolean;
  error: string | null;
}

export const DEFAULT_LEARN_TIMEOUT_MS = 60_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;
/** Both shipped SQL schemas (bayes_pg.sql, bayes_mysql.sql) declare bayes_vars.username varchar(200). */
export const MAX_BAYES_USERNAME_LENGTH = 200;
// A service manager's PATH may lack these (modoboa-amavis #54: uWSGI without /usr/local/bin).
const EXTRA_BIN_DIRS = ['/usr/bin', '/usr/local/bin', '/usr/sbin'];
const MAX_CAPTURE_BYTES = 64 * 1024;
const MAX_ERROR_CHARS = 2000;
const KILL_GRACE_MS = 2000;
const SPAMC_DEFAULT_MAX_SIZE = 512_000;
const SPAMC_MAX_SIZE = 268_435_456;
const SA_LEARN_RESULT = /Learned tokens from (\d+) message\(s\) \((\d+) message\(s\) examined\)/;

/** Validates a bayes username before it reaches argv. Throws Error with a clear message. */
export function checkBayesUsername(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new Error('bayes username is empty');
  if (name.length > MAX_BAYES_USERNAME_LENGTH) {
    // SpamAssassin's SQL store fails on longer names, and spamd then reports "already learned"
    throw new Error(
      `bayes username is ${name.length} characters long; SpamAssassin's SQL store allows ${MAX_BAYES_USERNAME_LENGTH}`,
    );
  }
  const control = /\p{Cc}/u.exec(name);
  if (control) {
    const code = control[0].codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0');
    throw new Error(`bayes username ${JSON.stringify(name)} contains a control character (U+${code})`);
  }
  if (name.startsWith('-')) {
    throw new Error(
      `bayes username ${JSON.stringify(name)} starts with "-" (it would read as a command option)`,
    );
  }
  return name;
}

/**
 * Learns every item, one tool run per item, in order. local: `sa-learn --spam|--ham --no-sync --max-size=0
 * --username=USER` per item (exit 0 with "Learned tokens from 1 message(s)" = learned, "from 0 message(s)
 * (1 message(s) examined)" = already learned), then `sa-learn --sync --username=USER` once per username that
 * learned anything. remote: `spamc -l -d HOST -p PORT -s SIZE -L spam|ham --username=USER` (exit 0 with
 * "Message successfully un/learned" or exit 5 = learned; "Message was already un/learned" or exit 6 = already
 * learned). One failure does not stop the others; a tool failure never throws.
 */
export async function learnMessages(config: LearnerConfig, items: LearnItem[]): Promise<LearnResult[]> {
  const results: LearnResult[] = items.map((item) => ({
    ...(item.key === undefined ? {} : { key: item.key }),
    username: item.username,
    kind: item.kind,
    ok: false,
    alreadyLearned: false,
    error: null,
  }));
  if (items.length === 0) return results;
  const timeoutMs = timeoutOf(config, DEFAULT_LEARN_TIMEOUT_MS);
  const tool = config.mode === 'local' ? 'sa-learn' : 'spamc';
  const configured = config.mode === 'local' ? config.saLearnPath : config.spamcPath;
  const binary = await resolveBinary(tool, configured);
  const configError =
    'error' in binary ? binary.error : config.mode === 'remote' ? checkSpamdAddress(config) : null;
  if (configError || 'error' in binary) {
    for (const result of results) result.error = configError;
    return results;
  }

  const learnedBy = new Map<string, number[]>();
  for (const [index, item] of items.entries()) {
    const result = results[index] as LearnResult;
    const problem = checkItem(item);
    if (problem) {
      result.error = problem;
      continue;
    }
    const outcome =
      config.mode === 'local'
        ? await learnLocally(binary.path, item, timeoutMs)
        : await learnRemotely(binary.path, config, item, timeoutMs);
    Object.assign(result, outcome);
    if (result.ok && !result.alreadyLearned) {
      const indexes = learnedBy.get(item.username) ?? [];
      indexes.push(index);
      learnedBy.set(item.username, indexes);
    }
  }

  // --no-sync learns into the journal (DBM stores; SQL stores write at once): --sync makes it count
  if (config.mode === 'local') {
    for (const [username, indexes] of learnedBy) {
      const run = await runTool(binary.path, ['--sync', `--username=${username}`], null, timeoutMs);
      if (run.code === 0 && !run.timedOut && !run.startError) continue;
      const error = `learned, but "sa-learn --sync" failed: ${describeFailure('sa-learn', run, timeoutMs)}`;
      for (const index of indexes) Object.assign(results[index] as LearnResult, { ok: false, error });
    }
  }
  return results;
}

/**
 * Reachability: local → `sa-learn --version` runs; remote → spamc is installed and spamd answers spamc's PING
 * (over node:net). Not checked: whether spamd runs with --allow-tell (only a real learn shows that).
 */
export async function probeSpamAssassin(
  config: LearnerConfig,
): Promise<{ ok: boolean; latencyMs: number; detail: string }> {
  const started = performance.now();
  const timeoutMs = timeoutOf(config, DEFAULT_PROBE_TIMEOUT_MS);
  const done = (ok: boolean, detail: string) => ({
    ok,
    latencyMs: Math.round((performance.now() - started) * 10) / 10,
    detail,
  });
  if (config.mode === 'remote') {
    const problem = checkSpamdAddress(config);
    if (problem) return done(false, problem);
    // learning runs spamc here: a reachable spamd is no use without it
    const spamc = await resolveBinary('spamc', config.spamcPath);
    if ('error' in spamc) return done(false, spamc.error);
    const answer = await pingSpamd(config.host, config.port, timeoutMs);
    return done(answer.ok, answer.ok ? `${answer.detail} (spamc at ${spamc.path})` : answer.detail);
  }
  const binary = await resolveBinary('sa-learn', config.saLearnPath);
  if ('error' in binary) return done(false, binary.error);
  const run = await runTool(binary.path, ['--version'], null, timeoutMs);
  if (run.code !== 0 || run.timedOut || run.startError) {
    return done(false, describeFailure('sa-learn', run, timeoutMs));
  }
  const version = /SpamAssassin version (\S+)/.exec(run.stdout)?.[1];
  return version
    ? done(true, `sa-learn at ${binary.path}, SpamAssassin ${version}`)
    : done(false, `${binary.path} --version did not name a SpamAssassin version: ${bound(outputOf(run))}`);
}

function timeoutOf(config: LearnerConfig, fallback: number): number {
  const value = config.timeoutMs;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function checkSpamdAddress(config: { host: string; port: number }): string | null {
  if (typeof config.host !== 'string' || config.host === '' || config.host.startsWith('-')) {
    return `invalid spamd host ${JSON.stringify(config.host)}`;
  }
  if (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535) {
    return `invalid spamd port ${JSON.stringify(config.port)}`;
  }
  return null;
}

function checkItem(item: LearnItem): string | null {
  try {
    checkBayesUsername(item.username);
  } catch (error) {
    return (error as Error).message;
  }
  if (item.kind !== 'spam' && item.kind !== 'ham') return `unknown learn kind ${JSON.stringify(item.kind)}`;
  if (!Buffer.isBuffer(item.message) || item.message.length === 0) return 'the message is empty';
  return null;
}

type Outcome = Pick<LearnResult, 'ok' | 'alreadyLearned' | 'error'>;

async function learnLocally(saLearn: string, item: LearnItem, timeoutMs: number): Promise<Outcome> {
  // --max-size=0: sa-learn skips messages over 256 kB by default ("0 message(s) examined", exit 1)
  const args = [`--${item.kind}`, '--no-sync', '--max-size=0', `--username=${item.username}`];
  const run = await runTool(saLearn, args, item.message, timeoutMs);
  const counts = SA_LEARN_RESULT.exec(run.stdout);
  if (run.code === 0 && !run.timedOut && counts) {
    if (counts[1] === '1') return { ok: true, alreadyLearned: false, error: null };
    // sa-learn's answer when bayes_seen already has the message in this class
    if (counts[1] === '0' && counts[2] === '1') return { ok: true, alreadyLearned: true, error: null };
  }
  return { ok: false, alreadyLearned: false, error: describeFailure('sa-learn', run, timeoutMs) };
}

async function learnRemotely(
  spamc: string,
  config: { host: string; port: number },
  item: LearnItem,
  timeoutMs: number,
): Promise<Outcome> {
  if (item.message.length > SPAMC_MAX_SIZE) {
    return {
      ok: false,
      alreadyLearned: false,
      error: `the message is ${item.message.length} bytes; spamc sends at most ${SPAMC_MAX_SIZE}`,
    };
  }
  const maxSize = Math.max(SPAMC_DEFAULT_MAX_SIZE, item.message.length);
  // -l: errors to stderr instead of syslog; -s: spamc skips bigger messages (exit 98)
  const args = ['-l', '-d', config.host, '-p', String(config.port), '-s', String(maxSize)];
  args.push('-L', item.kind, `--username=${item.username}`);
  const run = await runTool(spamc, args, item.message, timeoutMs);
  if (!run.timedOut && !run.startError) {
    // spamc 4.0 exits 0 and says which; 5 / 6 are what modoboa-amavis expects, accepted in case a build uses them
    if (run.code === 5 || (run.code === 0 && /Message successfully un\/learned/.test(run.stdout))) {
      return { ok: true, alreadyLearned: false, error: null };
    }
    if (run.code === 6 || (run.code === 0 && /Message was already un\/learned/.test(run.stdout))) {
      return { ok: true, alreadyLearned: true, error: null };
    }
  }
  return { ok: false, alreadyLearned: false, error: describeFailure('spamc', run, timeoutMs) };
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** A configured path is used as it is; a bare name is looked up in PATH and then the usual bin dirs. */
async function resolveBinary(
  name: string,
  configured?: string,
): Promise<{ path: string } | { error: string }> {
  if (configured !== undefined && configured !== '') {
    if (configured.includes('/')) {
      if (await isExecutableFile(configured)) return { path: configured };
      try {
        await stat(configured);
        return { error: `${name} at ${configured} is not an executable file` };
      } catch {
        return { error: `${name} binary not found at ${configured}` };
      }
    }
    name = configured;
  }
  const pathDirs = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => path.isAbsolute(dir));
  const dirs = [...new Set([...pathDirs, ...EXTRA_BIN_DIRS])];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return { path: candidate };
  }
  return { error: `${name} binary not found in PATH or ${EXTRA_BIN_DIRS.join(', ')}` };
}

interface ToolRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  startError: Error | null;
}

class Capture {
  private chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  push(chunk: Buffer): void {
    const room = MAX_CAPTURE_BYTES - this.kept;
    if (room > 0) {
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.chunks.push(part);
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
  }

  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `${text}\n[${this.dropped} more bytes]` : text;
  }
}

function runTool(file: string, args: string[], input: Buffer | null, timeoutMs: number): Promise<ToolRun> {
  return new Promise((resolve) => {
    const stdout = new Capture();
    const stderr = new Capture();
    let timedOut = false;
    let startError: Error | null = null;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    let child: ChildProcess;

    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      resolve({ code, signal, stdout: stdout.text(), stderr: stderr.text(), timedOut, startError });
    };
    // detached: the tool leads its own process group, so a timeout also kills whatever it started
    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };

    try {
      child = spawn(file, args, {
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        // C locale: no Perl locale warnings, untranslated messages to match
        env: { ...process.env, LC_ALL: 'C' },
      });
    } catch (error) {
      startError = error as Error;
      finish(null, null);
      return;
    }
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (error) => {
      if (child.pid === undefined) {
        startError = error;
        finish(null, null);
      }
    });
    child.once('exit', () => {
      // a grandchild that escaped the group kill may hold the pipes open: do not wait for it forever
      timers.push(
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish(child.exitCode, child.signalCode);
        }, KILL_GRACE_MS),
      );
    });
    child.once('close', (code, signal) => finish(code, signal));
    timers.push(
      setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        timers.push(setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS));
      }, timeoutMs),
    );
    // EPIPE / ECONNRESET when the tool exits without reading all of its input: its exit status tells why
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? undefined);
  });
}

// sysexits.h names, as spamc(1) documents them
const SPAMC_EXIT_NAMES: Record<number, string> = {
  64: 'EX_USAGE',
  65: 'EX_DATAERR',
  66: 'EX_NOINPUT',
  67: 'EX_NOUSER',
  68: 'EX_NOHOST',
  69: 'EX_UNAVAILABLE',
  70: 'EX_SOFTWARE',
  71: 'EX_OSERR',
  72: 'EX_OSFILE',
  73: 'EX_CANTCREAT',
  74: 'EX_IOERR',
  75: 'EX_TEMPFAIL',
  76: 'EX_PROTOCOL',
  77: 'EX_NOPERM',
  78: 'EX_CONFIG',
  98: 'EX_TOOBIG',
};

function bound(text: string): string {
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}

function outputOf(run: ToolRun): string {
  return [run.stderr.trim(), run.stdout.trim()].filter((part) => part !== '').join('\n');
}

function describeFailure(tool: string, run: ToolRun, timeoutMs: number): string {
  if (run.startError) return `could not start ${tool}: ${run.startError.message}`;
  const output = bound(outputOf(run));
  const said = output === '' ? '' : `: ${output}`;
  if (run.timedOut) return `${tool} timed out after ${timeoutMs} ms and was killed${said}`;
  if (run.code === null) return `${tool} was killed by ${run.signal ?? 'a signal'}${said}`;
  if (run.code === 0) return `${tool} exited with code 0 but did not report a learned message${said}`;
  const name = tool === 'spamc' ? SPAMC_EXIT_NAMES[run.code] : undefined;
  let status = `exit code ${run.code}${name ? `, ${name}` : ''}`;
  // what spamc does when spamd runs without --allow-tell: no message at all
  if (tool === 'spamc' && run.code === 74 && output === '') {
    status += '; spamd refuses learning unless it runs with --allow-tell';
  }
  return output === '' ? `${tool} failed (${status}) without a message` : `${output} (${tool} ${status})`;
}

/** spamc's PING: one request, one status line; anything else is not spamd. */
function pingSpamd(host: string, port: number, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => {
      const state = socket.connecting ? 'no connection' : 'no answer to PING';
      finish(false, `${state} from ${where} within ${timeoutMs} ms`);
    }, timeoutMs);
    const firstLine = () => received.toString('latin1').split(/\r?\n/)[0] ?? '';
    const judge = (complete: boolean) => {
      const text = received.toString('latin1');
      if (!/\r?\n/.test(text) && !complete && received.length < 1024) return;
      const line = firstLine().slice(0, 200);
      if (/^SPAMD\/\d+(\.\d+)* 0 PONG\b/.test(line)) finish(true, `spamd at ${where} answered ${line}`);
      else if (line === '') finish(false, `${where} closed the connection without answering PING`);
      else finish(false, `${where} is not spamd: it answered ${JSON.stringify(line)} to PING`);
    };
    socket.once('connect', () => socket.write('PING SPAMC/1.5\r\n\r\n'));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      judge(false);
    });
    socket.once('end', () => judge(true));
    socket.once('close', () => judge(true));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') {
        finish(false, `connection to ${where} refused (is spamd running and listening there?)`);
      } else if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') {
        finish(false, `cannot resolve spamd host ${JSON.stringify(host)} (${error.code})`);
      } else {
        finish(false, `cannot talk to spamd at ${where}: ${error.message}`);
      }
    });
  });
}
