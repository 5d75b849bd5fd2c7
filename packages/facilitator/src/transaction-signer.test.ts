import { parseTransaction, recoverTransactionAddress, type TransactionSerializedEIP1559 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { createTransactionSigner } from './transaction-signer.ts';

const key = `0x${'5a'.repeat(32)}` as const;
const account = privateKeyToAccount(key);

const transactions = [0, 1, 7, 1_000_000].map((nonce) => ({
  type: 'eip1559' as const,
  chainId: 84532,
  to: `0x${'ab'.repeat(20)}` as const,
  data: `0xe3ee160e${nonce.toString(16).padStart(64, '0')}` as const,
  nonce,
  gas: 200_000n,
  value: 0n,
  maxFeePerGas: 2_000_000_000n + BigInt(nonce),
  maxPriorityFeePerGas: 1_000_000n,
}));

describe('createTransactionSigner', () => {
  it('loads libsecp256k1 here (the platform has a prebuilt binding)', () => {
    expect(createTransactionSigner(key).implementation).toBe('libsecp256k1');
  });

  it('produces the same bytes as viem’s signer (RFC 6979, low-s), recoverable to the settler', async () => {
    const native = createTransactionSigner(key);
    const fallback = createTransactionSigner(key, { native: false });
    expect(fallback.implementation).toBe('viem');
    for (const transaction of transactions) {
      const raw = await native(transaction);
      expect(raw).toBe(await account.signTransaction(transaction));
      expect(raw).toBe(await fallback(transaction));
      expect(
        await recoverTransactionAddress({ serializedTransaction: raw as TransactionSerializedEIP1559 }),
      ).toBe(account.address);
      expect(parseTransaction(raw).nonce).toBe(transaction.nonce);
    }
  });
});
