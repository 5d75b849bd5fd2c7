import type { Address } from 'viem';

// TODO(x402): switch to the `@agentic-payments/x402` exports (DEVNET_MNEMONIC, NETWORKS, USDC
// constants) once that package lands; until then this file is the single place they live here.

/** Anvil's well-known test mnemonic. DEVNET ONLY: every key derived from it is public. */
export const DEVNET_MNEMONIC = 'test test test test test test test test test test test junk';

/** Base Sepolia's chain id: the devnet uses it so payments signed for Base Sepolia are valid on it. */
export const DEVNET_CHAIN_ID = 84532;

/** CAIP-2 id of the network the devnet stands in for. */
export const DEVNET_NETWORK = 'eip155:84532';

/** Circle's USDC address on Base Sepolia; the devnet places its own EIP-3009 USDC here. */
export const USDC_ADDRESS: Address = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';

/** Multicall3's canonical address (same on every chain). */
export const MULTICALL3_ADDRESS: Address = '0xcA11bde05977b3631167028862bE2a173976CA11';

export const USDC_DECIMALS = 6;
/** EIP-712 domain of USDC on Base Sepolia (and of the devnet contract). */
export const USDC_EIP712_NAME = 'USDC';
export const USDC_EIP712_VERSION = '2';

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
