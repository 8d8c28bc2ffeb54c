// Bytes a piece of code allocates on the V8 heap, for the benches that report allocation.

import { GCProfiler } from 'node:v8';

/** Bytes allocated on the V8 heap while `fn` runs: heap growth between GCs, summed. */
export function allocated(fn: () => void): number {
  const profiler = new GCProfiler();
  const start = process.memoryUsage().heapUsed;
  profiler.start();
  fn();
  const end = process.memoryUsage().heapUsed;
  const stats = profiler.stop()?.statistics ?? [];
  let total = 0;
  let prev = start;
  for (const s of stats) {
    total += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - prev);
    prev = s.afterGC.heapStatistics.usedHeapSize;
  }
  return total + Math.max(0, end - prev);
}
