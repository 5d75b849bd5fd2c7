import {
  applyMaxDeposit,
  maxDepositFromSpendCap,
  validateDepositPolicy,
} from '@x402/evm/batch-settlement/client';
import { describe, expect, it } from 'vitest';
import { depositMultiplierFor, levelOrder } from './paid-requests.ts';

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

describe('depositMultiplierFor', () => {
  // The official client's cap: depositMultiplier × the x402 client's default $1 per-payment cap.
  const DEFAULT_CAP = '1000000';
  it.each([1_200_000n, 28_680_000n, 31_240_000n, 1_000_000n, 999_999n])(
    'lets the official client deposit %s atomic uncut',
    (deposit) => {
      const depositMultiplier = depositMultiplierFor(deposit);
      // A multiplier the official client accepts (it refuses one below 3)...
      expect(() => validateDepositPolicy({ depositMultiplier })).not.toThrow();
      // ...and a cap that leaves the deposit whole.
      const max = maxDepositFromSpendCap(DEFAULT_CAP, depositMultiplier);
      expect(applyMaxDeposit(deposit, 40_000n, max)).toBe(deposit.toString());
    },
  );

  it('is needed: with the default multiplier a 31.24 USDC deposit is cut to 5 USDC', () => {
    expect(applyMaxDeposit(31_240_000n, 40_000n, maxDepositFromSpendCap(DEFAULT_CAP))).toBe('5000000');
  });
});
