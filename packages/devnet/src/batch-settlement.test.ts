/**
 * The x402 batch-settlement channel contract (contracts/BatchSettlement.sol) and its ERC-3009
 * deposit collector on a real anvil, at the addresses `@x402/evm` uses; signatures made by viem with
 * the EIP-712 domain and types `@x402/evm` exports. This file starts its own devnet: the timed
 * withdrawal moves the chain's clock. Gas figures from the receipts are printed at the end.
 */
import {
  BATCH_SETTLEMENT_ADDRESS as X402_BATCH_SETTLEMENT_ADDRESS,
  BATCH_SETTLEMENT_DOMAIN as X402_BATCH_SETTLEMENT_DOMAIN,
  ERC3009_DEPOSIT_COLLECTOR_ADDRESS as X402_ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
  claimBatchTypes as x402ClaimBatchTypes,
  refundTypes as x402RefundTypes,
  voucherTypes as x402VoucherTypes,
} from '@x402/evm';
import { computeChannelId } from '@x402/evm/batch-settlement/client';
import {
  BaseError,
  type ContractFunctionArgs,
  ContractFunctionRevertedError,
  createWalletClient,
  type Hash,
  type Hex,
  hashTypedData,
  http,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevnetAccount } from './accounts.ts';
import { batchSettlementAbi } from './artifacts/batchSettlement.ts';
import { erc3009DepositCollectorAbi } from './artifacts/erc3009DepositCollector.ts';
import { usdcAbi } from './artifacts/usdc.ts';
import { devnetChain } from './chain.ts';
import {
  BATCH_SETTLEMENT_EIP712_DOMAIN,
  buildChannelConfig,
  CHANNEL_EIP712_TYPES,
  type ChannelConfig,
  devnetChannelId,
  openDevnetChannel,
  signErc3009Deposit,
} from './channels.ts';
import { BATCH_SETTLEMENT_ADDRESS, ERC3009_DEPOSIT_COLLECTOR_ADDRESS, USDC_ADDRESS } from './constants.ts';
import { type Devnet, startDevnet } from './start-devnet.ts';

type VoucherClaim = ContractFunctionArgs<typeof batchSettlementAbi, 'nonpayable', 'claim'>[0][number];

let devnet: Devnet;
/** Receiver authorizer: signs claims and refunds. */
let authorizer: DevnetAccount;
let receiver: DevnetAccount;
/** Relays signed claims and refunds (a facilitator's role): no rights of its own. */
let relayer: DevnetAccount;
const gas: Record<string, bigint> = {};

beforeAll(async () => {
  devnet = await startDevnet({ port: 0, quiet: true });
  const [first, second, third] = await devnet.fundPayers(3, 0n, 10n ** 18n);
  if (!first || !second || !third) throw new Error('fundPayers returned too few accounts');
  authorizer = first;
  receiver = second;
  relayer = third;
}, 60_000);

afterAll(async () => {
  if (Object.keys(gas).length > 0)
    console.log(
      `batch-settlement gas used: ${JSON.stringify(gas, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`,
    );
  await devnet?.stop();
});

function walletOf(account: DevnetAccount) {
  return createWalletClient({
    account: privateKeyToAccount(account.privateKey),
    chain: devnetChain(devnet.rpcUrl),
    transport: http(devnet.rpcUrl),
  });
}

async function mined(hash: Hash): Promise<TransactionReceipt> {
  const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  expect(receipt.status).toBe('success');
  return receipt;
}

type Write = Parameters<ReturnType<typeof walletOf>['writeContract']>[0];

/** Sends a channel-contract call from `account` and returns the successful receipt. */
async function send(
  account: DevnetAccount,
  functionName: Write['functionName'],
  args: readonly unknown[],
): Promise<TransactionReceipt> {
  const hash = await walletOf(account).writeContract({
    address: BATCH_SETTLEMENT_ADDRESS,
    abi: batchSettlementAbi,
    functionName,
    args,
  } as never);
  return mined(hash);
}

/** Simulates the call from `account` and returns the custom error's name it reverts with. */
async function revertOf(
  account: DevnetAccount,
  functionName: string,
  args: readonly unknown[],
): Promise<string> {
  try {
    await devnet.publicClient.simulateContract({
      account: privateKeyToAccount(account.privateKey),
      address: BATCH_SETTLEMENT_ADDRESS,
      abi: batchSettlementAbi,
      functionName,
      args,
    } as never);
  } catch (error) {
    const reverted =
      error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
    if (reverted instanceof ContractFunctionRevertedError)
      return reverted.data?.errorName ?? reverted.shortMessage;
    throw error;
  }
  throw new Error(`${functionName} did not revert`);
}

async function signVoucher(signer: DevnetAccount, channelId: Hex, maxClaimableAmount: bigint): Promise<Hex> {
  return privateKeyToAccount(signer.privateKey).signTypedData({
    domain: BATCH_SETTLEMENT_EIP712_DOMAIN,
    types: { Voucher: CHANNEL_EIP712_TYPES.Voucher },
    primaryType: 'Voucher',
    message: { channelId, maxClaimableAmount },
  });
}

async function signRefund(
  signer: DevnetAccount,
  channelId: Hex,
  nonce: bigint,
  amount: bigint,
): Promise<Hex> {
  return privateKeyToAccount(signer.privateKey).signTypedData({
    domain: BATCH_SETTLEMENT_EIP712_DOMAIN,
    types: { Refund: CHANNEL_EIP712_TYPES.Refund },
    primaryType: 'Refund',
    message: { channelId, nonce, amount },
  });
}

function claimBatchMessage(claims: readonly VoucherClaim[]) {
  return {
    claims: claims.map((c) => ({
      channelId: devnetChannelId(c.voucher.channel as ChannelConfig),
      maxClaimableAmount: c.voucher.maxClaimableAmount,
      totalClaimed: c.totalClaimed,
    })),
  };
}

async function signClaimBatch(signer: DevnetAccount, claims: readonly VoucherClaim[]): Promise<Hex> {
  return privateKeyToAccount(signer.privateKey).signTypedData({
    domain: BATCH_SETTLEMENT_EIP712_DOMAIN,
    types: { ClaimBatch: CHANNEL_EIP712_TYPES.ClaimBatch, ClaimEntry: CHANNEL_EIP712_TYPES.ClaimEntry },
    primaryType: 'ClaimBatch',
    message: claimBatchMessage(claims),
  });
}

async function voucherClaim(
  signer: DevnetAccount,
  config: ChannelConfig,
  maxClaimableAmount: bigint,
  totalClaimed: bigint,
): Promise<VoucherClaim> {
  return {
    voucher: { channel: config, maxClaimableAmount },
    signature: await signVoucher(signer, devnetChannelId(config), maxClaimableAmount),
    totalClaimed,
  };
}

async function readChannel(channelId: Hex): Promise<{ balance: bigint; totalClaimed: bigint }> {
  const [balance, totalClaimed] = await devnet.publicClient.readContract({
    address: BATCH_SETTLEMENT_ADDRESS,
    abi: batchSettlementAbi,
    functionName: 'channels',
    args: [channelId],
  });
  return { balance, totalClaimed };
}

async function readRefundNonce(channelId: Hex): Promise<bigint> {
  return devnet.publicClient.readContract({
    address: BATCH_SETTLEMENT_ADDRESS,
    abi: batchSettlementAbi,
    functionName: 'refundNonce',
    args: [channelId],
  });
}

async function readReceiver(): Promise<{ totalClaimed: bigint; totalSettled: bigint }> {
  const [totalClaimed, totalSettled] = await devnet.publicClient.readContract({
    address: BATCH_SETTLEMENT_ADDRESS,
    abi: batchSettlementAbi,
    functionName: 'receivers',
    args: [receiver.address, USDC_ADDRESS],
  });
  return { totalClaimed, totalSettled };
}

interface OpenChannel {
  payer: DevnetAccount;
  config: ChannelConfig;
  channelId: Hex;
  depositReceipt: TransactionReceipt;
}

/** A fresh payer with `amount` USDC, all of it deposited into a new channel through the collector. */
async function openChannel(amount: bigint, withdrawDelay?: number): Promise<OpenChannel> {
  const [payer] = await devnet.fundPayers(1, amount, 10n ** 17n);
  if (!payer) throw new Error('no payer');
  const { config, channelId, hash } = await openDevnetChannel(devnet, {
    payer,
    receiver: receiver.address,
    receiverAuthorizer: authorizer.address,
    amount,
    withdrawDelay,
  });
  return { payer, config, channelId, depositReceipt: await mined(hash) };
}

async function increaseTime(seconds: number): Promise<void> {
  await devnet.publicClient.request({ method: 'evm_increaseTime' as never, params: [seconds] as never });
  await devnet.publicClient.request({ method: 'evm_mine' as never, params: [] as never });
}

describe('the devnet contracts', () => {
  it('sit at the addresses @x402/evm uses', async () => {
    expect(BATCH_SETTLEMENT_ADDRESS).toBe(X402_BATCH_SETTLEMENT_ADDRESS);
    expect(ERC3009_DEPOSIT_COLLECTOR_ADDRESS).toBe(X402_ERC3009_DEPOSIT_COLLECTOR_ADDRESS);
    for (const address of [BATCH_SETTLEMENT_ADDRESS, ERC3009_DEPOSIT_COLLECTOR_ADDRESS]) {
      const code = await devnet.publicClient.getCode({ address });
      expect(code?.length ?? 0).toBeGreaterThan(2);
    }
  });

  it('derive the channel id exactly as @x402/evm computes it', async () => {
    const config = buildChannelConfig({
      payer: receiver.address,
      receiver: receiver.address,
      receiverAuthorizer: authorizer.address,
      withdrawDelay: 3_600,
      salt: `0x${'ab'.repeat(32)}`,
    });
    const onchain = await devnet.publicClient.readContract({
      address: BATCH_SETTLEMENT_ADDRESS,
      abi: batchSettlementAbi,
      functionName: 'getChannelId',
      args: [config],
    });
    expect(onchain).toBe(computeChannelId(config, 'eip155:84532'));
    expect(devnetChannelId(config)).toBe(onchain);
  });

  it('use the EIP-712 domain and types @x402/evm exports', () => {
    expect({
      name: BATCH_SETTLEMENT_EIP712_DOMAIN.name,
      version: BATCH_SETTLEMENT_EIP712_DOMAIN.version,
    }).toStrictEqual(X402_BATCH_SETTLEMENT_DOMAIN);
    expect(CHANNEL_EIP712_TYPES.Voucher).toStrictEqual(x402VoucherTypes.Voucher);
    expect(CHANNEL_EIP712_TYPES.Refund).toStrictEqual(x402RefundTypes.Refund);
    expect(CHANNEL_EIP712_TYPES.ClaimBatch).toStrictEqual(x402ClaimBatchTypes.ClaimBatch);
    expect(CHANNEL_EIP712_TYPES.ClaimEntry).toStrictEqual(x402ClaimBatchTypes.ClaimEntry);
  });

  it('compute the voucher, refund and claim-batch digests viem signs', async () => {
    const { payer, config, channelId } = await openChannel(10_000n);
    const read = (functionName: string, args: readonly unknown[]) =>
      devnet.publicClient.readContract({
        address: BATCH_SETTLEMENT_ADDRESS,
        abi: batchSettlementAbi,
        functionName,
        args,
      } as never) as Promise<Hex>;
    expect(await read('getVoucherDigest', [channelId, 1_234n])).toBe(
      hashTypedData({
        domain: BATCH_SETTLEMENT_EIP712_DOMAIN,
        types: x402VoucherTypes,
        primaryType: 'Voucher',
        message: { channelId, maxClaimableAmount: 1_234n },
      }),
    );
    expect(await read('getRefundDigest', [channelId, 7n, 99n])).toBe(
      hashTypedData({
        domain: BATCH_SETTLEMENT_EIP712_DOMAIN,
        types: x402RefundTypes,
        primaryType: 'Refund',
        message: { channelId, nonce: 7n, amount: 99n },
      }),
    );
    const claims = [
      await voucherClaim(payer, config, 500n, 400n),
      await voucherClaim(payer, config, 900n, 900n),
    ];
    expect(await read('getClaimBatchDigest', [claims])).toBe(
      hashTypedData({
        domain: BATCH_SETTLEMENT_EIP712_DOMAIN,
        types: x402ClaimBatchTypes,
        primaryType: 'ClaimBatch',
        message: claimBatchMessage(claims),
      }),
    );
  });
});

describe('deposit', () => {
  it('through the ERC-3009 collector credits the channel and emits ChannelCreated once', async () => {
    const { payer, config, channelId, depositReceipt } = await openChannel(1_000_000n);
    gas.depositErc3009First = depositReceipt.gasUsed;
    expect(await readChannel(channelId)).toStrictEqual({ balance: 1_000_000n, totalClaimed: 0n });
    expect(await devnet.usdcBalance(payer.address)).toBe(0n);
    const created = parseEventLogs({
      abi: batchSettlementAbi,
      eventName: 'ChannelCreated',
      logs: depositReceipt.logs,
    });
    expect(created.map((log) => log.args.channelId)).toStrictEqual([channelId]);

    // A top-up, relayed by someone else (the facilitator's role): no second ChannelCreated.
    await devnet.mintUsdc(payer.address, 300_000n);
    const collectorData = await signErc3009Deposit({ payer, channelId, amount: 300_000n });
    const topUp = await send(relayer, 'deposit', [
      config,
      300_000n,
      ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
      collectorData,
    ]);
    gas.depositErc3009TopUp = topUp.gasUsed;
    expect(
      parseEventLogs({ abi: batchSettlementAbi, eventName: 'ChannelCreated', logs: topUp.logs }),
    ).toHaveLength(0);
    expect(await readChannel(channelId)).toStrictEqual({ balance: 1_300_000n, totalClaimed: 0n });
  });

  it('directly from the payer (ERC-20 allowance, collector 0) credits the channel', async () => {
    const [payer] = await devnet.fundPayers(1, 200_000n, 10n ** 17n);
    if (!payer) throw new Error('no payer');
    const config = buildChannelConfig({
      payer: payer.address,
      receiver: receiver.address,
      receiverAuthorizer: authorizer.address,
    });
    await mined(
      await walletOf(payer).writeContract({
        address: USDC_ADDRESS,
        abi: usdcAbi,
        functionName: 'approve',
        args: [BATCH_SETTLEMENT_ADDRESS, 200_000n],
      }),
    );
    expect(
      await revertOf(relayer, 'deposit', [
        config,
        200_000n,
        '0x0000000000000000000000000000000000000000',
        '0x',
      ]),
    ).toBe('NotPayer');
    const receipt = await send(payer, 'deposit', [
      config,
      200_000n,
      '0x0000000000000000000000000000000000000000',
      '0x',
    ]);
    gas.depositDirect = receipt.gasUsed;
    expect(await readChannel(devnetChannelId(config))).toStrictEqual({ balance: 200_000n, totalClaimed: 0n });
    expect(await devnet.usdcBalance(payer.address)).toBe(0n);
  });

  it('rejects an ERC-3009 deposit signed for another channel, a bad withdraw delay, and a direct collector call', async () => {
    const [payer] = await devnet.fundPayers(1, 100_000n, 10n ** 17n);
    if (!payer) throw new Error('no payer');
    const config = buildChannelConfig({
      payer: payer.address,
      receiver: receiver.address,
      receiverAuthorizer: authorizer.address,
    });
    const other = { ...config, salt: `0x${'01'.repeat(32)}` as Hex };
    const signedForOther = await signErc3009Deposit({
      payer,
      channelId: devnetChannelId(other),
      amount: 100_000n,
    });
    // USDC rejects the authorization: the nonce binds the channel id, so the signature does not match.
    await expect(
      devnet.publicClient.simulateContract({
        account: privateKeyToAccount(relayer.privateKey),
        address: BATCH_SETTLEMENT_ADDRESS,
        abi: batchSettlementAbi,
        functionName: 'deposit',
        args: [config, 100_000n, ERC3009_DEPOSIT_COLLECTOR_ADDRESS, signedForOther],
      }),
    ).rejects.toThrow(/USDC: invalid signature/);
    const shortDelay = { ...config, withdrawDelay: 899 };
    const data = await signErc3009Deposit({
      payer,
      channelId: devnetChannelId(shortDelay),
      amount: 100_000n,
    });
    expect(
      await revertOf(relayer, 'deposit', [shortDelay, 100_000n, ERC3009_DEPOSIT_COLLECTOR_ADDRESS, data]),
    ).toBe('WithdrawDelayOutOfRange');
    const good = await signErc3009Deposit({ payer, channelId: devnetChannelId(config), amount: 100_000n });
    await expect(
      devnet.publicClient.simulateContract({
        account: privateKeyToAccount(relayer.privateKey),
        address: ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
        abi: erc3009DepositCollectorAbi,
        functionName: 'collect',
        args: [payer.address, USDC_ADDRESS, 100_000n, devnetChannelId(config), good],
      }),
    ).rejects.toThrow(/OnlyBatchSettlement/);
    expect(await devnet.usdcBalance(payer.address)).toBe(100_000n);
  });
});

describe('deposit limits', () => {
  it('refuses a channel balance beyond 96 bits (the packed storage) and leaves the payer whole', async () => {
    const [payer] = await devnet.fundPayers(1, 0n, 10n ** 17n);
    if (!payer) throw new Error('no payer');
    const huge = 2n ** 96n;
    await devnet.mintUsdc(payer.address, huge);
    await mined(
      await walletOf(payer).writeContract({
        address: USDC_ADDRESS,
        abi: usdcAbi,
        functionName: 'approve',
        args: [BATCH_SETTLEMENT_ADDRESS, huge],
      }),
    );
    const config = buildChannelConfig({
      payer: payer.address,
      receiver: receiver.address,
      receiverAuthorizer: authorizer.address,
    });
    const zero = '0x0000000000000000000000000000000000000000';
    expect(await revertOf(payer, 'deposit', [config, huge, zero, '0x'])).toBe('AmountTooLarge');
    await send(payer, 'deposit', [config, huge - 1n, zero, '0x']);
    expect(await revertOf(payer, 'deposit', [config, 1n, zero, '0x'])).toBe('AmountTooLarge');
    expect(await devnet.usdcBalance(payer.address)).toBe(1n);
  });
});

describe('claim and settle', () => {
  it('claims vouchers on several channels in one transaction and settles the sum to the receiver', async () => {
    const channels = [await openChannel(100_000n), await openChannel(100_000n), await openChannel(100_000n)];
    const [a, b, c] = channels;
    if (!a || !b || !c) throw new Error('channels missing');
    const before = await readReceiver();

    // Several cumulative vouchers per channel; only the latest one is claimed.
    const voucherA1 = await voucherClaim(a.payer, a.config, 10_000n, 10_000n);
    expect(voucherA1.signature).toMatch(/^0x[0-9a-f]{130}$/);
    const single = await send(receiver, 'claim', [[voucherA1]]);
    gas.claimDirect1 = single.gasUsed;

    const claims = [
      await voucherClaim(a.payer, a.config, 30_000n, 25_000n), // charged below the ceiling
      await voucherClaim(b.payer, b.config, 40_000n, 40_000n),
      await voucherClaim(c.payer, c.config, 5_000n, 5_000n),
    ];
    const batch = await send(relayer, 'claimWithSignature', [
      claims,
      await signClaimBatch(authorizer, claims),
    ]);
    gas.claimWithSignature3 = batch.gasUsed;
    const claimed = parseEventLogs({ abi: batchSettlementAbi, eventName: 'Claimed', logs: batch.logs });
    expect(claimed.map((log) => [log.args.channelId, log.args.amount, log.args.totalClaimed])).toStrictEqual([
      [a.channelId, 15_000n, 25_000n],
      [b.channelId, 40_000n, 40_000n],
      [c.channelId, 5_000n, 5_000n],
    ]);
    expect(await readChannel(a.channelId)).toStrictEqual({ balance: 100_000n, totalClaimed: 25_000n });
    expect(await readChannel(b.channelId)).toStrictEqual({ balance: 100_000n, totalClaimed: 40_000n });
    const owed = (await readReceiver()).totalClaimed - before.totalClaimed;
    expect(owed).toBe(70_000n);

    const receiverBefore = await devnet.usdcBalance(receiver.address);
    const settled = await send(relayer, 'settle', [receiver.address, USDC_ADDRESS]);
    gas.settle = settled.gasUsed;
    const [event] = parseEventLogs({ abi: batchSettlementAbi, eventName: 'Settled', logs: settled.logs });
    expect(event?.args).toStrictEqual({
      receiver: receiver.address,
      token: USDC_ADDRESS,
      sender: relayer.address,
      amount: owed + before.totalClaimed - before.totalSettled,
    });
    expect(await devnet.usdcBalance(receiver.address)).toBe(receiverBefore + (event?.args.amount ?? 0n));
    const after = await readReceiver();
    expect(after.totalSettled).toBe(after.totalClaimed);

    // Nothing left: a second settle moves nothing and emits nothing.
    const again = await send(relayer, 'settle', [receiver.address, USDC_ADDRESS]);
    expect(parseEventLogs({ abi: batchSettlementAbi, eventName: 'Settled', logs: again.logs })).toHaveLength(
      0,
    );
    expect(await devnet.usdcBalance(receiver.address)).toBe(receiverBefore + (event?.args.amount ?? 0n));
  });

  it('measures claimWithSignature for 1 and 10 channels', async () => {
    const one = await openChannel(50_000n);
    const single = [await voucherClaim(one.payer, one.config, 1_000n, 1_000n)];
    gas.claimWithSignature1 = (
      await send(relayer, 'claimWithSignature', [single, await signClaimBatch(authorizer, single)])
    ).gasUsed;
    const ten: VoucherClaim[] = [];
    for (let i = 0; i < 10; i++) {
      const ch = await openChannel(50_000n);
      ten.push(await voucherClaim(ch.payer, ch.config, 1_000n, 1_000n));
    }
    gas.claimWithSignature10 = (
      await send(relayer, 'claimWithSignature', [ten, await signClaimBatch(authorizer, ten)])
    ).gasUsed;
    // Batching pays: each further channel costs far less than a claim transaction of its own.
    expect((gas.claimWithSignature10 - gas.claimWithSignature1) / 9n).toBeLessThan(gas.claimWithSignature1);
  });

  it('rejects a stale voucher, an over-ceiling claim, a claim above the balance, wrong signers and outsiders', async () => {
    const { payer, config, channelId } = await openChannel(50_000n);
    await send(receiver, 'claim', [[await voucherClaim(payer, config, 20_000n, 20_000n)]]);
    const [stranger] = await devnet.fundPayers(1, 0n, 10n ** 17n);
    if (!stranger) throw new Error('no stranger');

    expect(await revertOf(receiver, 'claim', [[await voucherClaim(payer, config, 15_000n, 15_000n)]])).toBe(
      'ClaimBelowClaimed',
    );
    expect(await revertOf(receiver, 'claim', [[await voucherClaim(payer, config, 30_000n, 30_001n)]])).toBe(
      'ClaimExceedsVoucher',
    );
    expect(await revertOf(receiver, 'claim', [[await voucherClaim(payer, config, 60_000n, 50_001n)]])).toBe(
      'ClaimExceedsBalance',
    );
    // Voucher signed by someone other than the payer authorizer.
    expect(
      await revertOf(receiver, 'claim', [[await voucherClaim(stranger, config, 30_000n, 30_000n)]]),
    ).toBe('InvalidVoucherSignature');
    // A valid voucher tampered with: the signature no longer matches the ceiling.
    const tampered = {
      ...(await voucherClaim(payer, config, 30_000n, 30_000n)),
      voucher: { channel: config, maxClaimableAmount: 40_000n },
    };
    expect(await revertOf(receiver, 'claim', [[tampered]])).toBe('InvalidVoucherSignature');
    // Claims only by the receiver side; a claim batch only with the receiver authorizer's signature.
    const good = [await voucherClaim(payer, config, 30_000n, 30_000n)];
    expect(await revertOf(stranger, 'claim', [good])).toBe('NotReceiver');
    expect(await revertOf(relayer, 'claimWithSignature', [good, await signClaimBatch(stranger, good)])).toBe(
      'InvalidAuthorizerSignature',
    );
    // The authorizer signed other amounts than the ones submitted.
    const signedFor = [await voucherClaim(payer, config, 30_000n, 25_000n)];
    expect(
      await revertOf(relayer, 'claimWithSignature', [good, await signClaimBatch(authorizer, signedFor)]),
    ).toBe('InvalidAuthorizerSignature');
    expect(await revertOf(relayer, 'claimWithSignature', [[], await signClaimBatch(authorizer, [])])).toBe(
      'EmptyClaims',
    );
    expect(await readChannel(channelId)).toStrictEqual({ balance: 50_000n, totalClaimed: 20_000n });
    // Resubmitting the claimed total is a no-op, not an error (the refund flow relies on it).
    const same = await send(receiver, 'claim', [[await voucherClaim(payer, config, 20_000n, 20_000n)]]);
    expect(parseEventLogs({ abi: batchSettlementAbi, eventName: 'Claimed', logs: same.logs })).toHaveLength(
      0,
    );
  });
});

describe('a channel without a payer authorizer', () => {
  it('checks vouchers against the payer itself', async () => {
    const [payer, stranger] = await devnet.fundPayers(2, 30_000n, 10n ** 17n);
    if (!payer || !stranger) throw new Error('no payer');
    const config = buildChannelConfig({
      payer: payer.address,
      payerAuthorizer: '0x0000000000000000000000000000000000000000',
      receiver: receiver.address,
      receiverAuthorizer: authorizer.address,
    });
    const channelId = devnetChannelId(config);
    const data = await signErc3009Deposit({ payer, channelId, amount: 30_000n });
    await send(relayer, 'deposit', [config, 30_000n, ERC3009_DEPOSIT_COLLECTOR_ADDRESS, data]);
    expect(await revertOf(receiver, 'claim', [[await voucherClaim(stranger, config, 9_000n, 9_000n)]])).toBe(
      'InvalidVoucherSignature',
    );
    await send(receiver, 'claim', [[await voucherClaim(payer, config, 9_000n, 9_000n)]]);
    expect(await readChannel(channelId)).toStrictEqual({ balance: 30_000n, totalClaimed: 9_000n });
    // Only the payer may withdraw (no payer authorizer to stand in for it).
    expect(await revertOf(stranger, 'initiateWithdraw', [config, 1_000n])).toBe('NotPayer');
  });
});

describe('cooperative refund', () => {
  it('by the receiver returns unclaimed funds to the payer and advances the nonce', async () => {
    const { payer, config, channelId } = await openChannel(100_000n);
    await send(receiver, 'claim', [[await voucherClaim(payer, config, 30_000n, 30_000n)]]);
    const [stranger] = await devnet.fundPayers(1, 0n, 10n ** 17n);
    if (!stranger) throw new Error('no stranger');
    expect(await revertOf(stranger, 'refund', [config, 10_000n])).toBe('NotReceiver');
    expect(await revertOf(receiver, 'refund', [config, 0n])).toBe('ZeroAmount');

    const partial = await send(receiver, 'refund', [config, 20_000n]);
    gas.refundDirectPartial = partial.gasUsed;
    expect(await devnet.usdcBalance(payer.address)).toBe(20_000n);
    expect(await readChannel(channelId)).toStrictEqual({ balance: 80_000n, totalClaimed: 30_000n });
    expect(await readRefundNonce(channelId)).toBe(1n);

    // More than is left: capped at balance - totalClaimed; the receiver authorizer may call it too.
    const rest = await send(authorizer, 'refund', [config, 1_000_000n]);
    const [refunded] = parseEventLogs({ abi: batchSettlementAbi, eventName: 'Refunded', logs: rest.logs });
    expect(refunded?.args).toStrictEqual({
      channelId,
      sender: authorizer.address,
      amount: 50_000n,
      nonce: 1n,
    });
    expect(await devnet.usdcBalance(payer.address)).toBe(70_000n);
    expect(await readChannel(channelId)).toStrictEqual({ balance: 30_000n, totalClaimed: 30_000n });

    // Nothing left: the nonce still advances, nothing moves, no event.
    const noop = await send(receiver, 'refund', [config, 5_000n]);
    expect(parseEventLogs({ abi: batchSettlementAbi, eventName: 'Refunded', logs: noop.logs })).toHaveLength(
      0,
    );
    expect(await readRefundNonce(channelId)).toBe(3n);
    expect(await devnet.usdcBalance(payer.address)).toBe(70_000n);
  });

  it('by signature: relayed by anyone, only for the current nonce, never twice', async () => {
    const { payer, config, channelId } = await openChannel(100_000n);
    const signature = await signRefund(authorizer, channelId, 0n, 60_000n);
    expect(await revertOf(relayer, 'refundWithSignature', [config, 60_000n, 1n, signature])).toBe(
      'InvalidRefundNonce',
    );
    expect(await revertOf(relayer, 'refundWithSignature', [config, 70_000n, 0n, signature])).toBe(
      'InvalidAuthorizerSignature',
    );
    expect(
      await revertOf(relayer, 'refundWithSignature', [
        config,
        60_000n,
        0n,
        await signRefund(relayer, channelId, 0n, 60_000n),
      ]),
    ).toBe('InvalidAuthorizerSignature');

    const receipt = await send(relayer, 'refundWithSignature', [config, 60_000n, 0n, signature]);
    gas.refundWithSignature = receipt.gasUsed;
    expect(await devnet.usdcBalance(payer.address)).toBe(60_000n);
    expect(await readRefundNonce(channelId)).toBe(1n);
    // Replaying the same signature fails: its nonce is spent.
    expect(await revertOf(relayer, 'refundWithSignature', [config, 60_000n, 0n, signature])).toBe(
      'InvalidRefundNonce',
    );

    // A direct refund invalidates a signature made for the nonce it consumed.
    const preSigned = await signRefund(authorizer, channelId, 1n, 10_000n);
    await send(receiver, 'refund', [config, 5_000n]);
    expect(await revertOf(relayer, 'refundWithSignature', [config, 10_000n, 1n, preSigned])).toBe(
      'InvalidRefundNonce',
    );

    // A full refund closes the channel.
    const full = await send(relayer, 'refundWithSignature', [
      config,
      35_000n,
      2n,
      await signRefund(authorizer, channelId, 2n, 35_000n),
    ]);
    expect(
      parseEventLogs({ abi: batchSettlementAbi, eventName: 'ChannelClosed', logs: full.logs }),
    ).toHaveLength(1);
    expect(await readChannel(channelId)).toStrictEqual({ balance: 0n, totalClaimed: 0n });
    expect(await devnet.usdcBalance(payer.address)).toBe(100_000n);
  });

  it('claim then refund in one multicall, as the official facilitator sends it', async () => {
    const { payer, config, channelId } = await openChannel(100_000n);
    const claims = [await voucherClaim(payer, config, 12_000n, 12_000n)];
    const claimSig = await signClaimBatch(authorizer, claims);
    const refundSig = await signRefund(authorizer, channelId, 0n, 88_000n);
    const { encodeFunctionData } = await import('viem');
    const receipt = await send(relayer, 'multicall', [
      [
        encodeFunctionData({
          abi: batchSettlementAbi,
          functionName: 'claimWithSignature',
          args: [claims, claimSig],
        }),
        encodeFunctionData({
          abi: batchSettlementAbi,
          functionName: 'refundWithSignature',
          args: [config, 88_000n, 0n, refundSig],
        }),
      ],
    ]);
    gas.multicallClaimRefund = receipt.gasUsed;
    expect(await readChannel(channelId)).toStrictEqual({ balance: 12_000n, totalClaimed: 12_000n });
    expect(await devnet.usdcBalance(payer.address)).toBe(88_000n);
  });
});

describe('timed withdrawal', () => {
  it('pays out after the delay, never before, and only what is still unclaimed', async () => {
    const { payer, config, channelId } = await openChannel(100_000n, 900);
    expect(await revertOf(relayer, 'initiateWithdraw', [config, 10_000n])).toBe('NotPayer');
    expect(await revertOf(payer, 'initiateWithdraw', [config, 100_001n])).toBe('WithdrawExceedsAvailable');
    const initiated = await send(payer, 'initiateWithdraw', [config, 80_000n]);
    gas.initiateWithdraw = initiated.gasUsed;
    const [, initiatedAt] = await devnet.publicClient.readContract({
      address: BATCH_SETTLEMENT_ADDRESS,
      abi: batchSettlementAbi,
      functionName: 'pendingWithdrawals',
      args: [channelId],
    });
    expect(initiatedAt).toBeGreaterThan(0);
    expect(await revertOf(payer, 'initiateWithdraw', [config, 1_000n])).toBe('WithdrawalPending');

    // Before the delay: refused. The receiver still claims during the grace period.
    expect(await revertOf(payer, 'finalizeWithdraw', [config])).toBe('WithdrawalTooEarly');
    await send(receiver, 'claim', [[await voucherClaim(payer, config, 45_000n, 45_000n)]]);
    await increaseTime(890);
    expect(await revertOf(payer, 'finalizeWithdraw', [config])).toBe('WithdrawalTooEarly');
    await increaseTime(10);

    const finalized = await send(payer, 'finalizeWithdraw', [config]);
    gas.finalizeWithdraw = finalized.gasUsed;
    // 80,000 asked, but only 55,000 was still unclaimed.
    expect(await devnet.usdcBalance(payer.address)).toBe(55_000n);
    expect(await readChannel(channelId)).toStrictEqual({ balance: 45_000n, totalClaimed: 45_000n });
    expect(await revertOf(payer, 'finalizeWithdraw', [config])).toBe('NoPendingWithdrawal');
  });

  it('shrinks a pending withdrawal by a cooperative refund, and cancels it when covered', async () => {
    const { payer, config, channelId } = await openChannel(100_000n, 900);
    await send(payer, 'initiateWithdraw', [config, 50_000n]);
    await send(receiver, 'refund', [config, 20_000n]);
    const pending = () =>
      devnet.publicClient.readContract({
        address: BATCH_SETTLEMENT_ADDRESS,
        abi: batchSettlementAbi,
        functionName: 'pendingWithdrawals',
        args: [channelId],
      });
    expect((await pending())[0]).toBe(30_000n);
    await send(receiver, 'refund', [config, 30_000n]);
    expect(await pending()).toStrictEqual([0n, 0]);
    expect(await devnet.usdcBalance(payer.address)).toBe(50_000n);
  });
});
