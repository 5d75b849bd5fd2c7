import { describe, expect, it } from 'vitest';
import { isNonceError, NonceAllocator } from './nonce-allocator.ts';

describe('NonceAllocator', () => {
  it('reads the pending count once and hands out distinct consecutive nonces to concurrent callers', async () => {
    let reads = 0;
    const allocator = new NonceAllocator(async () => {
      reads += 1;
      await new Promise((r) => setTimeout(r, 5));
      return 7;
    });
    const nonces = await Promise.all(Array.from({ length: 50 }, () => allocator.allocate()));
    expect(reads).toBe(1);
    expect([...nonces].sort((a, b) => a - b)).toStrictEqual(Array.from({ length: 50 }, (_, i) => 7 + i));
  });

  describe('after resync()', () => {
    it('re-reads the chain and continues from its pending count', async () => {
      const counts = [3, 10];
      const allocator = new NonceAllocator(async () => counts.shift() ?? 99);
      expect(await allocator.allocate()).toBe(3);
      expect(await allocator.allocate()).toBe(4);
      allocator.resync();
      expect(await allocator.allocate()).toBe(10);
      expect(await allocator.allocate()).toBe(11);
      expect(allocator.resyncs).toBe(1);
    });
  });

  describe('when reading the pending count fails', () => {
    it('rejects the waiting callers and retries on the next allocation', async () => {
      let fail = true;
      const allocator = new NonceAllocator(async () => {
        if (fail) throw new Error('rpc down');
        return 5;
      });
      await expect(allocator.allocate()).rejects.toThrow('rpc down');
      fail = false;
      expect(await allocator.allocate()).toBe(5);
    });
  });
});

describe('isNonceError', () => {
  it.each([
    ['nonce too low: next nonce 5, tx nonce 4'],
    ['already known'],
    ['replacement transaction underpriced'],
  ])('recognises %s', (message) => {
    expect(isNonceError(new Error('send failed', { cause: new Error(message) }))).toBe(true);
  });

  it('does not treat other failures as nonce errors', () => {
    expect(isNonceError(new Error('insufficient funds for gas * price + value'))).toBe(false);
    expect(isNonceError('nonce too low')).toBe(false);
  });
});
