// `npm run bench -- --size 20000` as CI runs it: a throwaway database per dialect, every case measured
// (few rounds), and every listing case answering the same rows through GraphQL, the service and the raw
// SQL. Numbers only have to exist here; the bar is checked at 1,000,000 messages (README, Benchmarks).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { CASES } from '../../bench/cases/index.ts';
import { describeWith } from '../support/services.ts';

const BENCH = fileURLToPath(new URL('../../bench/bench.ts', import.meta.url));

const finite = (value: unknown) => typeof value === 'number' && Number.isFinite(value);

for (const [name, service] of [
  ['postgresql', 'postgresql'],
  ['mariadb', 'mariadb'],
] as const) {
  await describeWith([service, 'amavisd'], `npm run bench on ${service}`, () => {
    it('measures every case on 20,000 messages', async () => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          BENCH,
          ...['--dialect', name, '--size', '20000', '--requests', '5'],
          ...['--modoboa-runs', '1', '--message-runs', '1', '--insert-messages', '20', '--load-seconds', '2'],
          ...['--release-pairs', '20'],
          '--no-save',
        ],
        { maxBuffer: 64 * 1024 * 1024, timeout: 170_000 },
      );
      const lines = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const byCase = new Map(lines.map((line) => [String(line.case), line]));
      expect([...byCase.keys()]).toEqual(['run', ...CASES.map((c) => c.name), 'summary']);
      expect(byCase.get('run')).toMatchObject({ dialect: name, messages: 20000 });
      expect(finite(byCase.get('floor')?.p95)).toBe(true);
      for (const line of lines.filter((l) => String(l.case).startsWith('list-'))) {
        for (const variant of ['graphql', 'consoleSql', 'service', 'raw', 'floor', 'floorSession']) {
          const timing = line[variant] as Record<string, unknown>;
          expect([line.case, variant, finite(timing.p50) && finite(timing.p95)]).toEqual([
            line.case,
            variant,
            true,
          ]);
        }
        expect([line.case, finite((line.modoboa as Record<string, unknown>).p50)]).toEqual([line.case, true]);
        expect([line.case, finite(line.consoleSqlRatio), finite(line.modoboaRatio)]).toEqual([
          line.case,
          true,
          true,
        ]);
        expect([line.case, (line.checks as Record<string, unknown>).sameRows]).toEqual([line.case, true]);
        expect(typeof line.meets).toBe('boolean');
      }
      const opened = byCase.get('message-open-25mb') as Record<string, unknown>;
      expect(finite(opened.addedMbMax)).toBe(true);
      expect(opened.attachmentIntact).toBe(true);
      const inserts = byCase.get('amavisd-inserts') as Record<string, unknown>;
      expect(finite(inserts.ratioMean)).toBe(true);
      expect(inserts.stillComplete).toBe(true);
      const load = byCase.get('load-50') as Record<string, unknown>;
      expect([load.errors, (load.requests as number) > 50]).toEqual([0, true]);
      expect(finite((load.latency as Record<string, unknown>).p99)).toBe(true);
      const release = byCase.get('release-200') as Record<string, unknown>;
      expect(release.console).toMatchObject({ released: 20, failed: 0 });
      expect([finite(release.ratio), (release.raw as Record<string, unknown>).failed]).toEqual([true, 0]);
      const cleanup = byCase.get('cleanup') as Record<string, unknown>;
      expect(cleanup.complete).toBe(true);
      expect((cleanup.expiredMessages as number) > 0).toBe(true);
      expect([finite(cleanup.rowsPerSecond), finite(cleanup.insertWaitMaxMs)]).toEqual([true, true]);
    }, 180_000);
  });
}
