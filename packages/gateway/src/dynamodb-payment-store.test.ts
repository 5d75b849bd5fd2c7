import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbPaymentStore, ensurePaymentTable } from './dynamodb-payment-store.ts';
import { type LocalDynamo, startLocalDynamo } from './local-dynamo.ts';
import { createMemoryPaymentStore } from './memory-payment-store.ts';
import type { PaymentStore } from './payment-store.ts';

const NOW = 1_700_000_000_000;

function reserveParams(key: string, overrides: Partial<{ requestId: string; now: number }> = {}) {
  const now = overrides.now ?? NOW;
  return {
    key,
    requestId: overrides.requestId ?? 'req-1',
    fingerprint: 'fp-1',
    leaseUntil: now + 60_000,
    expiresAt: now + 3_600_000,
    now,
  };
}

let dynamo: LocalDynamo;
let dataDir: string;
let client: DynamoDBClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gateway-store-'));
  dynamo = await startLocalDynamo({ dataDir, port: 0 });
  client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensurePaymentTable(client, 'payments-test');
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const adapters: Array<[string, () => PaymentStore]> = [
  ['memory', () => createMemoryPaymentStore()],
  ['dynamodb (dynalite)', () => createDynamoDbPaymentStore({ client, tableName: 'payments-test' })],
];

describe.each(adapters)('PaymentStore: %s', (_name, makeStore) => {
  it('saveSettled stores the authorization record and the request record as settled, in one go', async () => {
    const store = makeStore();
    const key = `k-${crypto.randomUUID()}`;
    const requestKey = `request:${key}`;
    const reserved = await store.reserve({ ...reserveParams(key), imageId: 'img-1' });
    if (!reserved.reserved) throw new Error('not reserved');
    const receipt = {
      transaction: `0x${'ab'.repeat(32)}`,
      payer: `0x${'12'.repeat(20)}`,
      network: 'devnet',
      atomicAmount: '40000',
      imageId: 'img-1',
      mimeType: 'image/png',
      settledAt: NOW + 5,
    };
    await store.saveSettled({
      authorization: reserved.record,
      receipt,
      requestKey,
      requestExpiresAt: NOW + 7_200_000,
      now: NOW + 5,
    });
    expect(await store.get(key, NOW + 10)).toStrictEqual({
      key,
      requestId: 'req-1',
      fingerprint: 'fp-1',
      state: 'settled',
      leaseUntil: 0,
      expiresAt: NOW + 3_600_000,
      createdAt: NOW,
      imageId: 'img-1',
      transaction: undefined,
      receipt,
    });
    expect(await store.get(requestKey, NOW + 10)).toStrictEqual({
      key: requestKey,
      requestId: 'req-1',
      fingerprint: 'fp-1',
      state: 'settled',
      leaseUntil: 0,
      expiresAt: NOW + 7_200_000,
      createdAt: NOW + 5,
      imageId: undefined,
      transaction: undefined,
      receipt,
    });
  });

  it('reserves a key once and reports the holder to the second caller', async () => {
    const store = makeStore();
    const key = `k-${crypto.randomUUID()}`;
    const first = await store.reserve(reserveParams(key));
    const second = await store.reserve(reserveParams(key, { requestId: 'req-2' }));
    expect(first.reserved).toBe(true);
    expect(second).toStrictEqual({ reserved: false, existing: first.reserved ? first.record : undefined });
  });

  it('creates a record directly as settled when reserve is given a receipt, and never overwrites it', async () => {
    const store = makeStore();
    const key = `k-${crypto.randomUUID()}`;
    const receipt = {
      transaction: `0x${'ab'.repeat(32)}`,
      payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      network: 'devnet',
      atomicAmount: '40000',
      imageId: 'img-1',
      mimeType: 'image/png',
      settledAt: NOW,
    };
    const first = await store.reserve({ ...reserveParams(key), leaseUntil: 0, receipt });
    expect(first.reserved).toBe(true);
    expect(await store.get(key, NOW)).toMatchObject({ state: 'settled', leaseUntil: 0, receipt });
    const second = await store.reserve(reserveParams(key, { requestId: 'req-2' }));
    expect(second).toMatchObject({
      reserved: false,
      existing: { state: 'settled', requestId: 'req-1', receipt },
    });
  });

  it('lets exactly one of 50 concurrent reservations win', async () => {
    const store = makeStore();
    const key = `k-${crypto.randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.reserve(reserveParams(key, { requestId: `r${i}` }))),
    );
    expect(results.filter((r) => r.reserved)).toHaveLength(1);
  });

  it('treats a record past expiresAt as absent on read and on reserve (TTL deletes late)', async () => {
    const store = makeStore();
    const key = `k-${crypto.randomUUID()}`;
    await store.reserve(reserveParams(key));
    const later = NOW + 3_600_000 + 1;
    expect(await store.get(key, NOW)).toBeDefined();
    expect(await store.get(key, later)).toBeUndefined();
    const again = await store.reserve(reserveParams(key, { requestId: 'req-2', now: later }));
    expect(again.reserved).toBe(true);
  });

  it('moves pending -> settling -> settled only while the guard holds', async () => {
    const store = makeStore();
    const key = `k-${crypto.randomUUID()}`;
    const reserved = await store.reserve(reserveParams(key));
    if (!reserved.reserved) throw new Error('expected a reservation');
    const guard = {
      key,
      requestId: 'req-1',
      state: 'pending' as const,
      leaseUntil: reserved.record.leaseUntil,
    };
    const stale = await store.transition(
      { ...guard, leaseUntil: 1 },
      { state: 'settling', leaseUntil: NOW + 5 },
    );
    expect(stale).toBeUndefined();
    const settling = await store.transition(guard, {
      state: 'settling',
      leaseUntil: NOW + 5,
      imageId: 'img-1',
    });
    expect(settling).toMatchObject({ state: 'settling', leaseUntil: NOW + 5, imageId: 'img-1' });
    const receipt = {
      transaction: '0xabc',
      payer: '0x1',
      network: 'base-sepolia',
      atomicAmount: '40000',
      imageId: 'img-1',
      mimeType: 'image/png',
      settledAt: NOW,
    };
    const settled = await store.transition(
      { ...guard, state: 'settling', leaseUntil: NOW + 5 },
      { state: 'settled', leaseUntil: 0, receipt },
    );
    expect(settled).toStrictEqual({
      key,
      requestId: 'req-1',
      fingerprint: 'fp-1',
      state: 'settled',
      leaseUntil: 0,
      expiresAt: NOW + 3_600_000,
      createdAt: NOW,
      imageId: 'img-1',
      transaction: undefined,
      receipt,
    });
    expect(await store.get(key, NOW)).toStrictEqual(settled);
  });

  it('releases only for the holder', async () => {
    const store = makeStore();
    const key = `k-${crypto.randomUUID()}`;
    await store.reserve(reserveParams(key));
    const guard = { key, requestId: 'req-1', state: 'pending' as const, leaseUntil: NOW + 60_000 };
    expect(await store.release({ ...guard, requestId: 'other' })).toBe(false);
    expect(await store.release(guard)).toBe(true);
    expect(await store.get(key, NOW)).toBeUndefined();
  });
});

describe('startLocalDynamo', () => {
  it('keeps records on disk across a restart of the engine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-persist-'));
    try {
      const first = await startLocalDynamo({ dataDir: dir, port: 0 });
      const c1 = new DynamoDBClient({
        endpoint: first.endpoint,
        region: 'local',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      await ensurePaymentTable(c1, 'persist');
      await createDynamoDbPaymentStore({ client: c1, tableName: 'persist' }).reserve(
        reserveParams('persisted'),
      );
      c1.destroy();
      await first.stop();

      const second = await startLocalDynamo({ dataDir: dir, port: 0 });
      const c2 = new DynamoDBClient({
        endpoint: second.endpoint,
        region: 'local',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const record = await createDynamoDbPaymentStore({ client: c2, tableName: 'persist' }).get(
        'persisted',
        NOW,
      );
      c2.destroy();
      await second.stop();
      expect(record?.requestId).toBe('req-1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
