import { describe, expect, it } from 'vitest';
import { levelOrder } from './paid-requests.ts';

describe('levelOrder', () => {
  it('runs two sides ABBA, the starting side alternating between levels', () => {
    expect(levelOrder(['ours', 'reference'], 0)).toStrictEqual(['ours', 'reference', 'reference', 'ours']);
    expect(levelOrder(['ours', 'reference'], 1)).toStrictEqual(['reference', 'ours', 'ours', 'reference']);
  });

  it('runs four sides forward then backward, rotating the start by one side per level', () => {
    const sides = ['ours', 'reference', 'oursBatch', 'referenceBatch'] as const;
    expect(levelOrder(sides, 1)).toStrictEqual([
      'reference',
      'oursBatch',
      'referenceBatch',
      'ours',
      'ours',
      'referenceBatch',
      'oursBatch',
      'reference',
    ]);
    // Every side runs exactly twice per level, and after four levels each side has started once.
    for (let level = 0; level < 4; level++) {
      const order = levelOrder(sides, level);
      for (const side of sides) expect(order.filter((s) => s === side)).toHaveLength(2);
    }
    expect([0, 1, 2, 3].map((level) => levelOrder(sides, level)[0])).toStrictEqual([...sides]);
  });
});
