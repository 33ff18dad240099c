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

/** A small seeded generator (mulberry32): the same run shuffles the same way. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs every variant once per round, in an order shuffled each round, for `rounds` rounds after `warmup`
 * unrecorded ones; returns each variant's timings. Shuffled, not rotated: a rotation keeps the same
 * neighbours, and a variant that always ran right after a GraphQL request shared the cores with the
 * console's work after its response (on MariaDB the console's own SQL, replayed there, looked 0.5 ms
 * slower than the same text run alone).
 */
export async function interleaved<K extends string>(
  variants: Record<K, () => Promise<unknown>>,
  rounds: number,
  warmup: number,
  seed = 4,
): Promise<Record<K, Timing>> {
  const names = Object.keys(variants) as K[];
  const times = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  const random = seeded(seed);
  for (let round = 0; round < warmup + rounds; round++) {
    const order = [...names];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] as K, order[i] as K];
    }
    for (const name of order) {
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
