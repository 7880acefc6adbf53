/** Latency summaries for benchmark results (DESIGN.md field names). */

export interface LatencySummary {
  n: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
}

/**
 * Nearest-rank percentile of an ascending-sorted sample: the smallest value
 * with at least p % of the sample at or below it. No interpolation, so every
 * reported figure is a latency that was actually observed.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of an empty sample');
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

/** Milliseconds with a resolution of 10 µs, enough for sub-millisecond stages. */
export const roundMs = (ms: number): number => Math.round(ms * 100) / 100;

export function summarise(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50_ms: roundMs(percentile(sorted, 50)),
    p95_ms: roundMs(percentile(sorted, 95)),
    p99_ms: roundMs(percentile(sorted, 99)),
    max_ms: roundMs(sorted.at(-1) as number),
  };
}
