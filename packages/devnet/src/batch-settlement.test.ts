/**
 * The x402 batch-settlement channel contract (contracts/BatchSettlement.sol) and its ERC-3009
 * deposit collector on a real anvil, at the addresses `@x402/evm` uses; signatures made by viem with
 * the EIP-712 domain and types `@x402/evm` exports. This file starts its own devnet: the timed
 * withdrawal moves the chain's clock.
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
  type ContractFunctionArgs,
  createWalletClient,
  type Hash,
  type Hex,
  http,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevnetAccount } from './accounts.ts';
import { batchSettlementAbi } from './artifacts/batchSettlement.ts';
import { devnetChain } from './chain.ts';
import {
  BATCH_SETTLEMENT_EIP712_DOMAIN,
  buildChannelConfig,
  CHANNEL_EIP712_TYPES,
  type ChannelConfig,
  devnetChannelId,
  openDevnetChannel,
} from './channels.ts';
import { BATCH_SETTLEMENT_ADDRESS, ERC3009_DEPOSIT_COLLECTOR_ADDRESS } from './constants.ts';
import { type Devnet, startDevnet } from './start-devnet.ts';

type VoucherClaim = ContractFunctionArgs<typeof batchSettlementAbi, 'nonpayable', 'claim'>[0][number];

let devnet: Devnet;
/** Receiver authorizer: signs claims and refunds. */
let authorizer: DevnetAccount;
let receiver: DevnetAccount;

beforeAll(async () => {
  devnet = await startDevnet({ port: 0, quiet: true });
  const [first, second] = await devnet.fundPayers(2, 0n, 10n ** 18n);
  if (!first || !second) throw new Error('fundPayers returned too few accounts');
  authorizer = first;
  receiver = second;
}, 60_000);

afterAll(async () => {
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
  return devnet.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
}

async function signVoucher(signer: DevnetAccount, channelId: Hex, maxClaimableAmount: bigint): Promise<Hex> {
  return privateKeyToAccount(signer.privateKey).signTypedData({
    domain: BATCH_SETTLEMENT_EIP712_DOMAIN,
    types: { Voucher: CHANNEL_EIP712_TYPES.Voucher },
    primaryType: 'Voucher',
    message: { channelId, maxClaimableAmount },
  });
}

async function voucherClaim(
  payer: DevnetAccount,
  config: ChannelConfig,
  maxClaimableAmount: bigint,
  totalClaimed: bigint,
): Promise<VoucherClaim> {
  return {
    voucher: { channel: config, maxClaimableAmount },
    signature: await signVoucher(payer, devnetChannelId(config), maxClaimableAmount),
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

async function openChannel(
  amount: bigint,
): Promise<{ payer: DevnetAccount; config: ChannelConfig; channelId: Hex }> {
  const [payer] = await devnet.fundPayers(1, amount, 10n ** 17n);
  if (!payer) throw new Error('no payer');
  const { config, channelId } = await openDevnetChannel(devnet, {
    payer,
    receiver: receiver.address,
    receiverAuthorizer: authorizer.address,
    amount,
  });
  return { payer, config, channelId };
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
});

describe('a deposit through the ERC-3009 collector, then a claim', () => {
  it('credits the channel and lets the receiver claim a voucher', async () => {
    const { payer, config, channelId } = await openChannel(1_000_000n);
    expect(await readChannel(channelId)).toStrictEqual({ balance: 1_000_000n, totalClaimed: 0n });
    expect(await devnet.usdcBalance(payer.address)).toBe(0n);
    expect(await devnet.usdcBalance(BATCH_SETTLEMENT_ADDRESS)).toBeGreaterThanOrEqual(1_000_000n);

    const claim = await voucherClaim(payer, config, 40_000n, 40_000n);
    const receipt = await mined(
      await walletOf(receiver).writeContract({
        address: BATCH_SETTLEMENT_ADDRESS,
        abi: batchSettlementAbi,
        functionName: 'claim',
        args: [[claim]],
      }),
    );
    expect(receipt.status).toBe('success');
    expect(await readChannel(channelId)).toStrictEqual({ balance: 1_000_000n, totalClaimed: 40_000n });
    const claimed = parseEventLogs({ abi: batchSettlementAbi, eventName: 'Claimed', logs: receipt.logs });
    expect(claimed.map((log) => log.args)).toStrictEqual([
      { channelId, sender: receiver.address, amount: 40_000n, totalClaimed: 40_000n },
    ]);
  });
});
