// The demo's seeded randomness: a small PRNG (mulberry32) and the allocation of keys in proportion
// to weights with minimums, so that the same seed always gives the same dataset.

export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  }

  /** mulberry32: a uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    const last = items[items.length - 1];
    if (!last) throw new Error('weighted pick from an empty list');
    return last[0];
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const a = items[i] as T;
      items[i] = items[j] as T;
      items[j] = a;
    }
    return items;
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let i = 0;
    while (i + 4 <= length) {
      out.writeUInt32LE(Math.floor(this.next() * 4294967296), i);
      i += 4;
    }
    for (; i < length; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }

  hex(length: number): string {
    return this.bytes(Math.ceil(length / 2))
      .toString('hex')
      .slice(0, length);
  }

  /** Letters and digits, like Postfix's long queue ids. */
  alnum(length: number): string {
    const alphabet = 'BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789';
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
}

/**
 * `n` keys in random order, each at least `min` times and otherwise in proportion to its weight.
 * When n is smaller than the minimums, the first keys (in the order given) win.
 */
export function allocate<K>(
  rng: Random,
  n: number,
  spec: readonly { key: K; weight: number; min: number }[],
): K[] {
  const out: K[] = [];
  const minimum = spec.reduce((sum, s) => sum + s.min, 0);
  if (n <= minimum) {
    for (const s of spec) for (let i = 0; i < s.min && out.length < n; i++) out.push(s.key);
    return rng.shuffle(out);
  }
  const rest = n - minimum;
  const totalWeight = spec.reduce((sum, s) => sum + s.weight, 0);
  const shares = spec.map((s) => (totalWeight > 0 ? (rest * s.weight) / totalWeight : 0));
  const counts = spec.map((s, i) => s.min + Math.floor(shares[i] ?? 0));
  let missing = n - counts.reduce((a, b) => a + b, 0);
  const byFraction = spec
    .map((_, i) => i)
    .sort((a, b) => ((shares[b] ?? 0) % 1) - ((shares[a] ?? 0) % 1) || a - b);
  for (let k = 0; missing > 0; k++, missing--) {
    const i = byFraction[k % byFraction.length] ?? 0;
    counts[i] = (counts[i] ?? 0) + 1;
  }
  spec.forEach((s, i) => {
    for (let c = 0; c < (counts[i] ?? 0); c++) out.push(s.key);
  });
  return rng.shuffle(out);
}
