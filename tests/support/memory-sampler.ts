/**
 * JavaScript for a child process (run with --expose-gc) that samples how much memory the code after it
 * adds: `peak` (RSS) and `peakHeap` (heap + buffers), in bytes; stop it with clearInterval(timer).
 */
export const MEMORY_SAMPLER = `
    globalThis.gc();
    const before = process.memoryUsage();
    const heap = (m) => m.heapUsed + m.arrayBuffers;
    let peak = 0;
    let peakHeap = 0;
    const sample = () => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.rss - before.rss);
      peakHeap = Math.max(peakHeap, heap(m) - heap(before));
    };
    const timer = setInterval(sample, 2);`;
