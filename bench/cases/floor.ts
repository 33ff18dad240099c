// The HTTP/GraphQL floor: `{ __typename }`, anonymous, over the same keep-alive connection as the other
// cases. The listing cases measure it again between their own requests; this line is the run's baseline.
import { summarise } from '../lib/stats.ts';
import type { BenchCase } from './types.ts';

export const floorCase: BenchCase = {
  name: 'floor',
  run: async (context) => {
    const { requests, warmup } = context.options;
    const times: number[] = [];
    for (let i = 0; i < warmup + requests; i++) {
      const t0 = performance.now();
      await context.anonymous.query('{ __typename }');
      if (i >= warmup) times.push(performance.now() - t0);
    }
    const floor = summarise(times);
    context.floorP95 = floor.p95;
    return { ...floor };
  },
};
