// Working with the real amavisd lab (tests/amavis-lab): mail in through amavisd's SMTP port, the SQL
// quarantine it writes, and what amavisd sends out to the SMTP sink.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { and, eq, isNotNull } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import { loadQuarantinedMessage } from '../../server/amavis/quarantine-reassembly.ts';
import type { AmavisStore } from '../../server/db/stores.ts';
import { LAB_STATE_DIR, readLabEnv } from './services.ts';

export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
export const LAB_SENDER = 'spammer@sender.test';
const WAIT_MS = 30_000;

export const lab = readLabEnv() ?? {};
export const sinkDir = lab.AMAVIS_LAB_SINK_DIR ?? '/tmp/amavis-console-lab/sink';
const execFileAsync = promisify(execFile);

export type LabInstance = 'PG' | 'MY';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const found = await probe();
    if (found !== null && found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not there after ${WAIT_MS} ms`);
    await sleep(100);
  }
}

export interface Quarantined {
  tag: string;
  messageId: string;
  mailId: string;
  secretId: string;
  partitionTag: number;
  quarType: string;
  host: string;
  raw: Buffer;
}

/** Header block and body of a message, split at the first empty line (LF in SQL, CRLF from SMTP). */
export function splitMessage(raw: Buffer): { header: string; body: Buffer } {
  const text = raw.toString('latin1');
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) throw new Error('message without a header/body separator');
  return { header: text.slice(0, match.index), body: raw.subarray(match.index + match[0].length) };
}

export function headerField(header: string, name: string): string | undefined {
  const unfolded = header.replace(/\r?\n(?=[ \t])/g, '');
  const line = unfolded.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

export interface GtubeOptions {
  recipients: string[];
  label: string;
  /** host:port of the amavisd to send through; default the instance's AMAVIS_LAB_<instance>_SMTP. */
  smtp?: string;
}

/**
 * Sends a unique GTUBE mail through amavisd's SMTP port and waits until it is in the SQL quarantine.
 * The body has 8-bit UTF-8, lines SMTP must dot-stuff, trailing blanks and a tab: it must survive as is.
 */
export async function quarantineGtube(
  instance: LabInstance,
  store: AmavisStore,
  options: GtubeOptions,
): Promise<Quarantined> {
  const tag = randomBytes(8).toString('hex');
  const messageId = `<${options.label.replace(/\W+/g, '-')}-${tag}@sender.test>`;
  const raw = [
    `From: Spammer <${LAB_SENDER}>`,
    `To: ${options.recipients[0]}`,
    `Subject: ${options.label} ${instance} ${tag}`,
    `Message-ID: ${messageId}`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    `unique body ${tag}`,
    'Grüße – ünïcödé ✓',
    '.a line that starts with a dot',
    '..and one with two',
    '.',
    'trailing blanks   ',
    '\tindented',
    '',
    GTUBE,
    '',
  ].join('\r\n');
  const [host, port] = (options.smtp ?? lab[`AMAVIS_LAB_${instance}_SMTP`] ?? '').split(':');
  const transport = nodemailer.createTransport({ host, port: Number(port), secure: false, ignoreTLS: true });
  const info = await transport.sendMail({ envelope: { from: LAB_SENDER, to: options.recipients }, raw });
  transport.close();
  if (!/^250 2\.7\.0 Ok, discarded/.test(info.response)) {
    throw new Error(`amavisd did not discard the GTUBE mail: ${info.response}`);
  }
  const m = store.t.msgsTable;
  const row = await waitFor(`msgs row for ${messageId}`, async () => {
    const [found] = await store.connection.db
      .select({
        mailId: m.mailId,
        secretId: m.secretId,
        partitionTag: m.partitionTag,
        quarType: m.quarType,
        host: m.host,
      })
      .from(m)
      .where(and(eq(m.messageId, messageId), isNotNull(m.content)));
    return found;
  });
  const stored = await waitFor(`quarantine of ${row.mailId}`, () =>
    loadQuarantinedMessage(store, { partitionTag: row.partitionTag, mailId: row.mailId }),
  );
  if (stored.problems.length > 0)
    throw new Error(`quarantine of ${row.mailId}: ${stored.problems.join('; ')}`);
  return {
    tag,
    messageId,
    mailId: row.mailId,
    secretId: row.secretId ?? '',
    partitionTag: row.partitionTag,
    quarType: row.quarType ?? '',
    host: row.host,
    raw: stored.raw,
  };
}

export interface Delivered {
  file: string;
  envelope: { mail_from: string; rcpt_tos: string[] };
  raw: Buffer;
}

/** The header block of each .eml in the sink, read once: the sink grows with every suite's mail. */
const sinkHeaders = new Map<string, string>();

/** Everything in the sink whose header matches, oldest first. */
export function sinkMessages(matches: (header: string) => boolean): Delivered[] {
  let names: string[];
  try {
    names = fs.readdirSync(sinkDir);
  } catch {
    return [];
  }
  const found: Delivered[] = [];
  for (const name of names.filter((n) => n.endsWith('.eml')).sort()) {
    const file = path.join(sinkDir, name);
    let header = sinkHeaders.get(name);
    if (header === undefined) {
      header =
        fs
          .readFileSync(file)
          .toString('latin1')
          .split(/\r?\n\r?\n/, 1)[0] ?? '';
      sinkHeaders.set(name, header);
    }
    if (!matches(header)) continue;
    const envelope = JSON.parse(fs.readFileSync(file.replace(/\.eml$/, '.json'), 'utf8'));
    found.push({ file, envelope, raw: fs.readFileSync(file) });
  }
  return found;
}

/** Released copies of a quarantined mail: amavisd marks them Resent-Message-ID <mail_id-...>. */
export function releasedCopies(mailId: string): Delivered[] {
  return sinkMessages(
    (header) => headerField(header, 'Resent-Message-ID')?.startsWith(`<${mailId}-`) ?? false,
  );
}

export async function waitForCopies(mailId: string, count: number): Promise<Delivered[]> {
  return waitFor(`${count} released copies of ${mailId} in ${sinkDir}`, async () => {
    const copies = releasedCopies(mailId);
    return copies.length >= count ? copies : null;
  });
}

/** The quarantined body as SMTP carries it: amavisd stores LF line ends, the wire has CRLF. */
export function wireBody(quarantined: Buffer): Buffer {
  return Buffer.from(splitMessage(quarantined).body.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

// ---------------------------------------------------------------------------------------------------
// The spare amavisd instances (tests/amavis-lab/spare.sh): the same amavisd as "pg"/"my", on the same
// databases, for the tests that stop amavisd for real. Nobody else uses them.

export interface LabSpare {
  /** "pg-spare" or "my-spare" */
  name: string;
  /** The argument spare.sh takes: "pg" or "my". */
  db: 'pg' | 'my';
  /** host:port of its SMTP listener */
  smtp: string;
  pdpHost: string;
  pdpPort: number;
  socket: string;
  pidFile: string;
  log: string;
}

/** The spare amavisd on `db`'s database, or null when the lab (an older setup.sh) has none. */
export function labSpare(db: 'pg' | 'my'): LabSpare | null {
  const key = `AMAVIS_LAB_${db.toUpperCase()}SPARE`;
  const smtp = lab[`${key}_SMTP`];
  const pdp = lab[`${key}_PDP`];
  if (!smtp || !pdp || !lab.AMAVIS_LAB_SPARE_CTL) return null;
  const colon = pdp.lastIndexOf(':');
  return {
    name: lab[`${key}_NAME`] ?? `${db}-spare`,
    db,
    smtp,
    pdpHost: pdp.slice(0, colon),
    pdpPort: Number(pdp.slice(colon + 1)),
    socket: lab[`${key}_PDP_SOCKET`] ?? '',
    pidFile: lab[`${key}_PIDFILE`] ?? '',
    log: lab[`${key}_LOG`] ?? '',
  };
}

/**
 * Stops or starts a spare amavisd and waits: stopped = its master and children gone, its ports refuse,
 * its socket removed (~1.5 s); started = "ready for work", both ports listen, the socket exists (~2 s).
 */
export async function spareAmavisd(spare: LabSpare, action: 'stop' | 'start'): Promise<void> {
  const ctl = lab.AMAVIS_LAB_SPARE_CTL ?? '';
  try {
    await execFileAsync('bash', [ctl, action, spare.db], {
      env: { ...process.env, STATE_DIR: lab.AMAVIS_LAB_STATE_DIR ?? LAB_STATE_DIR },
      timeout: 90_000,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `bash ${ctl} ${action} ${spare.db} failed: ${String(error)}\n${stdout ?? ''}${stderr ?? ''}`,
    );
  }
}

/**
 * Holds the spare for one test file across processes (a second test run waits): the outage tests stop
 * and start it, which another run must not do in between. Returns the release; a holder that died
 * leaves a lock that the next one takes over.
 */
export async function lockSpare(spare: LabSpare, timeoutMs = 50_000): Promise<() => void> {
  const dir = path.join(lab.AMAVIS_LAB_STATE_DIR ?? LAB_STATE_DIR, `spare-${spare.name}.test-lock`);
  const owner = path.join(dir, 'pid');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(owner, String(process.pid));
      return () => fs.rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = 0;
    try {
      holder = Number(fs.readFileSync(owner, 'utf8'));
    } catch {}
    const stale = holder > 0 ? !processAlive(holder) : Date.now() - modifiedAt(dir) > 10_000;
    if (stale) {
      fs.rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`${dir} is held by pid ${holder || '?'} (another run of the amavisd outage tests)`);
    }
    await sleep(200);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** When the file was last modified, in ms since the epoch (now if it is gone). */
function modifiedAt(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}
