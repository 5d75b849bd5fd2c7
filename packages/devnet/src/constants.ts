import {
  NETWORKS,
  USDC_EIP712_DOMAIN,
  DEVNET_MNEMONIC as X402_DEVNET_MNEMONIC,
  USDC_DECIMALS as X402_USDC_DECIMALS,
} from '@agentic-payments/x402';
import type { Address } from 'viem';

// Network facts come from `@agentic-payments/x402` (the one place they are defined); this module
// only re-exports them under the devnet's names and adds what is devnet-specific.

/** Anvil's well-known test mnemonic. DEVNET ONLY: every key derived from it is public. */
export const DEVNET_MNEMONIC = X402_DEVNET_MNEMONIC;

/** Base Sepolia's chain id: the devnet uses it so payments signed for Base Sepolia are valid on it. */
export const DEVNET_CHAIN_ID = 84532 as const;
if (NETWORKS.devnet.chainId !== DEVNET_CHAIN_ID)
  throw new Error('x402 NETWORKS.devnet chain id is not 84532');

/** CAIP-2 id of the network the devnet stands in for. */
export const DEVNET_NETWORK = NETWORKS.devnet.caip2;

/** Circle's USDC address on Base Sepolia; the devnet places its own EIP-3009 USDC here. */
export const USDC_ADDRESS: Address = NETWORKS.devnet.usdcAddress;

/** Multicall3's canonical address (same on every chain). */
export const MULTICALL3_ADDRESS: Address = '0xcA11bde05977b3631167028862bE2a173976CA11';

/**
 * The x402 `batch-settlement` channel contract (contracts/BatchSettlement.sol), at the address
 * `@x402/evm` uses (its `BATCH_SETTLEMENT_ADDRESS`; a test checks they agree).
 */
export const BATCH_SETTLEMENT_ADDRESS: Address = '0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003';

/**
 * The EIP-3009 deposit collector (contracts/ERC3009DepositCollector.sol), at `@x402/evm`'s
 * `ERC3009_DEPOSIT_COLLECTOR_ADDRESS`.
 */
export const ERC3009_DEPOSIT_COLLECTOR_ADDRESS: Address = '0x4020806089470a89826cB9fB1f4059150b550004';

export const USDC_DECIMALS = X402_USDC_DECIMALS;
/** EIP-712 domain of USDC on Base Sepolia (and of the devnet contract). */
export const USDC_EIP712_NAME = USDC_EIP712_DOMAIN.name;
export const USDC_EIP712_VERSION = USDC_EIP712_DOMAIN.version;

/** Funding on first start, per docs/CONVENTIONS.md. */
export const INITIAL_FUNDING = {
  /** Agent payer: 1 ETH and 10 USDC. */
  agentEth: 10n ** 18n,
  agentUsdc: 10_000_000n,
  /** Deployer and settler keep anvil's default 10,000 ETH; the seller starts with nothing. */
  sellerEth: 0n,
} as const;

/** First HD index handed out by `payer(i)` / `fundPayers(n)`. */
export const FIRST_PAYER_INDEX = 10;
