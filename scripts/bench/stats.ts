/** Latency / throughput arithmetic for the benchmark report. Pure functions, unit-tested. */

/**
 * The p-th percentile (0..100) by the nearest-rank method: the smallest sample such that at least
 * p% of the samples are at or below it. Undefined for an empty sample.
 */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function median(samples: readonly number[]): number | undefined {
  return percentile(samples, 50);
}

export interface LatencySummary {
  count: number;
  p50: number | undefined;
  p95: number | undefined;
  p99: number | undefined;
  mean: number | undefined;
  max: number | undefined;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const count = samples.length;
  return {
    count,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    mean: count === 0 ? undefined : samples.reduce((a, b) => a + b, 0) / count,
    max: count === 0 ? undefined : Math.max(...samples),
  };
}

/** Events per second over a wall-clock window; undefined when the window is empty. */
export function ratePerSecond(count: number, elapsedMs: number): number | undefined {
  if (!(elapsedMs > 0)) return undefined;
  return (count * 1000) / elapsedMs;
}

/** ours / reference, or undefined when either side is missing or the reference is zero. */
export function ratio(ours: number | undefined, reference: number | undefined): number | undefined {
  if (ours === undefined || reference === undefined || reference === 0) return undefined;
  return ours / reference;
}

/** Rounds for display: `digits` decimals, '–' for missing values. */
export function fmt(value: number | undefined, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(digits);
}
