// Reassembling quarantined messages from amavisd's chunks, on each database: chunks stored out of
// order, a non-zero partition_tag, every byte value, gaps, and a message larger than one read batch.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadQuarantinedMessage, quarantinedSize } from '../../server/amavis/quarantine-reassembly.ts';
import type { DatabaseTarget, Dialect } from '../../server/config.ts';
import { amavisTables, createAmavisTables } from '../../server/db/amavis-tables.ts';
import { openDatabase } from '../../server/db/database.ts';
import type { AmavisStore } from '../../server/db/stores.ts';
import { attachmentContent, parseMessage } from '../../server/mail/parse-message.ts';
import { openRealDatabase } from '../support/databases.ts';
import { MEMORY_SAMPLER } from '../support/memory-sampler.ts';
import { describeWith } from '../support/services.ts';

interface Opened {
  store: AmavisStore;
  /** How a fresh process opens the same database. */
  target: DatabaseTarget;
  closeConnection(): Promise<void>;
  dispose(): Promise<void>;
}

const CHUNK = 16384;

function once(action: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => {
    done ??= action();
    return done;
  };
}

function chunks(raw: Buffer, size = CHUNK): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < raw.length; at += size) out.push(raw.subarray(at, at + size));
  return out;
}

async function insertChunks(
  store: AmavisStore,
  key: { partitionTag: number; mailId: string },
  parts: { chunkInd: number; mailText: Buffer }[],
): Promise<void> {
  for (const part of parts) {
    await store.connection.db.insert(store.t.quarantineTable).values({ ...key, ...part });
  }
}

/** Every byte value, several times over, in an order that is not sorted. */
function allBytes(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 37 + (i >> 8)) & 0xff;
  return out;
}

function reassemblySuite(open: () => Promise<Opened>): void {
  let opened: Opened;
  let store: AmavisStore;

  beforeAll(async () => {
    opened = await open();
    store = opened.store;
  });

  afterAll(async () => {
    await opened?.closeConnection();
    await opened?.dispose();
  });

  it('joins chunks inserted out of order, byte for byte, on a non-zero partition', async () => {
    const raw = Buffer.concat([
      Buffer.from('X-Quarantine-ID: <bin>\n\n', 'latin1'),
      allBytes(5 * CHUNK + 1234),
    ]);
    const pieces = chunks(raw).map((mailText, i) => ({ chunkInd: i + 1, mailText }));
    const key = { partitionTag: 7, mailId: 'binaryBytes1' };
    await insertChunks(
      store,
      key,
      [pieces[3], pieces[0], pieces[5], pieces[2], pieces[4], pieces[1]].filter((p) => p !== undefined),
    );
    // the same mail_id in another partition must not be mixed in
    await insertChunks(store, { partitionTag: 0, mailId: 'binaryBytes1' }, [
      { chunkInd: 1, mailText: Buffer.from('other partition') },
    ]);
    const loaded = await loadQuarantinedMessage(store, key);
    expect(loaded?.chunks).toBe(6);
    expect(loaded?.problems).toEqual([]);
    expect(loaded?.raw.length).toBe(raw.length);
    expect(loaded?.raw.equals(raw)).toBe(true);
    expect(await quarantinedSize(store, key)).toEqual({
      bytes: raw.length,
      chunks: 6,
      firstChunk: 1,
      lastChunk: 6,
    });
    const other = await loadQuarantinedMessage(store, { partitionTag: 0, mailId: 'binaryBytes1' });
    expect(other?.raw.toString()).toBe('other partition');
  });

  it('reads a message of more chunks than one read batch in order', async () => {
    const raw = allBytes(700 * 100);
    const key = { partitionTag: 0, mailId: 'manyChunks01' };
    const pieces = chunks(raw, 100).map((mailText, i) => ({ chunkInd: i + 1, mailText }));
    await insertChunks(store, key, [...pieces].reverse());
    const loaded = await loadQuarantinedMessage(store, key);
    expect(loaded?.chunks).toBe(700);
    expect(loaded?.problems).toEqual([]);
    expect(loaded?.raw.equals(raw)).toBe(true);
  });

  it('reports a gap, and a missing chunk 1, and still returns what is stored', async () => {
    const key = { partitionTag: 0, mailId: 'gappyMessage' };
    await insertChunks(store, key, [
      { chunkInd: 1, mailText: Buffer.from('one ') },
      { chunkInd: 2, mailText: Buffer.from('two ') },
      { chunkInd: 4, mailText: Buffer.from('four ') },
      { chunkInd: 5, mailText: Buffer.from('five') },
    ]);
    const gappy = await loadQuarantinedMessage(store, key);
    expect(gappy).toEqual({
      raw: Buffer.from('one two four five'),
      chunks: 4,
      problems: ['chunk 3 of 5 is missing'],
    });

    const headless = { partitionTag: 0, mailId: 'headlessMsg1' };
    await insertChunks(store, headless, [
      { chunkInd: 3, mailText: Buffer.from('three') },
      { chunkInd: 4, mailText: Buffer.from('four') },
    ]);
    expect((await loadQuarantinedMessage(store, headless))?.problems).toEqual([
      'chunks 1 to 2 of 4 are missing',
      'the start of the message (chunk 1) is missing, so its header section is incomplete',
    ]);
  });

  it('null when the quarantine holds nothing for the message', async () => {
    expect(await loadQuarantinedMessage(store, { partitionTag: 0, mailId: 'noSuchMail01' })).toBeNull();
    expect(await quarantinedSize(store, { partitionTag: 0, mailId: 'noSuchMail01' })).toBeNull();
  });

  it('a multi-chunk message with a binary attachment parses to the original attachment', async () => {
    const attachment = randomBytes(90_000);
    const raw = Buffer.from(
      'X-Quarantine-ID: <attachMsg001>\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\nContent-Type: multipart/mixed; boundary=b\n\n' +
        `--b\nContent-Type: text/plain; charset=utf-8\n\nhello\n--b\nContent-Type: application/octet-stream; name=a.bin\n` +
        `Content-Transfer-Encoding: base64\n\n${attachment.toString('base64').replace(/.{76}/g, '$&\n')}\n--b--\n`,
      'latin1',
    );
    const key = { partitionTag: 0, mailId: 'attachMsg001' };
    const pieces = chunks(raw).map((mailText, i) => ({ chunkInd: i + 1, mailText }));
    expect(pieces.length).toBeGreaterThan(5);
    await insertChunks(store, key, [...pieces].reverse());
    const loaded = await loadQuarantinedMessage(store, key);
    const parsed = await parseMessage(loaded?.raw ?? Buffer.alloc(0));
    expect(parsed.problems).toEqual([]);
    expect(parsed.subject).toBe('Grüße');
    expect(parsed.amavis.quarantineId).toBe('attachMsg001');
    expect(parsed.attachments[0]?.sha256).toBe(createHash('sha256').update(attachment).digest('hex'));
    const download = await attachmentContent(loaded?.raw ?? Buffer.alloc(0), '1.2');
    expect(download?.content.equals(attachment)).toBe(true);
  });

  // Last: it closes this process's connection, so that PGlite's data folder can be opened by the child.
  it('opening a 25 MB message (reassembly and parsing) adds well under 200 MB of memory', async () => {
    const head =
      'Subject: big\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nhi\n--B\n' +
      'Content-Type: application/pdf; name=big.pdf\nContent-Transfer-Encoding: base64\n\n';
    const attachment = randomBytes(Math.floor(((25 * 1024 * 1024) / 78) * 57));
    const raw = Buffer.from(
      `${head}${attachment.toString('base64').replace(/.{76}/g, '$&\n')}\n--B--\n`,
      'latin1',
    );
    const key = { partitionTag: 0, mailId: 'big25MB00001' };
    const rows = chunks(raw).map((mailText, i) => ({ ...key, chunkInd: i + 1, mailText }));
    for (let i = 0; i < rows.length; i += 100) {
      await store.connection.db.insert(store.t.quarantineTable).values(rows.slice(i, i + 100));
    }
    await opened.closeConnection();
    const report = await openInFreshProcess(opened.target, key);
    console.info(
      `25 MB message on ${opened.target.kind === 'url' ? opened.target.display : 'PGlite'}: load ${report.loadMs} ms, ` +
        `parse ${report.parseMs} ms, peak RSS +${report.peakRssMb} MB, peak heap+buffers +${report.peakHeapMb} MB`,
    );
    expect(report.bytes).toBe(raw.length);
    expect(report.problems).toEqual([]);
    expect(report.sha256).toBe(createHash('sha256').update(attachment).digest('hex'));
    expect(report.peakRssMb).toBeLessThan(200);
    expect(report.peakHeapMb).toBeLessThan(200);
  }, 120_000);
}

interface OpenReport {
  bytes: number;
  loadMs: number;
  parseMs: number;
  peakRssMb: number;
  /** Peak growth of the JS heap plus Buffers (PGlite's memory is its own WebAssembly heap). */
  peakHeapMb: number;
  problems: string[];
  sha256: string;
}

/**
 * Loads and parses one message in a fresh Node process (this worker's heap holds other tests'
 * garbage) and reports the RSS growth over both steps, sampled every 2 ms.
 */
async function openInFreshProcess(
  target: DatabaseTarget,
  key: { partitionTag: number; mailId: string },
): Promise<OpenReport> {
  const module = (name: string) => JSON.stringify(new URL(`../../server/${name}`, import.meta.url).href);
  const code = `
    import { openDatabase } from ${module('db/database.ts')};
    import { amavisTables } from ${module('db/amavis-tables.ts')};
    import { loadQuarantinedMessage } from ${module('amavis/quarantine-reassembly.ts')};
    import { parseMessage } from ${module('mail/parse-message.ts')};
    const target = JSON.parse(process.env.REASSEMBLY_TARGET);
    const connection = await openDatabase(target, 'test');
    await connection.ping();
${MEMORY_SAMPLER}
    const t0 = performance.now();
    const loaded = await loadQuarantinedMessage({ connection, t: amavisTables(connection.dialect) }, ${JSON.stringify(key)});
    const t1 = performance.now();
    const parsed = await parseMessage(loaded.raw);
    const t2 = performance.now();
    clearInterval(timer);
    sample();
    await connection.close();
    console.log(JSON.stringify({
      bytes: loaded.raw.length, loadMs: Math.round(t1 - t0), parseMs: Math.round(t2 - t1),
      peakRssMb: Math.round(peak / 1048576), peakHeapMb: Math.round(peakHeap / 1048576),
      problems: [...loaded.problems, ...parsed.problems],
      sha256: parsed.attachments[0]?.sha256 ?? '',
    }));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', code],
    {
      env: { ...process.env, REASSEMBLY_TARGET: JSON.stringify(target) },
      maxBuffer: 1024 * 1024,
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as OpenReport;
}

describe('quarantine reassembly on embedded PGlite', () => {
  reassemblySuite(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reassembly-'));
    const target: DatabaseTarget = { kind: 'embedded', dir };
    const connection = await openDatabase(target, 'test');
    await createAmavisTables(connection);
    return {
      store: { connection, t: amavisTables('pg') },
      target,
      closeConnection: once(() => connection.close()),
      dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  });
});

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const satisfies readonly (readonly [Dialect, 'postgresql' | 'mariadb'])[]) {
  await describeWith([service], `quarantine reassembly on ${service}`, () => {
    reassemblySuite(async () => {
      const database = await openRealDatabase(dialect);
      await database.prepare();
      const url = database.env.AMAVIS_DATABASE_URL ?? '';
      const target: DatabaseTarget = { kind: 'url', dialect, url, display: service };
      const connection = await openDatabase(target, 'test');
      return {
        store: { connection, t: amavisTables(dialect) },
        target,
        closeConnection: once(() => connection.close()),
        dispose: () => database.dispose(),
      };
    });
  });
}
