// npm run bench:report [-- FILE ...]: the Markdown tables the README shows, made from saved bench runs
// (bench/results/*.json; by default the newest run of each dialect at the largest size), so the README's
// numbers always come from a run anyone can open.
import fs from 'node:fs';
import path from 'node:path';

type Line = Record<string, unknown> & { case: string };
interface Run extends Line {
  dialect: string;
  messages: number;
  setup: string;
  machine: Record<string, unknown>;
  started: string;
  cases: Line[];
  summary: Line & { totalMs: number };
}

const RESULTS = new URL('./results/', import.meta.url).pathname;

function newestRuns(): string[] {
  const runs = fs
    .readdirSync(RESULTS)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({
      file: path.join(RESULTS, f),
      run: JSON.parse(fs.readFileSync(path.join(RESULTS, f), 'utf8')) as Run,
    }));
  // the newest run at the scale (1 M messages, give or take what a run added), else the largest
  const atScale = (run: Run) => run.messages >= 1_000_000;
  const best = new Map<string, { file: string; run: Run }>();
  for (const entry of runs) {
    const current = best.get(entry.run.dialect);
    const better =
      !current ||
      (atScale(entry.run) && !atScale(current.run)) ||
      (atScale(entry.run) === atScale(current.run) &&
        (atScale(entry.run)
          ? entry.run.started > current.run.started
          : entry.run.messages > current.run.messages ||
            (entry.run.messages === current.run.messages && entry.run.started > current.run.started)));
    if (better) best.set(entry.run.dialect, entry);
  }
  return [...best.values()].map((e) => e.file).sort();
}

const ms = (value: unknown) => (typeof value === 'number' ? value.toFixed(value < 100 ? 1 : 0) : '–');
const timing = (line: Record<string, unknown>, key: string, p: 'p50' | 'p95' | 'p99' = 'p95') =>
  ms((line[key] as Record<string, unknown> | undefined)?.[p]);
const yes = (value: unknown) => (value ? 'yes' : '**no**');

function listingTable(run: Run): string[] {
  const rows = [
    '| case | GraphQL p95 | console SQL p95 | raw SQL p95 | SQL ratio (≤ 1.2) | session floor p95 | GraphQL bound | bound, anonymous floor | modoboa shape p50 | × modoboa | meets |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const line of run.cases.filter((c) => c.case.startsWith('list-'))) {
    const modoboa = line.modoboa as Record<string, unknown>;
    rows.push(
      `| ${line.case} | ${timing(line, 'graphql')} | ${timing(line, 'consoleSql')} | ${timing(line, 'raw')} | ${line.consoleSqlRatio} | ${timing(line, 'floorSession')} | ${ms(line.graphqlBoundSession)} | ${ms(line.graphqlBound)}${(line.checks as Record<string, unknown> | undefined)?.graphql ? '' : ' (missed)'} | ${ms(modoboa.p50)}${modoboa.timedOut ? ' (timed out)' : ''} | ${line.modoboaRatio}${modoboa.timedOut ? '+' : ''} | ${yes(line.meets)} |`,
    );
  }
  return rows;
}

function otherLines(run: Run): string[] {
  const byCase = new Map(run.cases.map((c) => [c.case, c]));
  const out: string[] = [];
  const generated = run.generatedMs as number | null;
  if (generated)
    out.push(
      `- data generation: ${Math.round(run.messages / (generated / 1000)).toLocaleString('en')} messages/s`,
    );
  const open = byCase.get('message-open-25mb');
  if (open)
    out.push(
      `- opening a 25 MB message: ${ms(open.addedMbMax)} MB added at most (bar 200), meets: ${yes(open.meets)}`,
    );
  const load = byCase.get('load-50');
  if (load)
    out.push(
      `- 50 connections for ${load.seconds} s: ${load.requestsPerSecond} requests/s, p50 ${timing(load, 'latency', 'p50')} ms, p95 ${timing(load, 'latency')} ms, ${load.errors} errors, peak RSS ${load.rssPeakMb} MB`,
    );
  const inserts = byCase.get('amavisd-inserts');
  if (inserts && !inserts.skipped)
    out.push(
      `- amavisd's inserts with the accelerator's triggers: ${inserts.ratioMean}× the time without (mean per message)`,
    );
  const release = byCase.get('release-200');
  if (release && !release.skipped) {
    const console = release.console as Record<string, unknown>;
    out.push(
      `- bulk release of ${release.pairs} through real amavisd: ${(Number(console.totalMs) / 1000).toFixed(1)} s (${release.perPairMs} ms a pair), ${release.ratio}× hand-written AM.PDP on one connection`,
    );
  }
  const live = byCase.get('subscriptions');
  for (const mode of (live?.modes as Record<string, unknown>[] | undefined) ?? []) {
    out.push(
      `- live events (${mode.mode}): commit → event p95 ${timing(mode, 'singleLatencyMs')} ms one message at a time with ${mode.subscribers} subscribers connected; a burst of ${mode.burst}: all delivered ${mode.burstDeliveredMs} ms after the first write (writing took ${mode.burstWriteMs} ms), event p95 ${timing(mode, 'burstLatencyMs')} ms, ${mode.missing} missing, ${mode.duplicates} twice, ${mode.extra} not theirs; RSS ${mode.rssBeforeMb} → ${mode.rssPeakMb} MB (bar 300)`,
    );
  }
  const cleanup = byCase.get('cleanup');
  if (cleanup && !cleanup.skipped)
    out.push(
      `- cleanup: ${Number(cleanup.expiredMessages) + Number(cleanup.logOnlyMessages) + Number(cleanup.markedMessages)} messages in ${cleanup.seconds} s (${Number(cleanup.rowsPerSecond).toLocaleString('en')} rows/s); concurrent amavisd inserts p99 ${timing(cleanup, 'insertsDuring', 'p99')} ms (bar 200, ${timing(cleanup, 'insertsBefore', 'p99')} ms before), meets: ${yes(cleanup.meets)}`,
    );
  return out;
}

const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : newestRuns();
for (const file of files) {
  const run = JSON.parse(fs.readFileSync(file, 'utf8')) as Run;
  const m = run.machine;
  console.log(
    `### ${run.dialect}, ${run.messages.toLocaleString('en')} messages, setup ${run.setup} (${path.basename(file)})\n`,
  );
  console.log(
    `${m.cores} cores ${m.cpu}, ${m.database}, Node ${m.node}, load average at start ${(m.loadAverage as number[])?.[0]}; whole run ${Math.round(run.summary.totalMs / 60000)} min. Times in ms.\n`,
  );
  console.log([...listingTable(run), '', ...otherLines(run), ''].join('\n'));
}
