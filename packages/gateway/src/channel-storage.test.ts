import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getNetwork, isAppError } from '@agentic-payments/x402';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PaymentRequirements } from '@x402/core/types';
import { toClientEvmSigner } from '@x402/evm';
import {
  computeChannelId,
  createBatchSettlementEIP3009DepositPayload,
  signVoucher,
} from '@x402/evm/batch-settlement/client';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchSettlementPaymentPayload } from './batch-settlement-payload.ts';
import { type ChannelPayments, createChannelPayments } from './channel-payments.ts';
import { createChannelStorage, createSettleDueFlag } from './channel-storage.ts';
import { createDynamoDbPaymentStore, ensurePaymentTable } from './dynamodb-payment-store.ts';
import type { FacilitatorClient, FacilitatorRequest } from './facilitator-client.ts';
import { type LocalDynamo, startLocalDynamo } from './local-dynamo.ts';
import { createMemoryLogger } from './logger.ts';
import { createMemoryPaymentStore } from './memory-payment-store.ts';
import type { PaymentStore } from './payment-store.ts';
import type { ServerRequirements } from './requirements.ts';

/**
 * The official `@x402/evm` batch-settlement server pieces (the scheme's hooks and
 * `BatchSettlementChannelManager`) over our `ChannelStorage` on both payment-store adapters, two
 * store clients standing for two gateway instances.
 */
const network = getNetwork('devnet');
const SELLER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906' as const;
const AUTHORIZER = privateKeyToAccount(generatePrivateKey()).address;
const PRICE = 40_000n;
const requirements: ServerRequirements = {
  network,
  asset: network.usdcAddress,
  payTo: SELLER,
  amount: PRICE,
  resource: 'http://localhost/generate_image',
  description: 'test',
};

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

/** Facilitator stand-in: deposit verify/settle with a chain snapshot, claim and settle recorded. */
function fakeFacilitator() {
  const settled: FacilitatorRequest[] = [];
  const client: FacilitatorClient = {
    async supported() {
      return {
        kinds: [
          {
            x402Version: 2,
            scheme: 'batch-settlement',
            network: network.caip2,
            extra: { receiverAuthorizer: AUTHORIZER },
          },
        ],
        extensions: [],
        signers: {},
      };
    },
    async verify(request) {
      const payload = (request.paymentPayload as BatchSettlementPaymentPayload).payload;
      return {
        isValid: true,
        payer: payload.channelConfig.payer,
        extra: {
          channelId: payload.voucher.channelId,
          balance: '0',
          totalClaimed: '0',
          withdrawRequestedAt: 0,
          refundNonce: '0',
        },
      };
    },
    async settle(request) {
      settled.push(request);
      const payload = (request.paymentPayload as { payload: Record<string, unknown> }).payload;
      const tx = `0x${settled.length.toString(16).padStart(64, '0')}`;
      if (payload.type !== 'deposit') return { success: true, transaction: tx, network: network.caip2 };
      const deposit = payload as { voucher: { channelId: string }; deposit: { amount: string } };
      return {
        success: true,
        transaction: tx,
        network: network.caip2,
        amount: deposit.deposit.amount,
        extra: {
          channelState: {
            channelId: deposit.voucher.channelId,
            balance: deposit.deposit.amount,
            totalClaimed: '0',
            withdrawRequestedAt: 0,
            refundNonce: '0',
          },
        },
      };
    },
  };
  return { client, settled };
}

const paymentsOver = (store: PaymentStore, facilitator = fakeFacilitator()) =>
  createChannelPayments({
    storage: createChannelStorage(store),
    facilitator: facilitator.client,
    payTo: SELLER,
    network,
    asset: network.usdcAddress,
    logger: createMemoryLogger(),
  });

/** A payer's channel and its payloads, signed by the official client functions. */
async function openPayer(offer: PaymentRequirements) {
  const account = privateKeyToAccount(generatePrivateKey());
  const signer = toClientEvmSigner(account);
  const config = {
    payer: account.address,
    payerAuthorizer: account.address,
    receiver: SELLER,
    receiverAuthorizer: AUTHORIZER,
    token: network.usdcAddress,
    withdrawDelay: 900,
    salt: `0x${'00'.repeat(32)}` as Hex,
  };
  const channelId = computeChannelId(config, network.caip2);
  return {
    channelId,
    async deposit(amount: bigint, cumulative: bigint): Promise<BatchSettlementPaymentPayload> {
      const result = await createBatchSettlementEIP3009DepositPayload(
        signer,
        2,
        offer,
        config,
        amount.toString(),
        cumulative.toString(),
      );
      return { x402Version: 2, accepted: offer, payload: result.payload } as BatchSettlementPaymentPayload;
    },
    async voucher(cumulative: bigint): Promise<BatchSettlementPaymentPayload> {
      const voucher = await signVoucher(signer, channelId, cumulative.toString(), network.caip2);
      return {
        x402Version: 2,
        accepted: offer,
        payload: { type: 'voucher', channelConfig: config, voucher },
      } as BatchSettlementPaymentPayload;
    },
  };
}

/** One paid request through the official hooks: verify (reserve) → handler → commit. */
async function buy(
  payments: ChannelPayments,
  offer: PaymentRequirements,
  payment: BatchSettlementPaymentPayload,
) {
  const verified = await payments.verify(payment, offer);
  if (verified.kind !== 'verified') return verified;
  return payments.settle(payment, offer);
}

/**
 * A store whose channel reads can be held: `hold(skip)` lets `skip` channel reads through and makes
 * the next one return its value only when `release()` is called, so another instance's write lands between
 * this instance's read and its conditional write (a forced interleaving, not a timing hope).
 */
function pausingStore(inner: PaymentStore) {
  let gate: { reached: () => void; wait: Promise<void> } | undefined;
  let skipping = 0;
  let release: () => void = () => {};
  let reached: Promise<void> = Promise.resolve();
  const store: PaymentStore = {
    ...inner,
    create: (record, now) => inner.create(record, now),
    replace: (record, version) => inner.replace(record, version),
    remove: (key, version) => inner.remove(key, version),
    put: (record) => inner.put(record),
    async get(key, now) {
      const value = await inner.get(key, now);
      if (gate !== undefined && key.startsWith('channel:') && skipping-- <= 0) {
        const current = gate;
        gate = undefined;
        current.reached();
        await current.wait;
      }
      return value;
    },
  };
  return {
    store,
    hold(skip: number) {
      skipping = skip;
      let reachedResolve: () => void = () => {};
      reached = new Promise((resolve) => {
        reachedResolve = resolve;
      });
      const wait = new Promise<void>((resolve) => {
        release = resolve;
      });
      gate = { reached: reachedResolve, wait };
    },
    /** Resolves once the held read has happened (the holder now waits). */
    reached: () => reached,
    release: () => release(),
  };
}

describe.each(adapters)(
  'official batch-settlement server pieces over our channel storage (%s)',
  (_name, stores) => {
    it('deposit, vouchers, then the official channel manager claims the latest voucher and settles; its claim is mirrored', async () => {
      const [store] = stores();
      const facilitator = fakeFacilitator();
      const payments = paymentsOver(store, facilitator);
      const offer = await payments.offer(requirements);
      if (offer === undefined) throw new Error('no offer');
      const payer = await openPayer(offer);
      expect((await buy(payments, offer, await payer.deposit(10n * PRICE, PRICE))).kind).toBe('charged');
      for (let i = 2n; i <= 3n; i++) {
        expect(await buy(payments, offer, await payer.voucher(i * PRICE))).toMatchObject({ kind: 'charged' });
      }

      const { claims, settle } = await payments.manager.claimAndSettle();
      expect(claims).toHaveLength(1);
      expect(settle?.transaction).toMatch(/^0x/);
      const [claim, settlePayload] = facilitator.settled
        .slice(1)
        .map((r) => (r.paymentPayload as { payload: unknown }).payload);
      expect(claim).toMatchObject({
        type: 'claim',
        claims: [
          { totalClaimed: (3n * PRICE).toString(), voucher: { maxClaimableAmount: (3n * PRICE).toString() } },
        ],
      });
      expect(settlePayload).toStrictEqual({ type: 'settle', receiver: SELLER, token: network.usdcAddress });
      expect((await payments.storage.get(payer.channelId))?.totalClaimed).toBe((3n * PRICE).toString());
      // Nothing left to claim: no second claim transaction.
      expect((await payments.manager.claimAndSettle()).claims).toHaveLength(0);
      expect((await payments.storage.list()).map((c) => c.channelId)).toContain(payer.channelId);
    });

    it('serializes one channel across two instances under a forced read/write interleaving: one reserves, the other is busy', async () => {
      const [a, b] = stores();
      const seed = paymentsOver(a);
      const offer = await seed.offer(requirements);
      if (offer === undefined) throw new Error('no offer');
      const payer = await openPayer(offer);
      expect((await buy(seed, offer, await payer.deposit(10n * PRICE, PRICE))).kind).toBe('charged');

      // Instance A reads the channel and is held right after the read; instance B reserves the
      // same channel meanwhile; then A's reservation starts from the record it read (now stale)
      // and its version-conditioned write runs.
      const paused = pausingStore(a);
      const instanceA = paymentsOver(paused.store);
      const instanceB = paymentsOver(b);
      const voucher = await payer.voucher(2n * PRICE);
      const voucherCopy = structuredClone(voucher); // each request has its own payload object
      // A's one channel read (the cumulative check; its reservation's read-modify-write starts
      // from that record instead of reading again) is held while B reserves.
      paused.hold(0);
      const first = instanceA.verify(voucher, offer);
      await paused.reached();
      const second = await instanceB.verify(voucherCopy, offer);
      paused.release();
      const results = [await first, second];
      expect(results.map((r) => r.kind).sort()).toStrictEqual(['rejected', 'verified']);
      const rejected = results.find((r) => r.kind === 'rejected');
      expect(rejected).toMatchObject({ code: 'invalid_batch_settlement_evm_channel_busy' });
      // Exactly one commit can follow.
      const winner = results[0]?.kind === 'verified' ? instanceA : instanceB;
      const winnerPayload = results[0]?.kind === 'verified' ? voucher : voucherCopy;
      expect((await winner.settle(winnerPayload, offer)).kind).toBe('charged');
      expect((await instanceB.storage.get(payer.channelId))?.chargedCumulativeAmount).toBe(
        (2n * PRICE).toString(),
      );
    });

    it('never commits a charge above the voucher’s signed maximum: the commit is refused and nothing is charged', async () => {
      const [store] = stores();
      const payments = paymentsOver(store);
      const offer = await payments.offer(requirements);
      if (offer === undefined) throw new Error('no offer');
      const payer = await openPayer(offer);
      expect((await buy(payments, offer, await payer.deposit(10n * PRICE, PRICE))).kind).toBe('charged');
      const voucher = await payer.voucher(2n * PRICE);
      expect((await payments.verify(voucher, offer)).kind).toBe('verified');
      // The commit is asked to charge twice the price the voucher was signed for.
      const committed = await payments.settle(voucher, { ...offer, amount: (2n * PRICE).toString() });
      expect(committed).toMatchObject({
        kind: 'rejected',
        code: 'invalid_batch_settlement_evm_charge_exceeds_signed_cumulative',
      });
      const after = await payments.storage.get(payer.channelId);
      expect(after?.chargedCumulativeAmount).toBe(PRICE.toString());
      expect(after?.pendingRequest).toBeUndefined();
    });

    it('refuses any write that would charge above the signed maximum or the balance (storage invariant), changing nothing', async () => {
      const [store] = stores();
      const payments = paymentsOver(store);
      const offer = await payments.offer(requirements);
      if (offer === undefined) throw new Error('no offer');
      const payer = await openPayer(offer);
      expect((await buy(payments, offer, await payer.deposit(10n * PRICE, PRICE))).kind).toBe('charged');
      const before = await payments.storage.get(payer.channelId);
      for (const charged of [2n * PRICE, 11n * PRICE]) {
        const attempt = payments.storage.updateChannel(payer.channelId, (current) =>
          current === undefined
            ? current
            : {
                ...current,
                chargedCumulativeAmount: charged.toString(),
                signedMaxClaimable: charged === 2n * PRICE ? PRICE.toString() : charged.toString(),
              },
        );
        const error = await attempt.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isAppError(error) && error.code).toBe('channel_invariant_violated');
      }
      expect(await payments.storage.get(payer.channelId)).toStrictEqual(before);
    });

    it('refuses a payment the scheme could not reserve (a verify answer without the payer): nothing stored, nothing sent', async () => {
      const [store] = stores();
      const facilitator = fakeFacilitator();
      const verify = facilitator.client.verify;
      facilitator.client.verify = async (request) => {
        const { payer: _dropped, ...answer } = await verify(request);
        return answer;
      };
      const payments = paymentsOver(store, facilitator);
      const offer = await payments.offer(requirements);
      if (offer === undefined) throw new Error('no offer');
      const payer = await openPayer(offer);
      expect(await payments.verify(await payer.deposit(10n * PRICE, PRICE), offer)).toMatchObject({
        kind: 'rejected',
        code: 'invalid_batch_settlement_evm_verification_state_unavailable',
      });
      expect(await payments.storage.get(payer.channelId)).toBeUndefined();
      expect(facilitator.settled).toHaveLength(0);
    });

    it('loses no update when two instances run updateChannel concurrently (version-conditioned writes)', async () => {
      const [a, b] = stores();
      const seed = paymentsOver(a);
      const offer = await seed.offer(requirements);
      if (offer === undefined) throw new Error('no offer');
      const payer = await openPayer(offer);
      expect((await buy(seed, offer, await payer.deposit(10n * PRICE, PRICE))).kind).toBe('charged');
      const storages = [createChannelStorage(a), createChannelStorage(b)];
      const bump = (i: number) =>
        storages[i % 2]?.updateChannel(payer.channelId, (current) =>
          current === undefined ? current : { ...current, refundNonce: current.refundNonce + 1 },
        );
      await Promise.all(Array.from({ length: 16 }, (_, i) => bump(i)));
      expect((await storages[0]?.get(payer.channelId))?.refundNonce).toBe(16);
    });

    it('reads a channel once per voucher: the reservation and the commit start from the record this instance last read or wrote', async () => {
      const [store] = stores();
      const seed = paymentsOver(store);
      const offer = await seed.offer(requirements);
      if (offer === undefined) throw new Error('no offer');
      const payer = await openPayer(offer);
      expect((await buy(seed, offer, await payer.deposit(10n * PRICE, PRICE))).kind).toBe('charged');
      const reads: string[] = [];
      const counted = paymentsOver({
        ...store,
        get: (key, now) => {
          reads.push(key);
          return store.get(key, now);
        },
      });
      expect((await buy(counted, offer, await payer.voucher(2n * PRICE))).kind).toBe('charged');
      expect(reads.filter((key) => key.startsWith('channel:'))).toHaveLength(1);
      expect((await seed.storage.get(payer.channelId))?.chargedCumulativeAmount).toBe(
        (2n * PRICE).toString(),
      );
    });

    it('answers "leave it" only for the stored record: a remembered one that another instance changed is read again', async () => {
      const [a, b] = stores();
      const seed = paymentsOver(a);
      const offer = await seed.offer(requirements);
      if (offer === undefined) throw new Error('no offer');
      const payer = await openPayer(offer);
      expect((await buy(seed, offer, await payer.deposit(10n * PRICE, PRICE))).kind).toBe('charged');
      const [first, second] = [createChannelStorage(a), createChannelStorage(b)];
      await first.get(payer.channelId); // remembered: no withdrawal requested
      await second.updateChannel(payer.channelId, (current) =>
        current === undefined ? current : { ...current, withdrawRequestedAt: 1_700_000_000 },
      );
      // "Clear a requested withdrawal, else leave it": on the remembered record there is nothing to clear.
      const cleared = await first.updateChannel(payer.channelId, (current) =>
        current === undefined || current.withdrawRequestedAt === 0
          ? current
          : { ...current, withdrawRequestedAt: 0 },
      );
      expect(cleared.status).toBe('updated');
      expect((await second.get(payer.channelId))?.withdrawRequestedAt).toBe(0);
    });
  },
);

describe.each(adapters)('the settle-due flag (%s)', (_name, stores) => {
  it('is raised by a refund, read as a version with its channels, and lowered only at the version the settle read', async () => {
    const [first, second] = stores();
    if (first === undefined || second === undefined) throw new Error('two store clients expected');
    const a = createSettleDueFlag(first);
    const b = createSettleDueFlag(second);
    const [one, two] = [`0x${'1'.repeat(64)}`, `0x${'ab'.repeat(32)}`];
    expect(await a.read()).toBeUndefined();
    await a.raise(one);
    const seen = await b.read();
    expect(seen?.channelIds).toStrictEqual([one]);
    // Another refund lands while the settle runs: the settle's lower must not drop it.
    await a.raise(`0x${'AB'.repeat(32)}`); // stored as the lowercase id
    await b.lower(seen?.version ?? -1);
    const again = await b.read();
    expect(again?.version).toBeGreaterThan(seen?.version ?? -1);
    expect(again?.channelIds).toStrictEqual([one, two]);
    await b.lower(again?.version ?? -1);
    expect(await a.read()).toBeUndefined();
  });
});
