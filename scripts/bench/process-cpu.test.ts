import { describe, expect, it } from 'vitest';
import { ownCpuMs, processCpuMs } from './process-cpu.ts';

describe('processCpuMs', () => {
  it('reads the CPU a running process has used, and grows as it works (Linux /proc)', () => {
    const before = processCpuMs(process.pid);
    expect(before).toBeTypeOf('number');
    const until = ownCpuMs() + 60;
    while (ownCpuMs() < until) {
      // spin until this process has used 60 ms more CPU (wall time would vary with load)
    }
    // /proc counts in 10 ms ticks.
    expect((processCpuMs(process.pid) ?? 0) - (before ?? 0)).toBeGreaterThanOrEqual(40);
  });

  it('answers undefined for a process that does not exist, and for no pid', () => {
    expect(processCpuMs(2 ** 30)).toBeUndefined();
    expect(processCpuMs(undefined)).toBeUndefined();
  });
});

describe('ownCpuMs', () => {
  it('counts this process with sub-millisecond resolution', () => {
    const before = ownCpuMs();
    let after = before;
    while (after === before) after = ownCpuMs();
    expect(after - before).toBeLessThan(1);
  });
});
