import { describe, expect, it } from 'vitest';
import { fmt, median, percentile, ratePerSecond, ratio, summarize } from './stats.ts';

describe('percentile', () => {
  it('uses the nearest-rank method on unsorted input', () => {
    const samples = [15, 20, 35, 40, 50];
    expect(percentile(samples, 5)).toBe(15);
    expect(percentile(samples, 30)).toBe(20);
    expect(percentile(samples, 40)).toBe(20);
    expect(percentile(samples, 50)).toBe(35);
    expect(percentile([50, 40, 35, 20, 15], 100)).toBe(50);
  });

  it('picks the 95th and 99th of 1..100 exactly', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(samples, 95)).toBe(95);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 0)).toBe(1);
  });

  it('is undefined for no samples and refuses p outside [0, 100]', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });

  it('does not reorder the caller array', () => {
    const samples = [3, 1, 2];
    expect(median(samples)).toBe(2);
    expect(samples).toStrictEqual([3, 1, 2]);
  });
});

describe('summarize', () => {
  it('reports count, percentiles, mean and max', () => {
    expect(summarize([4, 1, 3, 2])).toStrictEqual({ count: 4, p50: 2, p95: 4, p99: 4, mean: 2.5, max: 4 });
  });

  it('reports undefined statistics for an empty run', () => {
    expect(summarize([])).toStrictEqual({
      count: 0,
      p50: undefined,
      p95: undefined,
      p99: undefined,
      mean: undefined,
      max: undefined,
    });
  });
});

describe('ratePerSecond and ratio', () => {
  it('turns a count over milliseconds into a per-second rate', () => {
    expect(ratePerSecond(50, 2_000)).toBe(25);
    expect(ratePerSecond(5, 0)).toBeUndefined();
  });

  it('divides ours by reference and refuses a zero or missing side', () => {
    expect(ratio(30, 20)).toBe(1.5);
    expect(ratio(30, 0)).toBeUndefined();
    expect(ratio(undefined, 2)).toBeUndefined();
  });

  it('formats numbers and a dash for missing ones', () => {
    expect(fmt(1.2345, 2)).toBe('1.23');
    expect(fmt(undefined)).toBe('–');
  });
});
