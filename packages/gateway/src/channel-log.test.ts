import { describe, expect, it } from 'vitest';
import { createChannelLog } from './channel-log.ts';
import { createMemoryPaymentStore } from './memory-payment-store.ts';
import type { PaymentStore } from './payment-store.ts';

const A = `0x${'a1'.repeat(32)}`;
const B = `0x${'b2'.repeat(32)}`;
const tx = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;

describe('channel log', () => {
  it('records a transaction for each channel named, once, oldest first', async () => {
    let clock = 1_000;
    const log = createChannelLog(createMemoryPaymentStore(), { now: () => clock });
    await log.record([A, B.toUpperCase().replace('0X', '0x')], { kind: 'claim', transaction: tx(1) });
    clock = 2_000;
    await log.record([A, A], { kind: 'settle', transaction: tx(2) });
    await log.record([A], { kind: 'settle', transaction: tx(2) }); // a retried pass records nothing new
    expect(await log.list(A)).toStrictEqual([
      { kind: 'claim', transaction: tx(1), at: 1_000 },
      { kind: 'settle', transaction: tx(2), at: 2_000 },
    ]);
    expect(await log.list(B)).toStrictEqual([{ kind: 'claim', transaction: tx(1), at: 1_000 }]);
    expect(await log.list(`0x${'cc'.repeat(32)}`)).toStrictEqual([]);
  });

  it('keeps the newest `limit` entries', async () => {
    const log = createChannelLog(createMemoryPaymentStore(), { limit: 3 });
    for (let n = 1; n <= 5; n++) await log.record([A], { kind: 'claim', transaction: tx(n) });
    expect((await log.list(A)).map((e) => e.transaction)).toStrictEqual([tx(3), tx(4), tx(5)]);
  });

  it('loses no entry when two instances append to one channel at once (version-conditioned writes)', async () => {
    const store = createMemoryPaymentStore();
    // Every read yields once, so the two instances interleave between their read and their write.
    const yielding: PaymentStore = {
      ...store,
      get: async (key, now) => {
        const found = await store.get(key, now);
        await new Promise((resolve) => setImmediate(resolve));
        return found;
      },
    };
    const [one, two] = [createChannelLog(yielding), createChannelLog(yielding)];
    await Promise.all(
      Array.from({ length: 10 }, (_, n) =>
        (n % 2 === 0 ? one : two).record([A], { kind: 'claim', transaction: tx(n + 1) }),
      ),
    );
    expect((await one.list(A)).map((e) => e.transaction).sort()).toStrictEqual(
      Array.from({ length: 10 }, (_, n) => tx(n + 1)).sort(),
    );
  });

  it('refuses a malformed channel id with 400 invalid_channel_id', async () => {
    const log = createChannelLog(createMemoryPaymentStore());
    await expect(log.list('0x1234')).rejects.toMatchObject({ code: 'invalid_channel_id', httpStatus: 400 });
  });
});
