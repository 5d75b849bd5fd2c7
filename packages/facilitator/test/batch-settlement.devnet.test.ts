import { BATCH_SETTLEMENT_ADDRESS } from '@x402/evm';
import { computeChannelId, updateChannelFromSettle } from '@x402/evm/batch-settlement/client';
import {
  BatchSettlementEvmScheme as BatchSettlementServerScheme,
  InMemoryChannelStorage,
} from '@x402/evm/batch-settlement/server';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bodyOf,
  channelState,
  facilitatorClient,
  NETWORK,
  officialClient,
  PRICE,
  requirementsFor,
  TOKEN,
} from './batch-devnet-helpers.ts';
import { type FacilitatorFixture, freshSeller, postJson, startFixture } from './devnet-helpers.ts';

/**
 * The batch-settlement scheme end to end on the devnet (our channel contract and deposit collector
 * at `@x402/evm`'s addresses): payloads made by the official client scheme, driven over HTTP
 * against our facilitator; claim, settle and refund sent by the official server's channel manager
 * through `HTTPFacilitatorClient`, authenticated with a bearer token because the facilitator signs
 * them as the channels' receiver authorizer.
 */

/** What the server charged per request (dynamic pricing: at most the price). */
const CHARGES = [40_000n, 25_000n, 40_000n, 10_000n];
const CHARGED = CHARGES.reduce((sum, charge) => sum + charge, 0n);

let fx: FacilitatorFixture;
const gas: Record<string, bigint> = {};

beforeAll(async () => {
  fx = await startFixture({ batchSettlement: { authorizerTokens: [TOKEN] } });
});

afterAll(async () => {
  await fx?.facilitator.stop();
  // Measured gas per operation, from receipts (quoted in the README).
  console.info(
    'batch-settlement gas used',
    Object.fromEntries(Object.entries(gas).map(([k, v]) => [k, Number(v)])),
  );
});

const verify = (body: unknown) => postJson(`${fx.facilitator.url}/verify`, body);
const settle = (body: unknown) => postJson(`${fx.facilitator.url}/settle`, body);

async function gasOf(hash: unknown): Promise<bigint> {
  const receipt = await fx.devnet.publicClient.getTransactionReceipt({ hash: hash as Hex });
  expect(receipt.status).toBe('success');
  return receipt.gasUsed;
}

describe('batch-settlement through our facilitator on the devnet', () => {
  it('deposits, verifies vouchers, claims and settles exactly the charged sum, refunds the rest', async () => {
    const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
    if (!payer) throw new Error('no payer');
    const receiver = freshSeller();
    const requirements = await requirementsFor(fx, receiver);
    expect(requirements.extra).toMatchObject({
      receiverAuthorizer: fx.facilitator.receiverAuthorizer,
      withdrawDelay: 900,
      name: 'USDC',
      version: '2',
    });
    const client = officialClient(fx, payer);
    const contractBefore = await fx.devnet.usdcBalance(BATCH_SETTLEMENT_ADDRESS);

    // 1. The deposit: verified, then settled on chain through the deposit collector.
    const deposit = await client.pay(requirements);
    const raw = deposit.payload as {
      type: string;
      channelConfig: Parameters<typeof computeChannelId>[0];
      deposit: { amount: string };
    };
    expect(raw.type).toBe('deposit');
    const channelId = computeChannelId(raw.channelConfig, NETWORK);
    const depositAmount = BigInt(raw.deposit.amount);
    expect(depositAmount).toBeGreaterThan(CHARGED);

    expect(await verify(bodyOf(deposit))).toStrictEqual({
      status: 200,
      json: {
        isValid: true,
        payer: payer.address,
        extra: { channelId, balance: '0', totalClaimed: '0', withdrawRequestedAt: 0, refundNonce: '0' },
      },
    });
    const deposited = await settle(bodyOf(deposit));
    expect(deposited.status).toBe(200);
    expect(deposited.json).toMatchObject({
      success: true,
      network: NETWORK,
      payer: payer.address,
      amount: depositAmount.toString(),
      extra: {
        channelState: {
          channelId,
          balance: depositAmount.toString(),
          totalClaimed: '0',
          withdrawRequestedAt: 0,
          refundNonce: '0',
        },
      },
    });
    gas.deposit = await gasOf(deposited.json.transaction);
    expect(await channelState(fx, channelId)).toStrictEqual({ balance: depositAmount, totalClaimed: 0n });
    expect(await fx.devnet.usdcBalance(payer.address)).toBe(1_000_000n - depositAmount);
    expect(await fx.devnet.usdcBalance(BATCH_SETTLEMENT_ADDRESS)).toBe(contractBefore + depositAmount);

    // A retried settle of the same deposit moves nothing more.
    const sentAfterDeposit = fx.facilitator.stats().transactionsSent;
    const retried = await settle(bodyOf(deposit));
    expect(retried.json.success).toBe(false);
    expect(await fx.devnet.usdcBalance(payer.address)).toBe(1_000_000n - depositAmount);
    expect(fx.facilitator.stats().transactionsSent).toBe(sentAfterDeposit);

    // 2. Vouchers: each one's ceiling is the charged sum so far plus the price, and each verifies.
    let charged = 0n;
    const charge = async (amount: bigint, depositDone?: bigint) => {
      await updateChannelFromSettle(client.storage, {
        server: { chargedAmount: amount.toString() },
        local: {
          channelId,
          requestAmount: PRICE.toString(),
          ...(depositDone ? { depositAmount: depositDone.toString() } : {}),
        },
      });
      charged += amount;
    };
    await charge(CHARGES[0] as bigint, depositAmount);
    let last: { maxClaimableAmount: string; signature: Hex } | undefined;
    for (const amount of CHARGES.slice(1)) {
      const voucher = await client.pay(requirements);
      const payload = voucher.payload as {
        type: string;
        voucher: { maxClaimableAmount: string; signature: Hex };
      };
      expect(payload.type).toBe('voucher');
      expect(BigInt(payload.voucher.maxClaimableAmount)).toBe(charged + PRICE);
      expect(await verify(bodyOf(voucher))).toStrictEqual({
        status: 200,
        json: {
          isValid: true,
          payer: payer.address,
          extra: {
            channelId,
            balance: depositAmount.toString(),
            totalClaimed: '0',
            withdrawRequestedAt: 0,
            refundNonce: '0',
          },
        },
      });
      last = payload.voucher;
      await charge(amount);
    }
    if (!last) throw new Error('no voucher');
    expect(charged).toBe(CHARGED);
    expect(fx.facilitator.stats().transactionsSent).toBe(sentAfterDeposit);

    // 3. The official channel manager claims the charged sum (below the signed ceiling) and settles.
    const storage = new InMemoryChannelStorage();
    await storage.updateChannel(channelId, () => ({
      channelId,
      channelConfig: raw.channelConfig,
      chargedCumulativeAmount: CHARGED.toString(),
      signedMaxClaimable: last.maxClaimableAmount,
      signature: last.signature,
      balance: depositAmount.toString(),
      totalClaimed: '0',
      withdrawRequestedAt: 0,
      refundNonce: 0,
      lastRequestTimestamp: Date.now(),
    }));
    const manager = new BatchSettlementServerScheme(receiver, { storage }).createChannelManager(
      facilitatorClient(fx),
      NETWORK,
      fx.devnet.usdcAddress,
    );
    const { claims, settle: swept } = await manager.claimAndSettle();
    expect(claims).toHaveLength(1);
    expect(claims[0]?.vouchers).toBe(1);
    gas.claim = await gasOf(claims[0]?.transaction);
    gas.settle = await gasOf(swept?.transaction);
    expect(await fx.devnet.usdcBalance(receiver)).toBe(CHARGED);
    expect(await channelState(fx, channelId)).toStrictEqual({
      balance: depositAmount,
      totalClaimed: CHARGED,
    });

    // 4. The cooperative refund returns the rest to the payer.
    const refunds = await manager.refund([channelId]);
    expect(refunds).toHaveLength(1);
    gas.refund = await gasOf(refunds[0]?.transaction);
    expect(await fx.devnet.usdcBalance(payer.address)).toBe(1_000_000n - CHARGED);
    expect(await fx.devnet.usdcBalance(receiver)).toBe(CHARGED);
    expect(await channelState(fx, channelId)).toStrictEqual({ balance: CHARGED, totalClaimed: CHARGED });
    expect(await fx.devnet.usdcBalance(BATCH_SETTLEMENT_ADDRESS)).toBe(contractBefore);
  });

  it('claims and refunds in one multicall when the refund carries an unclaimed voucher', async () => {
    const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
    if (!payer) throw new Error('no payer');
    const receiver = freshSeller();
    const requirements = await requirementsFor(fx, receiver);
    const client = officialClient(fx, payer);
    const deposit = await client.pay(requirements);
    const raw = deposit.payload as {
      channelConfig: Parameters<typeof computeChannelId>[0];
      deposit: { amount: string };
      voucher: { maxClaimableAmount: string; signature: Hex };
    };
    const channelId = computeChannelId(raw.channelConfig, NETWORK);
    const depositAmount = BigInt(raw.deposit.amount);
    expect((await settle(bodyOf(deposit))).json.success).toBe(true);

    const storage = new InMemoryChannelStorage();
    await storage.updateChannel(channelId, () => ({
      channelId,
      channelConfig: raw.channelConfig,
      chargedCumulativeAmount: '30000',
      signedMaxClaimable: raw.voucher.maxClaimableAmount,
      signature: raw.voucher.signature,
      balance: depositAmount.toString(),
      totalClaimed: '0',
      withdrawRequestedAt: 0,
      refundNonce: 0,
      lastRequestTimestamp: Date.now(),
    }));
    const manager = new BatchSettlementServerScheme(receiver, { storage }).createChannelManager(
      facilitatorClient(fx),
      NETWORK,
      fx.devnet.usdcAddress,
    );
    const refunds = await manager.refund([channelId]);
    gas.claimAndRefund = await gasOf(refunds[0]?.transaction);
    expect(await fx.devnet.usdcBalance(payer.address)).toBe(1_000_000n - 30_000n);
    expect(await channelState(fx, channelId)).toStrictEqual({ balance: 30_000n, totalClaimed: 30_000n });
    await manager.settle();
    expect(await fx.devnet.usdcBalance(receiver)).toBe(30_000n);
  });

  describe('a deposit that must not go through', () => {
    it('refuses a bad signature and sends no transaction', async () => {
      const [payer, stranger] = await fx.devnet.fundPayers(2, 1_000_000n);
      if (!payer || !stranger) throw new Error('no payer');
      const requirements = await requirementsFor(fx, freshSeller());
      const deposit = await officialClient(fx, payer).pay(requirements);
      // The same deposit, its ERC-3009 authorization signed by someone else.
      const forged = await officialClient(fx, stranger).pay(requirements);
      const payload = deposit.payload as {
        deposit: { authorization: { erc3009Authorization: { signature: Hex } } };
      };
      const forgedPayload = forged.payload as typeof payload;
      payload.deposit.authorization.erc3009Authorization.signature =
        forgedPayload.deposit.authorization.erc3009Authorization.signature;

      const sent = fx.facilitator.stats().transactionsSent;
      expect(await verify(bodyOf(deposit))).toStrictEqual({
        status: 200,
        json: {
          isValid: false,
          invalidReason: 'invalid_batch_settlement_evm_receive_authorization_signature',
          payer: payer.address,
        },
      });
      expect(await settle(bodyOf(deposit))).toStrictEqual({
        status: 200,
        json: {
          success: false,
          errorReason: 'invalid_batch_settlement_evm_receive_authorization_signature',
          errorMessage: 'invalid_batch_settlement_evm_receive_authorization_signature',
          transaction: '',
          network: NETWORK,
          payer: payer.address,
        },
      });
      expect(fx.facilitator.stats().transactionsSent).toBe(sent);
      expect(await fx.devnet.usdcBalance(payer.address)).toBe(1_000_000n);
    });

    it('refuses a payer with too little USDC and sends no transaction', async () => {
      const [payer] = await fx.devnet.fundPayers(1, 1_000n);
      if (!payer) throw new Error('no payer');
      const deposit = await officialClient(fx, payer).pay(await requirementsFor(fx, freshSeller()));
      const sent = fx.facilitator.stats().transactionsSent;
      expect((await verify(bodyOf(deposit))).json).toStrictEqual({
        isValid: false,
        invalidReason: 'invalid_batch_settlement_evm_insufficient_balance',
        payer: payer.address,
      });
      expect((await settle(bodyOf(deposit))).json).toMatchObject({
        success: false,
        errorReason: 'invalid_batch_settlement_evm_insufficient_balance',
        transaction: '',
      });
      expect(fx.facilitator.stats().transactionsSent).toBe(sent);
      expect(await fx.devnet.usdcBalance(payer.address)).toBe(1_000n);
    });
  });

  it('refuses a settle for a receiver with nothing claimed, sending nothing', async () => {
    const receiver = freshSeller();
    const sent = fx.facilitator.stats().transactionsSent;
    const swept = await settle({
      x402Version: 2,
      paymentPayload: {
        x402Version: 2,
        accepted: {
          scheme: 'batch-settlement',
          network: NETWORK,
          asset: fx.devnet.usdcAddress,
          amount: '0',
          payTo: receiver,
          maxTimeoutSeconds: 0,
          extra: {},
        },
        payload: { type: 'settle', receiver, token: fx.devnet.usdcAddress },
      },
      paymentRequirements: {
        scheme: 'batch-settlement',
        network: NETWORK,
        asset: fx.devnet.usdcAddress,
        amount: '0',
        payTo: receiver,
        maxTimeoutSeconds: 0,
        extra: {},
      },
    });
    // A settle needs no signature; with nothing claimed it is refused before any transaction.
    expect(swept.json).toMatchObject({
      success: false,
      errorReason: 'invalid_batch_settlement_evm_nothing_to_settle',
    });
    expect(fx.facilitator.stats().transactionsSent).toBe(sent);
  });
});
