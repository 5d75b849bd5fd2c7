/**
 * Helpers for x402 `batch-settlement` channels on the devnet (contracts/BatchSettlement.sol and
 * contracts/ERC3009DepositCollector.sol): the EIP-712 domain and types `@x402/evm` signs with, the
 * channel id, and `openDevnetChannel` for a funded channel in a test. DEVNET ONLY.
 */
import {
  type Address,
  createWalletClient,
  encodeAbiParameters,
  type Hash,
  type Hex,
  hashTypedData,
  http,
  keccak256,
  toHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { DevnetAccount } from './accounts.ts';
import { batchSettlementAbi } from './artifacts/batchSettlement.ts';
import { devnetChain } from './chain.ts';
import {
  BATCH_SETTLEMENT_ADDRESS,
  DEVNET_CHAIN_ID,
  ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
  USDC_ADDRESS,
  USDC_EIP712_NAME,
  USDC_EIP712_VERSION,
} from './constants.ts';
import type { DevnetClient } from './devnet-client.ts';
import { DevnetError } from './errors.ts';

/** A channel's immutable configuration (the contract's `ChannelConfig`); its EIP-712 hash is the id. */
export interface ChannelConfig {
  payer: Address;
  /** EOA that signs vouchers; the zero address means vouchers are checked against `payer`. */
  payerAuthorizer: Address;
  receiver: Address;
  /** Signs claims and refunds (EIP-712); never zero. */
  receiverAuthorizer: Address;
  token: Address;
  /** Seconds from `initiateWithdraw` to `finalizeWithdraw`: 900 (15 min) to 2,592,000 (30 days). */
  withdrawDelay: number;
  salt: Hex;
}

/** EIP-712 domain of the channel contract on the devnet (the same as `@x402/evm`'s for chain 84532). */
export const BATCH_SETTLEMENT_EIP712_DOMAIN = {
  name: 'x402 Batch Settlement',
  version: '1',
  chainId: DEVNET_CHAIN_ID,
  verifyingContract: BATCH_SETTLEMENT_ADDRESS,
} as const;

/** EIP-712 types the channel contract verifies (identical to `@x402/evm`'s exports). */
export const CHANNEL_EIP712_TYPES = {
  ChannelConfig: [
    { name: 'payer', type: 'address' },
    { name: 'payerAuthorizer', type: 'address' },
    { name: 'receiver', type: 'address' },
    { name: 'receiverAuthorizer', type: 'address' },
    { name: 'token', type: 'address' },
    { name: 'withdrawDelay', type: 'uint40' },
    { name: 'salt', type: 'bytes32' },
  ],
  Voucher: [
    { name: 'channelId', type: 'bytes32' },
    { name: 'maxClaimableAmount', type: 'uint128' },
  ],
  Refund: [
    { name: 'channelId', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'amount', type: 'uint128' },
  ],
  ClaimBatch: [{ name: 'claims', type: 'ClaimEntry[]' }],
  ClaimEntry: [
    { name: 'channelId', type: 'bytes32' },
    { name: 'maxClaimableAmount', type: 'uint128' },
    { name: 'totalClaimed', type: 'uint128' },
  ],
} as const;

const RECEIVE_WITH_AUTHORIZATION_TYPES = {
  ReceiveWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

const ZERO_SALT: Hex = `0x${'00'.repeat(32)}`;

/** The channel id: EIP-712 typed-data hash of the config under the channel contract's domain. */
export function devnetChannelId(config: ChannelConfig): Hex {
  return hashTypedData({
    domain: BATCH_SETTLEMENT_EIP712_DOMAIN,
    types: { ChannelConfig: CHANNEL_EIP712_TYPES.ChannelConfig },
    primaryType: 'ChannelConfig',
    message: config,
  });
}

export interface BuildChannelConfigParameters {
  payer: Address;
  receiver: Address;
  receiverAuthorizer: Address;
  /** Default: the payer (vouchers signed by the payer's key, checked by ECDSA). */
  payerAuthorizer?: Address;
  /** Default: the devnet USDC. */
  token?: Address;
  /** Default: 900 s, the spec's minimum. */
  withdrawDelay?: number;
  /** Default: zero (the official client's default salt). */
  salt?: Hex;
}

export function buildChannelConfig(parameters: BuildChannelConfigParameters): ChannelConfig {
  return {
    payer: parameters.payer,
    payerAuthorizer: parameters.payerAuthorizer ?? parameters.payer,
    receiver: parameters.receiver,
    receiverAuthorizer: parameters.receiverAuthorizer,
    token: parameters.token ?? USDC_ADDRESS,
    withdrawDelay: parameters.withdrawDelay ?? 900,
    salt: parameters.salt ?? ZERO_SALT,
  };
}

/**
 * `collectorData` for a deposit through the ERC-3009 collector: the payer signs USDC's
 * `ReceiveWithAuthorization` to the collector with nonce `keccak256(abi.encode(channelId, salt))`.
 */
export async function signErc3009Deposit(parameters: {
  payer: DevnetAccount;
  channelId: Hex;
  amount: bigint;
  /** Default: one hour from now. */
  validBefore?: bigint;
  validAfter?: bigint;
  /** Default: random. */
  salt?: bigint;
}): Promise<Hex> {
  const salt = parameters.salt ?? BigInt(keccak256(toHex(`${Date.now()}-${Math.random()}`)));
  const validAfter = parameters.validAfter ?? 0n;
  const validBefore = parameters.validBefore ?? BigInt(Math.floor(Date.now() / 1000) + 3600);
  const nonce = keccak256(
    encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], [parameters.channelId, salt]),
  );
  const account = privateKeyToAccount(parameters.payer.privateKey);
  const signature = await account.signTypedData({
    domain: {
      name: USDC_EIP712_NAME,
      version: USDC_EIP712_VERSION,
      chainId: DEVNET_CHAIN_ID,
      verifyingContract: USDC_ADDRESS,
    },
    types: RECEIVE_WITH_AUTHORIZATION_TYPES,
    primaryType: 'ReceiveWithAuthorization',
    message: {
      from: account.address,
      to: ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
      value: parameters.amount,
      validAfter,
      validBefore,
      nonce,
    },
  });
  return encodeAbiParameters(
    [{ type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }, { type: 'bytes' }],
    [validAfter, validBefore, salt, signature],
  );
}

export interface OpenDevnetChannelParameters {
  /** Pays the deposit (needs the USDC; gets a little ETH for gas if it has none). */
  payer: DevnetAccount;
  /** Default: the seller account. */
  receiver?: Address;
  receiverAuthorizer: Address;
  amount: bigint;
  withdrawDelay?: number;
  salt?: Hex;
}

export interface OpenDevnetChannelResult {
  config: ChannelConfig;
  channelId: Hex;
  /** The deposit transaction. */
  hash: Hash;
}

/**
 * Opens (or tops up) a channel: the payer signs an ERC-3009 deposit and sends `deposit` itself
 * through the ERC-3009 collector, as the official facilitator would. Its own key means no nonce
 * clash with other test files.
 *
 * @example
 * const [payer] = await devnet.fundPayers(1, 1_000_000n);
 * const { config, channelId } = await openDevnetChannel(devnet, {
 *   payer, receiverAuthorizer: authorizer.address, amount: 500_000n,
 * });
 */
export async function openDevnetChannel(
  devnet: DevnetClient,
  parameters: OpenDevnetChannelParameters,
): Promise<OpenDevnetChannelResult> {
  const { payer, amount } = parameters;
  const config = buildChannelConfig({
    payer: payer.address,
    receiver: parameters.receiver ?? devnet.accounts.seller.address,
    receiverAuthorizer: parameters.receiverAuthorizer,
    withdrawDelay: parameters.withdrawDelay,
    salt: parameters.salt,
  });
  const channelId = devnetChannelId(config);
  const collectorData = await signErc3009Deposit({ payer, channelId, amount });
  if ((await devnet.ethBalance(payer.address)) < 10n ** 16n) await devnet.addEth(payer.address, 10n ** 17n);
  const wallet = createWalletClient({
    account: privateKeyToAccount(payer.privateKey),
    chain: devnetChain(devnet.rpcUrl),
    transport: http(devnet.rpcUrl),
  });
  const hash = await wallet.writeContract({
    address: BATCH_SETTLEMENT_ADDRESS,
    abi: batchSettlementAbi,
    functionName: 'deposit',
    args: [config, amount, ERC3009_DEPOSIT_COLLECTOR_ADDRESS, collectorData],
  });
  const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  if (receipt.status !== 'success') {
    throw new DevnetError('devnet_setup_failed', `devnet: channel deposit reverted (${hash})`);
  }
  return { config, channelId, hash };
}
