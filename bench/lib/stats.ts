// Timing: percentiles over many runs, taken in interleaved rounds so that every variant of a case (GraphQL,
// the console's SQL, the raw SQL, the floor) sees the same machine load. The machine is shared: only
// medians, p95s and ratios measured side by side mean anything.

export interface Timing {
  runs: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  /** Runs per second, one after the other. */
  rps: number;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export function summarise(times: readonly number[]): Timing {
  const sorted = [...times].sort((a, b) => a - b);
  const total = times.reduce((sum, t) => sum + t, 0);
  return {
    runs: times.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    mean: round(total / Math.max(1, times.length)),
    rps: round((times.length / total) * 1000),
  };
}

/**
 * Runs every variant once per round, in an order that rotates each round, for `rounds` rounds after
 * `warmup` unrecorded ones; returns each variant's timings.
 */
export async function interleaved<K extends string>(
  variants: Record<K, () => Promise<unknown>>,
  rounds: number,
  warmup: number,
): Promise<Record<K, Timing>> {
  const names = Object.keys(variants) as K[];
  const times = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < warmup + rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length] as K;
      const t0 = performance.now();
      await variants[name]();
      if (round >= warmup) times[name].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(names.map((name) => [name, summarise(times[name])])) as Record<K, Timing>;
}

export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}
