import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ChannelConfig } from '@x402/evm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelLedger, type OnchainChannelState } from './channel-ledger.ts';
import { createChannelStorage } from './channel-storage.ts';
import { createDynamoDbPaymentStore, ensurePaymentTable } from './dynamodb-payment-store.ts';
import { type LocalDynamo, startLocalDynamo } from './local-dynamo.ts';
import { createMemoryPaymentStore } from './memory-payment-store.ts';
import type { PaymentStore } from './payment-store.ts';

const ADDRESS = `0x${'11'.repeat(20)}` as const;
const config: ChannelConfig = {
  payer: ADDRESS,
  payerAuthorizer: ADDRESS,
  receiver: ADDRESS,
  receiverAuthorizer: ADDRESS,
  token: ADDRESS,
  withdrawDelay: 900,
  salt: `0x${'00'.repeat(32)}`,
};
const onchain: OnchainChannelState = {
  balance: 100_000n,
  totalClaimed: 0n,
  withdrawRequestedAt: 0,
  refundNonce: 0,
};
const PRICE = 40_000n;
const channelId = () => `0x${crypto.randomUUID().replaceAll('-', '').repeat(2)}` as `0x${string}`;
const sig = (n: number) => `0x${n.toString(16).padStart(130, '0')}` as `0x${string}`;
const voucher = (max: bigint, n = Number(max)) => ({ maxClaimableAmount: max, signature: sig(n) });

let dynamo: LocalDynamo;
let dataDir: string;
const clients: DynamoDBClient[] = [];
const client = () => {
  const c = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gateway-channels-'));
  dynamo = await startLocalDynamo({ dataDir, port: 0 });
  await ensurePaymentTable(client(), 'channels-test');
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await dynamo?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Two store clients on one backing table: two gateway instances. */
const adapters: Array<[string, () => [PaymentStore, PaymentStore]]> = [
  [
    'memory',
    () => {
      const store = createMemoryPaymentStore();
      return [store, store];
    },
  ],
  [
    'dynamodb (dynalite, two clients)',
    () => [
      createDynamoDbPaymentStore({ client: client(), tableName: 'channels-test' }),
      createDynamoDbPaymentStore({ client: client(), tableName: 'channels-test' }),
    ],
  ],
];

const ledgerOf = (store: PaymentStore, waitMs = 5_000) =>
  createChannelLedger(createChannelStorage(store), { reservationTtlMs: 30_000, waitMs });

describe.each(adapters)('channel ledger over %s', (_name, stores) => {
  it('commits a charge only after the handler: a release leaves the voucher reusable', async () => {
    const [store] = stores();
    const ledger = ledgerOf(store);
    const id = channelId();
    const first = await ledger.reserve({
      channelId: id,
      channelConfig: config,
      voucher: voucher(PRICE),
      price: PRICE,
      onchain,
    });
    if (first.kind !== 'reserved') throw new Error(first.kind);
    await ledger.release(first.reservation);
    expect(await ledger.snapshot(id)).toBeUndefined();
    const retry = await ledger.reserve({
      channelId: id,
      channelConfig: config,
      voucher: voucher(PRICE),
      price: PRICE,
      onchain,
    });
    if (retry.kind !== 'reserved') throw new Error(retry.kind);
    const committed = await ledger.commit(retry.reservation);
    expect(committed.kind).toBe('committed');
    // Second purchase: handler fails, state unchanged, same voucher works again.
    const second = await ledger.reserve({
      channelId: id,
      channelConfig: config,
      voucher: voucher(2n * PRICE),
      price: PRICE,
    });
    if (second.kind !== 'reserved') throw new Error(second.kind);
    const before = await ledger.snapshot(id);
    await ledger.release(second.reservation);
    expect(await ledger.snapshot(id)).toStrictEqual(before);
    expect(before?.channelState.chargedCumulativeAmount).toBe(String(PRICE));
    const again = await ledger.reserve({
      channelId: id,
      channelConfig: config,
      voucher: voucher(2n * PRICE),
      price: PRICE,
    });
    if (again.kind !== 'reserved') throw new Error(again.kind);
    expect((await ledger.commit(again.reservation)).kind).toBe('committed');
    expect((await ledger.snapshot(id))?.channelState.chargedCumulativeAmount).toBe(String(2n * PRICE));
  });

  it('serializes two concurrent charges on one channel across two instances: one commits, the other gets the corrective state', async () => {
    const [a, b] = stores();
    const id = channelId();
    const ledgers = [ledgerOf(a), ledgerOf(b)];
    const buy = async (ledger: (typeof ledgers)[number], n: number) => {
      const reserved = await ledger.reserve({
        channelId: id,
        channelConfig: config,
        voucher: voucher(PRICE, n),
        price: PRICE,
        onchain,
      });
      if (reserved.kind !== 'reserved') return reserved;
      await new Promise((resolve) => setTimeout(resolve, 30)); // the handler
      return ledger.commit(reserved.reservation);
    };
    const results = await Promise.all([buy(ledgers[0] as never, 1), buy(ledgers[1] as never, 2)]);
    const kinds = results.map((r) => r.kind).sort();
    expect(kinds).toStrictEqual(['committed', 'mismatch']);
    const mismatch = results.find((r) => r.kind === 'mismatch');
    expect(mismatch).toMatchObject({
      channelState: { channelId: id, chargedCumulativeAmount: String(PRICE), balance: '100000' },
    });
    expect((await ledgers[0]?.snapshot(id))?.channelState.chargedCumulativeAmount).toBe(String(PRICE));
  });

  it('never charges beyond the balance or the signed voucher', async () => {
    const [store] = stores();
    const ledger = ledgerOf(store);
    const id = channelId();
    const small = { ...onchain, balance: PRICE + 1n };
    const first = await ledger.reserve({
      channelId: id,
      channelConfig: config,
      voucher: voucher(PRICE),
      price: PRICE,
      onchain: small,
    });
    if (first.kind !== 'reserved') throw new Error(first.kind);
    expect((await ledger.commit(first.reservation)).kind).toBe('committed');
    expect(
      await ledger.reserve({
        channelId: id,
        channelConfig: config,
        voucher: voucher(2n * PRICE),
        price: PRICE,
      }),
    ).toStrictEqual({ kind: 'rejected', reason: 'exceeds_balance' });
    // A voucher signed for less than the price: the commit refuses (cap) and frees the channel.
    const cheap = await ledger.reserve({
      channelId: id,
      channelConfig: config,
      voucher: voucher(PRICE + 1n),
      price: 1n,
    });
    if (cheap.kind !== 'reserved') throw new Error(cheap.kind);
    const lowered = { ...cheap.reservation, voucher: voucher(PRICE) };
    expect(await ledger.commit({ ...lowered, pendingId: cheap.reservation.pendingId })).toStrictEqual({
      kind: 'rejected',
      reason: 'cap_exceeded',
    });
    expect((await ledger.snapshot(id))?.channelState.chargedCumulativeAmount).toBe(String(PRICE));
  });

  it('loses no update when two instances run updateChannel concurrently (version-conditioned writes)', async () => {
    const [a, b] = stores();
    const id = channelId();
    const storages = [createChannelStorage(a), createChannelStorage(b)];
    const seed = await ledgerOf(a).reserve({
      channelId: id,
      channelConfig: config,
      voucher: voucher(PRICE),
      price: PRICE,
      onchain,
    });
    if (seed.kind !== 'reserved') throw new Error(seed.kind);
    const bump = (i: number) =>
      storages[i % 2]?.updateChannel(id, (current) =>
        current === undefined ? current : { ...current, refundNonce: current.refundNonce + 1 },
      );
    await Promise.all(Array.from({ length: 16 }, (_, i) => bump(i)));
    expect((await storages[0]?.get(id))?.refundNonce).toBe(16);
    expect((await storages[1]?.list())?.map((c) => c.channelId)).toContain(id);
  });
});
