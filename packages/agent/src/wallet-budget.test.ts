import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalDynamo, startLocalDynamo } from '@agentic-payments/gateway';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoDbWalletBudgetStore } from './dynamodb-wallet-budget-store.ts';
import { createFileWalletBudgetStore } from './file-wallet-budget-store.ts';
import {
  createMemoryWalletBudgetStore,
  WALLET_BUDGET_WINDOW_MS,
  WalletBudget,
  type WalletBudgetStore,
  walletBudgetKey,
} from './wallet-budget.ts';

const KEY = walletBudgetKey('eip155:84532', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
const T0 = new Date('2026-03-01T12:00:00Z');

/** A clock the test moves. */
function clock(start = T0) {
  let now = start.getTime();
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

const stopping: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stopping) await stop();
});

/**
 * Each adapter, with `reopen()`: a fresh store over the same durable state, as after a restart
 * (file: a new process on the same directory; DynamoDB: another container on the same table).
 */
interface Adapter {
  name: string;
  open(): Promise<{ store: WalletBudgetStore; reopen: () => WalletBudgetStore }>;
}

async function dynamoTable(
  dynamo: LocalDynamo,
): Promise<{ tableName: string; client: () => DynamoDBClient }> {
  const client = () =>
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  const tableName = `wallet-budget-${Math.random().toString(36).slice(2)}`;
  await client().send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return { tableName, client };
}

let sharedDynamo: LocalDynamo | undefined;
async function dynamo(): Promise<LocalDynamo> {
  if (!sharedDynamo) {
    sharedDynamo = await startLocalDynamo({ port: 0 });
    const started = sharedDynamo;
    stopping.push(() => started.stop());
  }
  return sharedDynamo;
}

const adapters: Adapter[] = [
  {
    name: 'memory',
    async open() {
      const store = createMemoryWalletBudgetStore();
      return { store, reopen: () => store };
    },
  },
  {
    name: 'file',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'wallet-budget-'));
      return { store: createFileWalletBudgetStore(dir), reopen: () => createFileWalletBudgetStore(dir) };
    },
  },
  {
    name: 'dynamodb (dynalite)',
    async open() {
      const { tableName, client } = await dynamoTable(await dynamo());
      return {
        store: createDynamoDbWalletBudgetStore({ client: client(), tableName }),
        reopen: () => createDynamoDbWalletBudgetStore({ client: client(), tableName }),
      };
    },
  },
];

describe.each(adapters)('WalletBudget over the $name store', (adapter) => {
  it('reserves up to the cap exactly, then refuses with what was spent', async () => {
    const { store } = await adapter.open();
    const budget = new WalletBudget(store, { walletKey: KEY, cap: 100_000n, now: clock().now });
    expect(await budget.reserve('a', 40_000n)).toStrictEqual({ ok: true, spent: 40_000n });
    expect(await budget.reserve('b', 60_000n)).toStrictEqual({ ok: true, spent: 100_000n });
    expect(await budget.reserve('c', 1n)).toStrictEqual({ ok: false, spent: 100_000n, cap: 100_000n });
    expect(await budget.status()).toStrictEqual({ cap: 100_000n, spent: 100_000n, remaining: 0n });
  });

  it('counts a reservation id once', async () => {
    const { store } = await adapter.open();
    const budget = new WalletBudget(store, { walletKey: KEY, cap: 100_000n, now: clock().now });
    await budget.reserve('a', 40_000n);
    expect(await budget.reserve('a', 40_000n)).toStrictEqual({ ok: true, spent: 40_000n });
    expect((await budget.status()).spent).toBe(40_000n);
  });

  it('frees a released reservation, but never a settled one', async () => {
    const { store } = await adapter.open();
    const budget = new WalletBudget(store, { walletKey: KEY, cap: 100_000n, now: clock().now });
    await budget.reserve('refused', 40_000n);
    await budget.release('refused');
    expect((await budget.status()).spent).toBe(0n);
    await budget.reserve('paid', 40_000n);
    await budget.settle('paid');
    await budget.release('paid');
    expect((await budget.status()).spent).toBe(40_000n);
  });

  it('counts a refunded channel deposit only for what was kept, never below zero', async () => {
    const { store } = await adapter.open();
    const budget = new WalletBudget(store, { walletKey: KEY, cap: 2_000_000n, now: clock().now });
    await budget.reserve('deposit', 1_000_000n);
    await budget.settle('deposit');
    expect(await budget.returnFunds('deposit', 920_000n)).toBe(920_000n);
    expect((await budget.status()).spent).toBe(80_000n);
    expect(await budget.returnFunds('deposit', 500_000n)).toBe(80_000n);
    expect(await budget.returnFunds('unknown', 1n)).toBe(0n);
    expect((await budget.status()).spent).toBe(0n);
  });

  it('is a rolling 24-hour window', async () => {
    const { store } = await adapter.open();
    const time = clock();
    const budget = new WalletBudget(store, { walletKey: KEY, cap: 100_000n, now: time.now });
    await budget.reserve('first', 60_000n);
    time.advance(12 * 60 * 60 * 1000);
    await budget.reserve('second', 40_000n);
    expect((await budget.reserve('third', 40_000n)).ok).toBe(false);
    // 24 h after the first: only the second still counts.
    time.advance(WALLET_BUDGET_WINDOW_MS - 12 * 60 * 60 * 1000);
    expect(await budget.status()).toStrictEqual({ cap: 100_000n, spent: 40_000n, remaining: 60_000n });
    expect(await budget.reserve('third', 40_000n)).toStrictEqual({ ok: true, spent: 80_000n });
  });

  it('keeps wallets (and networks) apart', async () => {
    const { store } = await adapter.open();
    const now = clock().now;
    const a = new WalletBudget(store, { walletKey: KEY, cap: 40_000n, now });
    const b = new WalletBudget(store, {
      walletKey: walletBudgetKey('eip155:8453', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'),
      cap: 40_000n,
      now,
    });
    expect((await a.reserve('x', 40_000n)).ok).toBe(true);
    expect((await b.reserve('x', 40_000n)).ok).toBe(true);
  });

  it('holds the cap across a restart', async () => {
    const { store, reopen } = await adapter.open();
    const now = clock().now;
    await new WalletBudget(store, { walletKey: KEY, cap: 100_000n, now }).reserve('before', 80_000n);
    const restarted = new WalletBudget(reopen(), { walletKey: KEY, cap: 100_000n, now });
    expect(await restarted.reserve('after', 40_000n)).toStrictEqual({
      ok: false,
      spent: 80_000n,
      cap: 100_000n,
    });
    expect(await restarted.reserve('after', 20_000n)).toStrictEqual({ ok: true, spent: 100_000n });
  });

  it('lets exactly cap / amount of 20 concurrent reservations through, from two store instances', async () => {
    const { store, reopen } = await adapter.open();
    const now = clock().now;
    // Two instances over one state: two sessions in one process share `store`; for DynamoDB the
    // second is another client (another container) racing on the same item.
    const budgets = [store, reopen()].map((s) => new WalletBudget(s, { walletKey: KEY, cap: 200_000n, now }));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => budgets[i % 2]?.reserve(`r${i}`, 40_000n)),
    );
    expect(results.filter((r) => r?.ok)).toHaveLength(5);
    expect(await budgets[0]?.status()).toStrictEqual({ cap: 200_000n, spent: 200_000n, remaining: 0n });
  });
});

describe('createFileWalletBudgetStore', () => {
  it('writes atomically (no temp file left) and refuses a corrupt ledger instead of resetting it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wallet-budget-'));
    const budget = new WalletBudget(createFileWalletBudgetStore(dir), { walletKey: KEY, cap: 100_000n });
    await budget.reserve('a', 40_000n);
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    await writeFile(join(dir, files[0] ?? ''), '{"entries": "nope"}');
    await expect(budget.reserve('b', 1n)).rejects.toThrow(/corrupt wallet budget ledger/);
  });
});

describe('createDynamoDbWalletBudgetStore', () => {
  it('translates an unreachable table into wallet_budget_unavailable, keeping the cause', async () => {
    const { client } = await dynamoTable(await dynamo());
    const budget = new WalletBudget(
      createDynamoDbWalletBudgetStore({ client: client(), tableName: 'missing' }),
      {
        walletKey: KEY,
        cap: 100_000n,
      },
    );
    const error = await budget.reserve('a', 1n).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'wallet_budget_unavailable', httpStatus: 503 });
    expect((error as Error).cause).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
