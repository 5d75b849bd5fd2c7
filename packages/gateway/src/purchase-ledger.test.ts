import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbPaymentStore, ensurePaymentTable } from './dynamodb-payment-store.ts';
import { type LocalDynamo, startLocalDynamo } from './local-dynamo.ts';
import { createMemoryPaymentStore } from './memory-payment-store.ts';
import type { AuthorizationRef, LedgerRecord, PaymentStore, StoredReceipt } from './payment-store.ts';
import { type BeginParameters, createPurchaseLedger } from './purchase-ledger.ts';

const NOW = 1_700_000_000_000;
const PAYER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

const authorization = (overrides: Partial<AuthorizationRef> = {}): AuthorizationRef & { key: string } => {
  const nonce = overrides.nonce ?? `0x${crypto.randomUUID().replaceAll('-', '')}`;
  return { key: `auth:${nonce}`, payer: PAYER, nonce, validBefore: String(NOW / 1000 + 300), ...overrides };
};

/** The binding record's key of a purchase's authorization. */
const bindingKey = (params: BeginParameters): string => {
  if (params.authorization.key === undefined) throw new Error('this authorization binds nothing');
  return params.authorization.key;
};

function beginParams(overrides: Partial<BeginParameters> = {}): BeginParameters {
  return {
    key: overrides.key ?? `purchase:${crypto.randomUUID()}`,
    requestId: 'req-1',
    fingerprint: 'fp-1',
    authorization: authorization(),
    imageId: 'img-1',
    leaseUntil: NOW + 60_000,
    expiresAt: NOW + 3_600_000,
    now: NOW,
    ...overrides,
  };
}

const receipt: StoredReceipt = {
  transaction: `0x${'ab'.repeat(32)}`,
  payer: PAYER,
  network: 'devnet',
  atomicAmount: '40000',
  imageId: 'img-1',
  mimeType: 'image/png',
  settledAt: NOW + 5,
};

let dynamo: LocalDynamo;
let dataDir: string;
let client: DynamoDBClient;
/** The same engine through the in-process handler, which answers ALL_OLD as DynamoDB does. */
let inProcess: DynamoDBClient;
const sent: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gateway-store-'));
  dynamo = await startLocalDynamo({ dataDir, port: 0 });
  client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensurePaymentTable(client, 'payments-test');
  inProcess = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    requestHandler: dynamo.requestHandler,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  for (const c of [client, inProcess]) {
    c.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName ?? 'unknown');
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );
  }
});

afterAll(async () => {
  client?.destroy();
  inProcess?.destroy();
  await dynamo?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const adapters: Array<[string, () => PaymentStore]> = [
  ['memory', () => createMemoryPaymentStore()],
  [
    'dynamodb (dynalite over TCP, no ALL_OLD)',
    () => createDynamoDbPaymentStore({ client, tableName: 'payments-test' }),
  ],
  [
    'dynamodb (dynalite in-process, ALL_OLD)',
    () => createDynamoDbPaymentStore({ client: inProcess, tableName: 'payments-test' }),
  ],
];

describe('createDynamoDbPaymentStore on the local engine', () => {
  it.each([
    ['in-process', () => inProcess],
    ['over TCP', () => client],
  ])(
    'takes the current item from a failed condition (ALL_OLD, %s): a lost race costs no GetItem',
    async (_name, clientOf) => {
      const store = createDynamoDbPaymentStore({ client: clientOf(), tableName: 'payments-test' });
      const ledger = createPurchaseLedger(store, { retentionMs: 1 });
      const params = beginParams();
      expect((await ledger.begin(params)).kind).toBe('fresh');
      sent.length = 0;
      expect((await ledger.begin({ ...params, authorization: authorization() })).kind).toBe('in_progress');
      expect(sent).toStrictEqual(['PutItemCommand']);
    },
  );
});

describe('an authorization without a key (a channel voucher: nothing to bind)', () => {
  it('begins with one write and releases with one delete, and binds no record', async () => {
    const store = createDynamoDbPaymentStore({ client: inProcess, tableName: 'payments-test' });
    const ledger = createPurchaseLedger(store, { retentionMs: 7_200_000 });
    const { key: _none, ...unbound } = authorization();
    sent.length = 0;
    const begun = await ledger.begin(beginParams({ authorization: unbound }));
    if (begun.kind !== 'fresh') throw new Error(`expected fresh, got ${begun.kind}`);
    expect(sent).toStrictEqual(['PutItemCommand']);
    expect((await store.get(begun.holder.key, NOW))?.authorization).toStrictEqual(unbound);
    sent.length = 0;
    expect(await ledger.release(begun.holder)).toBe(true);
    expect(sent).toStrictEqual(['DeleteItemCommand']);
    expect(await store.get(begun.holder.key, NOW)).toBeUndefined();
  });
});

/** A ledger over a fresh store, with one purchase begun (`fresh`) under `params`. */
async function begun(makeStore: () => PaymentStore, overrides: Partial<BeginParameters> = {}) {
  const store = makeStore();
  const ledger = createPurchaseLedger(store, { retentionMs: 7_200_000 });
  const params = beginParams(overrides);
  const first = await ledger.begin(params);
  if (first.kind !== 'fresh') throw new Error(`expected fresh, got ${first.kind}`);
  return { store, ledger, params, holder: first.holder };
}

describe.each(adapters)('purchase ledger over %s', (_name, makeStore) => {
  describe('begin', () => {
    it('fresh: writes the pending purchase and binds its authorization to it', async () => {
      const { store, params, holder } = await begun(makeStore);
      expect(await store.get(params.key, NOW)).toStrictEqual(holder);
      expect(holder).toMatchObject({
        kind: 'purchase',
        state: 'pending',
        version: 0,
        leaseUntil: NOW + 60_000,
      });
      expect(await store.get(bindingKey(params), NOW)).toMatchObject({
        kind: 'authorization',
        state: 'bound',
        holder: params.key,
      });
    });

    // [what the second begin changes, expected result]
    const cases: Array<[string, (p: BeginParameters) => Partial<BeginParameters>, string]> = [
      ['the same purchase while the lease runs → in_progress', () => ({}), 'in_progress'],
      [
        'the same purchase with another authorization → in_progress',
        () => ({ authorization: authorization() }),
        'in_progress',
      ],
      [
        'another purchase under the key → conflict (purchase)',
        () => ({ fingerprint: 'fp-2', authorization: authorization() }),
        'conflict:purchase',
      ],
      [
        'another payer under the key → conflict (payer)',
        () => ({ authorization: authorization({ payer: `0x${'99'.repeat(20)}` }) }),
        'conflict:payer',
      ],
      [
        'the same authorization for another key → conflict (authorization)',
        (p) => ({ key: `purchase:${crypto.randomUUID()}`, authorization: p.authorization }),
        'conflict:authorization',
      ],
      ['the same purchase after its lease passed → recover', () => ({ now: NOW + 60_000 }), 'recover'],
      [
        'the same purchase after its record expired → fresh',
        () => ({ now: NOW + 3_600_000, leaseUntil: NOW + 3_700_000, expiresAt: NOW + 7_200_000 }),
        'fresh',
      ],
    ];
    it.each(cases)('%s', async (_case, change, expected) => {
      const { ledger, params } = await begun(makeStore);
      const second = await ledger.begin({ ...params, ...change(params) });
      expect(second.kind === 'conflict' ? `conflict:${second.reason}` : second.kind).toBe(expected);
    });

    it('conflict (authorization) leaves nothing behind under the new key', async () => {
      const { store, ledger, params } = await begun(makeStore);
      const key = `purchase:${crypto.randomUUID()}`;
      await ledger.begin({ ...params, key });
      expect(await store.get(key, NOW)).toBeUndefined();
      expect(await store.get(bindingKey(params), NOW)).toMatchObject({ holder: params.key });
    });

    it('replay: a settled purchase asked again by its payer (another authorization) returns the receipt', async () => {
      const { store, ledger, params, holder } = await begun(makeStore);
      await ledger.complete(holder, receipt, NOW + 5);
      const other = authorization();
      expect(await ledger.begin({ ...params, authorization: other, now: NOW + 10 })).toStrictEqual({
        kind: 'replay',
        receipt,
      });
      // The unused authorization is not bound to a purchase it did not pay for.
      expect(await store.get(other.key, NOW + 10)).toBeUndefined();
    });

    it('lets exactly one of 20 concurrent begins of one key with different authorizations be fresh', async () => {
      const store = makeStore();
      const ledger = createPurchaseLedger(store, { retentionMs: 7_200_000 });
      const key = `purchase:${crypto.randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 20 }, () => ledger.begin(beginParams({ key, authorization: authorization() }))),
      );
      expect(results.filter((r) => r.kind === 'fresh')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'in_progress')).toHaveLength(19);
    });
  });

  describe('transitions of the holder', () => {
    it('settling: keeps the holder, records the transaction; a stale holder cannot', async () => {
      const { store, ledger, params, holder } = await begun(makeStore);
      const settling = await ledger.settling(holder, { leaseUntil: NOW + 5, transaction: '0xabc' });
      expect(settling).toMatchObject({
        state: 'settling',
        version: 1,
        leaseUntil: NOW + 5,
        transaction: '0xabc',
      });
      expect(await store.get(params.key, NOW)).toStrictEqual(settling);
      expect(await ledger.settling(holder, { leaseUntil: NOW + 9 })).toBeUndefined();
    });

    it('renew: extends the lease once per version', async () => {
      const { ledger, holder } = await begun(makeStore);
      expect(await ledger.renew(holder, NOW + 90_000)).toMatchObject({
        leaseUntil: NOW + 90_000,
        version: 1,
      });
      expect(await ledger.renew(holder, NOW + 95_000)).toBeUndefined();
    });

    it('complete: one write, settled with the receipt, kept for the retention', async () => {
      const { store, ledger, params, holder } = await begun(makeStore);
      const settling = await ledger.settling(holder, { leaseUntil: NOW, transaction: '0xabc' });
      await ledger.complete(settling as LedgerRecord, receipt, NOW + 5);
      const { transaction: _t, ...settledFields } = settling as LedgerRecord;
      expect(await store.get(params.key, NOW + 10)).toStrictEqual({
        ...settledFields,
        version: 2,
        state: 'settled',
        leaseUntil: 0,
        receipt,
        expiresAt: NOW + 5 + 7_200_000,
      });
    });

    it('release: deletes the purchase and its binding (the authorization is usable again)', async () => {
      const { store, ledger, params, holder } = await begun(makeStore);
      expect(await ledger.release(holder)).toBe(true);
      expect(await store.get(params.key, NOW)).toBeUndefined();
      expect(await store.get(bindingKey(params), NOW)).toBeUndefined();
      const again = await ledger.begin({ ...params, key: `purchase:${crypto.randomUUID()}` });
      expect(again.kind).toBe('fresh');
    });

    it('release by a holder whose purchase was taken over changes nothing', async () => {
      const { store, ledger, params, holder } = await begun(makeStore);
      const taken = await ledger.takeOver(holder, {
        state: 'pending',
        leaseUntil: NOW + 200_000,
        now: NOW + 70_000,
      });
      expect(taken.kind).toBe('taken');
      expect(await ledger.release(holder)).toBe(false);
      expect(await store.get(params.key, NOW)).toMatchObject({ version: 1 });
      expect(await store.get(bindingKey(params), NOW)).toMatchObject({ holder: params.key });
    });
  });

  describe('takeOver (after recover)', () => {
    it('makes a new holder once; the second taker of the same record loses', async () => {
      const { ledger, holder } = await begun(makeStore);
      const update = { state: 'settling' as const, leaseUntil: NOW + 200_000, now: NOW + 70_000 };
      const [a, b] = await Promise.all([ledger.takeOver(holder, update), ledger.takeOver(holder, update)]);
      expect([a.kind, b.kind].sort()).toStrictEqual(['lost', 'taken']);
    });

    it('switches to another authorization, bound first', async () => {
      const { store, ledger, holder } = await begun(makeStore);
      const other = authorization();
      const taken = await ledger.takeOver(holder, {
        state: 'pending',
        leaseUntil: NOW + 200_000,
        now: NOW + 70_000,
        authorization: other,
        imageId: 'img-2',
      });
      expect(taken).toMatchObject({
        kind: 'taken',
        holder: { authorization: other, imageId: 'img-2', version: 1 },
      });
      expect(await store.get(other.key, NOW)).toMatchObject({ holder: holder.key });
    });

    it('refuses an authorization bound to another purchase', async () => {
      const first = await begun(makeStore);
      const ledger = first.ledger;
      const second = await ledger.begin(beginParams());
      if (second.kind !== 'fresh') throw new Error('expected fresh');
      const taken = await ledger.takeOver(second.holder, {
        state: 'pending',
        leaseUntil: NOW + 200_000,
        now: NOW + 70_000,
        authorization: first.params.authorization,
      });
      expect(taken).toStrictEqual({ kind: 'conflict', reason: 'authorization' });
    });
  });

  it('treats records past expiresAt as absent', async () => {
    const { store, params } = await begun(makeStore);
    expect(await store.get(params.key, NOW + 3_600_000)).toBeUndefined();
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
      const ledger = createPurchaseLedger(createDynamoDbPaymentStore({ client: c1, tableName: 'persist' }), {
        retentionMs: 1,
      });
      await ledger.begin(beginParams({ key: 'persisted' }));
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
